"""The ``adding`` task: remember two marked numbers over up to T steps and report their sum.

See :mod:`seqframe_adding.data` for the exact variant. Readout ``last``, loss ``mse``, metric
``mse`` (lower is better). The baseline ``predict_mean`` always answers E[sum] = 1 and scores
about 1/6; success is usually taken as ``mse <= 0.01``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqframe.errors import ConfigError
from seqframe.task import Batch, ModelSpec, Predictor, RowBatches, Split, Task, TaskOption

from .data import AddingData, generate, split_rng

#: Rows per predictor call during evaluation: bounds memory for long sequences.
EVAL_CHUNK = 500
#: E[U1 + U2] for U1, U2 ~ U(0, 1): the best constant prediction.
EXPECTED_SUM = 1.0


class _Batches(RowBatches):
    """Mini-batches over one epoch's rows, sliced on demand (indexable and sized)."""

    def __init__(self, data: AddingData, order: np.ndarray, batch_size: int):
        super().__init__(order, batch_size)
        self.data = data

    def make(self, rows: np.ndarray, index: int) -> Batch:
        inputs = self.data.inputs[rows]  # (B, T, 2)
        b, t = inputs.shape[:2]
        return Batch(
            inputs=inputs,
            targets=self.data.targets[rows],  # (B, 1)
            mask=np.ones((b, t), dtype=bool),
            reset=np.ones(b, dtype=bool),
        )


def mse(predictions: np.ndarray, targets: np.ndarray) -> float:
    """Mean squared error over rows (and output columns)."""
    return float(np.mean((np.asarray(predictions, float) - np.asarray(targets, float)) ** 2))


class AddingTask(Task):
    """The adding problem (Arjovsky et al. 2016 variant) as a seqframe task."""

    name = "adding"
    description = "the adding problem: sum two marked numbers seen up to T steps earlier"
    options = (
        TaskOption("length", int, 50, "T, steps per sequence (the longest gap is T - 1)"),
        TaskOption("train_size", int, 10000, "training sequences per epoch"),
        TaskOption("val_size", int, 1000, "validation sequences (fixed draw)"),
        TaskOption("test_size", int, 1000, "test sequences (fixed draw, the same for every run)"),
        TaskOption(
            "fresh",
            bool,
            True,
            "draw new training sequences every epoch (seeded by run seed and epoch); "
            "false: one fixed training set, reshuffled each epoch",
        ),
    )
    # What docs/benchmarks/adding.toml measured: solves T = 100 with an LSTM in ~1500 steps.
    run_defaults = {"hidden": 64, "batch_size": 50, "lr": 5e-3, "clip_norm": 1.0, "epochs": 15}
    metric = "mse"
    metric_mode = "min"

    def __init__(self, options: dict[str, Any] | None = None, data: str | None = None):
        super().__init__(options, data)
        if data is not None:
            raise ConfigError(
                f"task 'adding' generates its own data and takes no --data (got {data!r}). "
                "Drop --data; use -o length=N / -o train_size=N to shape the problem."
            )
        if self.opts["length"] < 2:
            raise ConfigError(
                f"task 'adding' option 'length' must be >= 2 (one marker per half), "
                f"got {self.opts['length']}."
            )
        for key in ("train_size", "val_size", "test_size"):
            if self.opts[key] < 1:
                raise ConfigError(
                    f"task 'adding' option {key!r} must be >= 1, got {self.opts[key]}."
                )
        self._splits: dict[str, AddingData] = {}
        self._fixed_train: AddingData | None = None

    @property
    def length(self) -> int:
        return self.opts["length"]

    def prepare(self, state: dict[str, Any] | None = None) -> ModelSpec:
        """Draw the fixed val/test sets; nothing is fitted, so ``state`` is not needed."""
        for split in ("val", "test"):
            self._splits[split] = generate(
                self.opts[f"{split}_size"], self.length, split_rng(split, self.length)
            )
        return ModelSpec(input_size=2, output_size=1, readout="last", loss="mse")

    def state_dict(self) -> dict[str, Any]:
        return {"length": self.length}

    def train_data(self, epoch: int, seed: int) -> AddingData:
        """The training sequences of one epoch (a fresh draw, or the fixed set)."""
        n = self.opts["train_size"]
        if self.opts["fresh"]:
            return generate(n, self.length, split_rng("train", self.length, seed, epoch))
        if self._fixed_train is None:
            self._fixed_train = generate(n, self.length, split_rng("train", self.length))
        return self._fixed_train

    def train_batches(self, epoch: int, batch_size: int, seed: int) -> Sequence[Batch]:
        data = self.train_data(epoch, seed)
        order = np.random.default_rng([seed, epoch]).permutation(len(data))
        return _Batches(data, order, batch_size)

    def split_data(self, split: Split) -> AddingData:
        """The fixed ``val`` or ``test`` sequences (drawn by :meth:`prepare`)."""
        if split not in self._splits:
            self.prepare()
        return self._splits[split]

    def predictions(self, predictor: Predictor, split: Split) -> np.ndarray:
        """The model's answers on ``split``, (n, 1)."""
        data = self.split_data(split)
        chunks = []
        for start in range(0, len(data), EVAL_CHUNK):
            outputs, _ = predictor.predict(data.inputs[start : start + EVAL_CHUNK])
            chunks.append(np.asarray(outputs, dtype=float).reshape(-1, 1))  # (chunk, 1)
        return np.concatenate(chunks)

    def evaluate(self, predictor: Predictor, split: Split) -> dict[str, float]:
        return {"mse": mse(self.predictions(predictor, split), self.split_data(split).targets)}

    def baselines(self, split: Split) -> dict[str, dict[str, float]]:
        targets = self.split_data(split).targets
        return {"predict_mean": {"mse": mse(np.full_like(targets, EXPECTED_SUM), targets)}}

    def write_artefacts(self, predictor: Predictor, run_dir: Path) -> list[Path]:
        """``adding_predictions.png``: predicted against true sums on the test set."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        targets = self.split_data("test").targets[:, 0]
        preds = self.predictions(predictor, "test")[:, 0]
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.scatter(targets, preds, s=4, alpha=0.5)
        ax.plot([0, 2], [0, 2], color="black", linewidth=0.8)
        ax.set(
            xlabel="true sum",
            ylabel="predicted sum",
            title=f"adding, T={self.length}: test mse {mse(preds, targets):.4f}",
        )
        path = Path(run_dir) / "adding_predictions.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return [path]
