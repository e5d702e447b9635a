"""Gradient flow through time: how much of the loss's gradient reaches the state k steps back.

For a loss E_T taken at the last step T only, BPTT computes dE_T/dh_t for every earlier step t
by multiplying the per-step Jacobians dh_s/dh_{s-1} (see docs/concepts/bptt.md). Their product
shrinks or grows roughly geometrically with the lag k = T - t, and that is the vanishing
(exploding) gradient problem. :func:`gradient_flow` measures it with the very BPTT code training
uses (:func:`seqframe.engine.bptt.hidden_grads`), for fresh weights or for a trained run, and
returns a
:class:`GradFlow` that prints as a table and plots on a log scale
(docs/concepts/vanishing-gradients.md discusses the numbers).

Shape letters: B batch, T time, H hidden, L layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..ops import Ops
from ..task import Batch

DEFAULT_CELLS = ("rnn", "lstm", "gru")


@dataclass
class GradFlow:
    """Mean norm of dE_T/dh_{T-k} against the lag k, one curve per cell (and layer).

    Attributes:
        norms: label (``"lstm"``, or ``"lstm layer 1"`` for stacked models) -> (T,) array whose
            entry k is the mean over the batch rows of the L2 norm over H of dE_T/dh_{T-k}.
        source: where weights and inputs came from, for titles and table headers.
        batch_size: the rows averaged over.
        meta: the settings behind the numbers (length, hidden, seed, backend, dtype, run dir).
    """

    norms: dict[str, np.ndarray]
    source: str
    batch_size: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return len(next(iter(self.norms.values())))

    @property
    def lags(self) -> np.ndarray:
        return np.arange(self.length)

    def step_factor(self, label: str) -> float:
        """The geometric-mean shrink (< 1) or growth (> 1) factor per step over the window."""
        curve = self.norms[label]
        if self.length < 2 or curve[0] <= 0.0 or curve[-1] <= 0.0:
            return float("nan")
        return float((curve[-1] / curve[0]) ** (1.0 / (self.length - 1)))

    def relative(self) -> GradFlow:
        """Every curve divided by its lag-0 value: compares decay when error sizes differ."""
        norms = {k: c / c[0] if c[0] > 0 else c.copy() for k, c in self.norms.items()}
        return GradFlow(norms, f"{self.source}; relative to lag 0", self.batch_size, self.meta)

    def table_lags(self) -> list[int]:
        """Lags worth a row: 0, 1, 2, 5, 10, 20, 50, ... and the longest one."""
        picks = [m * 10**e for e in range(6) for m in (1, 2, 5)]
        return sorted({0, *(k for k in picks if k < self.length), self.length - 1})

    def format_table(self, lags: Sequence[int] | None = None) -> str:
        """A plain-text table: one row per lag, one column per curve, then the per-step factor."""
        labels = list(self.norms)
        width = max(12, *(len(label) + 2 for label in labels))
        head = f"{'lag k':>7}" + "".join(f"{label:>{width}}" for label in labels)
        lines = [
            f"mean ||dE_T/dh_(T-k)|| over {self.batch_size} sequences; {self.source}",
            head,
            "-" * len(head),
        ]
        for k in self.table_lags() if lags is None else lags:
            row = "".join(f"{self.norms[label][k]:>{width}.3e}" for label in labels)
            lines.append(f"{k:>7}{row}")
        lines.append("-" * len(head))
        factors = "".join(f"{self.step_factor(label):>{width}.4f}" for label in labels)
        lines.append(f"{'x/step':>7}{factors}")
        return "\n".join(lines)

    def plot(self, path: str | Path, title: str | None = None) -> Path:
        """Save a log-scale PNG of norm against lag, one line per curve."""
        from matplotlib.figure import Figure  # no pyplot: no global backend state to disturb

        fig = Figure(figsize=(6.4, 4.2))
        ax = fig.subplots()
        for label, curve in self.norms.items():
            positive = np.where(curve > 0.0, curve, np.nan)  # log axes cannot show exact zeros
            ax.plot(self.lags, positive, label=label)
        ax.set_yscale("log")
        ax.set_xlabel("lag k = T - t (steps back from the loss)")
        ax.set_ylabel("mean ||dE_T / dh_t||")
        ax.set_title(title or f"gradient flow through time ({self.source})", fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        return path

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): source, batch size, meta, and each curve as a list."""
        return {
            "source": self.source,
            "batch_size": self.batch_size,
            "meta": dict(self.meta),
            "norms": {label: curve.tolist() for label, curve in self.norms.items()},
            "step_factor": {label: self.step_factor(label) for label in self.norms},
        }


