"""The ``sine`` task: forecast the next value of a noisy sine wave, one step ahead.

Each sequence is ``y_t = sin(2 pi t / period + phase) + noise * e_t`` for t = 0..T, with a
random phase per sequence and e_t ~ N(0, 1). The model reads y_0..y_{T-1} and, at every step,
predicts the next value y_{t+1}. The noise cannot be predicted, so the best possible mean squared
error is ``noise ** 2``; the baselines show how far simple rules are from it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from seqframe.task import Batch, ModelSpec, Task, TaskOption

# --8<-- [start:data]
SPLIT_SEEDS = {"train": 0, "val": 1, "test": 2}  # fixed data: every run sees the same waves


def noisy_sines(n: int, length: int, period: float, noise: float,
                rng: np.random.Generator) -> np.ndarray:
    """``n`` noisy sine waves of ``length + 1`` steps, (n, T + 1)."""
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))  # (n, 1)
    steps = np.arange(length + 1)  # (T + 1,)
    clean = np.sin(2 * np.pi * steps / period + phase)  # (n, T + 1)
    return clean + noise * rng.normal(size=clean.shape)
# --8<-- [end:data]


def mse(predictions: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """``mse`` and ``rmse`` over every step and sequence."""
    value = float(np.mean((predictions - targets) ** 2))
    return {"mse": value, "rmse": value ** 0.5}


# --8<-- [start:class]
class SineTask(Task):
    """One-step-ahead forecasting of noisy sine waves (see the module docstring)."""

    name = "sine"
    description = "forecast the next value of a noisy sine wave"
    options = (
        TaskOption("length", int, 50, "steps per sequence, T"),
        TaskOption("period", float, 20.0, "steps per full wave"),
        TaskOption("noise", float, 0.1, "standard deviation of the added noise"),
        TaskOption("train_size", int, 512, "training sequences"),
        TaskOption("eval_size", int, 128, "validation and test sequences, each"),
    )
    run_defaults = {"hidden": 16, "epochs": 20, "batch_size": 32, "lr": 5e-3}
    metric = "mse"
    metric_mode = "min"
# --8<-- [end:class]

    # --8<-- [start:prepare]
    def prepare(self, state=None) -> ModelSpec:
        o = self.opts
        sizes = {"train": o["train_size"], "val": o["eval_size"], "test": o["eval_size"]}
        self.waves = {
            split: noisy_sines(n, o["length"], o["period"], o["noise"],
                               np.random.default_rng(SPLIT_SEEDS[split]))
            for split, n in sizes.items()
        }
        return ModelSpec(input_size=1, output_size=1, readout="every_step", loss="mse")

    def state_dict(self) -> dict:
        return {}  # nothing is fitted on the training data: no vocabulary, no scaler
    # --8<-- [end:prepare]

    # --8<-- [start:batches]
    def split_arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Inputs y_0..y_{T-1} and targets y_1..y_T of a split, each (N, T, 1)."""
        waves = self.waves[split]
        return waves[:, :-1, None], waves[:, 1:, None]

    def train_batches(self, epoch: int, batch_size: int, seed: int) -> list[Batch]:
        inputs, targets = self.split_arrays("train")
        order = np.random.default_rng([seed, epoch]).permutation(len(inputs))
        batches = []
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            b, t = len(rows), inputs.shape[1]
            batches.append(Batch(inputs=inputs[rows], targets=targets[rows],
                                 mask=np.ones((b, t), dtype=bool),  # every step is real
                                 reset=np.ones(b, dtype=bool)))  # every row is a new wave
        return batches
    # --8<-- [end:batches]

    # --8<-- [start:evaluate]
    def evaluate(self, predictor, split: str) -> dict[str, float]:
        inputs, targets = self.split_arrays(split)
        outputs, _ = predictor.predict(inputs)  # (N, T, 1)
        return mse(outputs, targets)

    def baselines(self, split: str) -> dict[str, dict[str, float]]:
        inputs, targets = self.split_arrays(split)
        return {
            "zero": mse(np.zeros_like(targets), targets),
            "persistence": mse(inputs, targets),  # "the next value equals this one"
            "noise_floor": {"mse": self.opts["noise"] ** 2, "rmse": self.opts["noise"]},
        }
    # --8<-- [end:evaluate]

    # --8<-- [start:artefacts]
    def write_artefacts(self, predictor, run_dir: Path) -> list[Path]:
        """``sine_forecast.png``: the first test wave and the model's one-step forecasts."""
        import matplotlib

        matplotlib.use("Agg")  # files only, no window
        import matplotlib.pyplot as plt

        inputs, targets = self.split_arrays("test")
        outputs, _ = predictor.predict(inputs[:1])  # (1, T, 1)
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.plot(targets[0, :, 0], ".", label="next value (noisy)")
        ax.plot(outputs[0, :, 0], label="forecast")
        ax.set(xlabel="step", title="sine: one-step-ahead forecast, first test wave")
        ax.legend()
        path = Path(run_dir) / "sine_forecast.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        return [path]
    # --8<-- [end:artefacts]