def adding_like_batch(batch_size: int, length: int, rng: np.random.Generator) -> Batch:
    """Random inputs shaped like the adding problem's: (B, T, 2), target the marked sum (B, 1).

    Channel 0 is U(0, 1) noise, channel 1 marks one step in each half. The loss is read at the
    last step only, which is what makes the lag of every earlier step well defined. (Core never
    imports a plugin, so this is a small stand-in for the ``adding`` task's own generator.)
    """
    half = max(length // 2, 1)
    values = rng.uniform(0.0, 1.0, size=(batch_size, length))  # (B, T)
    markers = np.zeros((batch_size, length))  # (B, T)
    rows = np.arange(batch_size)
    first = rng.integers(0, half, size=batch_size)
    second = rng.integers(min(half, length - 1), length, size=batch_size)
    markers[rows, first] = markers[rows, second] = 1.0
    return Batch(
        inputs=np.stack([values, markers], axis=-1),  # (B, T, 2)
        targets=(values[rows, first] + values[rows, second])[:, None],  # (B, 1)
        mask=np.ones((batch_size, length), dtype=bool),
        reset=np.ones(batch_size, dtype=bool),
    )


def lag_norms(model: Any, ops: Ops, params: dict[str, Any], batch: Batch) -> np.ndarray:
    """(L, T) mean over rows of ||dE_T/dh_{T-k}||, index k = lag, for the last-step loss.

    For an ``every_step`` readout the loss is restricted to the last step (``loss_from``), so
    every curve answers the same question: how much of one step's error reaches k steps back.
    """
    from ..engine.bptt import hidden_grads, to_window

    steps = batch.length
    loss_from = steps - 1 if model.config.readout == "every_step" else 0
    window = to_window(ops, batch, loss_from=loss_from)
    state = model.zero_state(ops, batch.batch_size)
    grads = np.asarray(hidden_grads(model, ops, params, window, state))  # (L, T, B, H)
    per_row = np.linalg.norm(grads, axis=-1)  # (L, T, B)
    return per_row.mean(axis=-1)[:, ::-1].copy()  # (L, T), reversed: index = lag


def gradient_flow(
    ops: Ops | None = None,
    cells: str | Any | Sequence[str | Any] | None = None,
    *,
    length: int = 100,
    hidden: int = 64,
    layers: int = 1,
    batch_size: int = 32,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    recurrent_scale: float = 1.0,
    run_dir: str | Path | None = None,
) -> GradFlow:
    """Measure mean ||dE_T/dh_{T-k}|| against the lag k for one or more cells.

    Fresh weights (default): each cell gets a model with 2 inputs, ``hidden`` units and a
    ``last``/``mse`` readout, initialised by the cell's own rule from ``seed``, and is run on
    one batch of random adding-problem inputs (:func:`adding_like_batch`).

    Trained weights (``run_dir``): the run's model, weights and task are loaded with
    :func:`seqframe.runs.api.open_run`, and the gradient is taken on the first training batch of
    the run's task (``length``, ``hidden``, ``layers``, ``params`` do not apply).

    Args:
        ops: the backend and dtype to run on (``float64`` recommended: a long lag's norm can be
            ~1e-30). With ``run_dir`` it may be None: the run's own backend and dtype.
        cells: a cell name, Cell class or instance, or a sequence of them; default ``rnn``,
            ``lstm`` and ``gru`` (fresh weights) or the run's cell.
        length: T, steps per sequence (fresh weights).
        hidden: H (fresh weights).
        layers: stacked layers (fresh weights); each layer gets its own curve.
        batch_size: rows averaged over.
        seed: seeds the weights and the inputs.
        params: explicit host or backend weights (PyTorch names) for a single cell, instead of
            the init rule.
        recurrent_scale: multiplies every ``weight_hh`` of fresh weights: below ~1 the Elman
            network's gradients vanish faster, well above 1 they can explode.
        run_dir: a run directory to load trained weights from.

    Raises:
        ConfigError: bad sizes, ``params`` with several cells, a cell other than the run's.
    """
    if run_dir is not None:
        return _run_flow(ops, cells, Path(run_dir), batch_size, seed)
    if ops is None:
        raise ConfigError("gradient_flow needs a backend (ops) unless run_dir is given.")
    for name, value in (
        ("length", length),
        ("hidden", hidden),
        ("layers", layers),
        ("batch_size", batch_size),
    ):
        if value < 1:
            raise ConfigError(f"gradient flow option {name!r} must be >= 1, got {value}.")
    chosen = [_resolve_cell(c) for c in _as_list(cells, DEFAULT_CELLS)]
    if params is not None and len(chosen) != 1:
        raise ConfigError(
            f"explicit params fit one cell, but {len(chosen)} cells were asked for; "
            "pass a single cell with params."
        )
    batch = adding_like_batch(batch_size, length, np.random.default_rng([seed, 1]))
    norms: dict[str, np.ndarray] = {}
    for cell in chosen:
        model = _fresh_model(cell, hidden, layers)
        host = params if params is not None else _scaled_init(model, seed, recurrent_scale)
        device = {name: ops.asarray(value) for name, value in host.items()}
        _add_curves(norms, cell.name, lag_norms(model, ops, device, batch))
    scale = "" if recurrent_scale == 1.0 else f", W_hh x {recurrent_scale:g}"
    origin = "given weights" if params is not None else f"fresh weights (seed {seed}{scale})"
    source = f"{origin}, T={length}, H={hidden}, {ops.name} {ops.dtype}"
    meta = {
        "length": length,
        "hidden": hidden,
        "layers": layers,
        "seed": seed,
        "recurrent_scale": recurrent_scale,
        "backend": ops.name,
        "dtype": ops.dtype,
    }
    return GradFlow(norms, source, batch_size, meta)


def _run_flow(ops: Ops | None, cells: Any, run_dir: Path, batch_size: int, seed: int) -> GradFlow:
    from ..runs.api import open_run

    task, predictor, config = open_run(run_dir, backend=None if ops is None else ops.name)
    if config.ensemble > 1:
        raise ConfigError(
            f"{str(run_dir)!r} is an ensemble of {config.ensemble} runs; gradient flow is a "
            f"property of one model. Pass a member: --run {str(run_dir / 'member-0')!r}."
        )
    wanted = _as_list(cells, ())
    names = {c if isinstance(c, str) else _resolve_cell(c).name for c in wanted}
    if names and names != {config.cell}:
        raise ConfigError(
            f"run {str(run_dir)!r} trained a {config.cell!r} cell; asked for "
            f"{', '.join(sorted(names))}. Leave the cell out (or pass --cell {config.cell})."
        )
    model, run_ops, params = predictor.model, predictor.ops, predictor.params
    if ops is not None:  # the caller's dtype (float64 shows lags whose norm float32 flushes to 0)
        params = {name: ops.asarray(run_ops.to_numpy(value)) for name, value in params.items()}
        run_ops = ops
    batch = task.train_batches(0, batch_size, seed)[0]
    norms: dict[str, np.ndarray] = {}
    _add_curves(norms, f"{config.cell} (trained)", lag_norms(model, run_ops, params, batch))
    source = (
        f"trained weights of {run_dir.name}, task {config.task}, {run_ops.name} {run_ops.dtype}"
    )
    meta = {
        "run_dir": str(run_dir),
        "task": config.task,
        "cell": config.cell,
        "backend": run_ops.name,
        "dtype": run_ops.dtype,
    }
    return GradFlow(norms, source, batch.batch_size, meta)


def _as_list(cells: Any, default: Sequence[Any]) -> list[Any]:
    if cells is None:
        return list(default)
    if isinstance(cells, (str, bytes)) or not isinstance(cells, Sequence):
        return [cells]
    return list(cells)


def _resolve_cell(cell: Any) -> Any:
    """A Cell instance from a registered name, a Cell class or an instance."""
    if isinstance(cell, str):
        from ..plugins import get_registry

        return get_registry().load("cell", cell)()
    return cell() if isinstance(cell, type) else cell


def _fresh_model(cell: Any, hidden: int, layers: int) -> Any:
    from ..engine.model import Model, ModelConfig

    config = ModelConfig(
        cell=cell.name,
        input_size=2,
        hidden_size=hidden,
        output_size=1,
        layers=layers,
        readout="last",
        loss="mse",
    )
    return Model(config, cell)


def _scaled_init(model: Any, seed: int, recurrent_scale: float) -> dict[str, np.ndarray]:
    host = model.init_params(np.random.default_rng([seed, 0]))
    return {
        name: value * recurrent_scale if name.startswith("weight_hh") else value
        for name, value in host.items()
    }


def _add_curves(norms: dict[str, np.ndarray], label: str, curves: np.ndarray) -> None:
    if curves.shape[0] == 1:
        norms[label] = curves[0]
        return
    for layer, curve in enumerate(curves):
        norms[f"{label} layer {layer}"] = curve
