"""Check the hand-written BPTT against finite differences, entry by entry.

:func:`check_gradients` builds a small model (B=3 rows, T=5 steps, D=3 inputs, H=4 by default)
on any backend and cell, runs one window through :func:`seqframe.engine.bptt.window_loss_and_grad`,
and
compares the gradient of ``loss_sum`` w.r.t. EVERY parameter entry with a numerical derivative.
The window exercises what the trainer relies on: a variable-length row and a row with a gap
(masks), rows that restart while others carry a non-zero state (resets), and truncated BPTT
(no loss on the first steps, the state carried out after ``carry_at`` steps).

The numerical derivative is the fourth-order central difference
``(f(-2e) - 8 f(-e) + 8 f(e) - f(2e)) / 12e``. Its truncation error is O(e^4) and its rounding
error about ``machine_eps * |loss| / e``; with ``e = 1e-3`` in float64 both are near 1e-12, which
is what lets a relative tolerance of 1e-6 hold even for gradient entries of order 1e-5. (The
plain two-point difference with ``e = 1e-6`` has rounding errors near 1e-10 and fails that.)

The relative error of an entry is ``|analytic - numerical| / max(|analytic|, |numerical|, floor)``
with ``floor = 1e-5`` in float64 (1e-2 in float32): an entry smaller than that, which a finite
difference cannot resolve to six digits, must instead agree to ``tolerance * floor`` absolutely.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cells.base import Cell
from ..engine.bptt import loss_only, to_window, window_loss_and_grad
from ..engine.model import Model, ModelConfig
from ..errors import ConfigError
from ..losses import BUILTIN, Loss
from ..ops import Ops
from ..rowsparse import dense
from ..task import Batch, ModelSpec

FLOAT32_MIN_TOLERANCE = 1e-2
# Entries smaller than this (in both gradients) are compared absolutely, against this scale.
REL_FLOOR = {"float64": 1e-5, "float32": 1e-2}
DEFAULT_EPS = {"float64": 1e-3, "float32": 3e-2}
TOKEN_VOCAB = 9  # V of token inputs: fewer than the 15 steps of a window, so ids repeat
CHECK_SAMPLES = 6  # sampled softmax: classes drawn, few enough to leave some out, with repeats


@dataclass
class GradCheckRow:
    """One parameter: its largest gradient entry and its worst absolute and relative errors."""

    name: str
    shape: tuple
    max_grad: float
    max_abs_error: float
    max_rel_error: float

    @classmethod
    def compare(cls, name: str, analytic: np.ndarray, numeric: np.ndarray,
                floor: float) -> GradCheckRow:
        """The row of ``analytic`` against ``numeric``; relative errors are taken against the
        larger magnitude of the two, at least ``floor`` (so near-zero entries compare
        absolutely)."""
        diff = np.abs(analytic - numeric)
        scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
        return cls(name, tuple(analytic.shape), float(np.abs(analytic).max()),
                   float(diff.max()), float((diff / scale).max()))


@dataclass
class GradCheckReport:
    """The outcome of :func:`check_gradients`.

    Attributes:
        title: what was checked (cell, backend, dtype, model and window features).
        rows: one :class:`GradCheckRow` per parameter.
        tolerance: the largest relative error that passes.
    """

    title: str
    tolerance: float
    rows: list[GradCheckRow] = field(default_factory=list)

    @property
    def max_rel_error(self) -> float:
        return max((row.max_rel_error for row in self.rows), default=0.0)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and self.max_rel_error < self.tolerance

    ok = passed  # the name seqframe.testing uses

    def failing(self) -> list[str]:
        """Names of the parameters whose error reaches the tolerance."""
        return [row.name for row in self.rows if not row.max_rel_error < self.tolerance]

    def format(self) -> str:
        """A plain-text table, one line per parameter, and the verdict."""
        width = max([len(r.name) for r in self.rows] + [9])
        lines = [self.title, f"{'parameter':<{width}}  {'shape':<10}  {'max |grad|':>10}  "
                 f"{'max abs err':>11}  {'max rel err':>11}"]
        for r in self.rows:
            lines.append(f"{r.name:<{width}}  {str(r.shape):<10}  {r.max_grad:>10.3e}  "
                         f"{r.max_abs_error:>11.3e}  {r.max_rel_error:>11.3e}")
        verdict = "passed" if self.passed else f"FAILED ({', '.join(self.failing())})"
        lines.append(f"{verdict}: max relative error {self.max_rel_error:.3e}, "
                     f"tolerance {self.tolerance:.0e}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def check_gradients(
    ops: Ops,
    cell: Cell | type[Cell],
    *,
    layers: int = 2,
    hidden: int | None = None,
    readout: str = "every_step",
    loss: str | Loss = "cross_entropy",
    loss_options: dict[str, Any] | None = None,
    bidirectional: bool = False,
    dropout: float = 0.0,
    tokens: bool | None = None,
    vocab: int = TOKEN_VOCAB,
    embed: int = 0,
    padding_id: int | None = 0,
    tie_weights: bool = False,
    sparse_grads: bool = False,
    seed: int = 0,
    with_masks: bool = True,
    with_resets: bool = True,
    truncation: bool = True,
    eps: float | None = None,
    tolerance: float = 1e-6,
) -> GradCheckReport:
    """Compare analytic and numerical gradients of one window's ``loss_sum``.

    Args:
        ops: the backend to check (float64 for the default tolerance).
        cell: a :class:`~seqframe.cells.Cell` instance or class.
        layers, readout, bidirectional: the model checked.
        hidden: H; None picks 4, or ``embed / directions`` with ``tie_weights`` (tying needs
            the embedding as wide as the readout's input).
        loss: a built-in loss's name or a :class:`~seqframe.losses.Loss` instance;
            ``loss_options`` are passed to a built-in's constructor. A loss that draws (sampled
            softmax) gets a freshly seeded generator at every evaluation, so its draw is a fixed
            part of the function; ``sampled_softmax`` draws 6 classes unless told otherwise.
        dropout: dropout probability; the same masks (one seeded generator per evaluation) are
            used for every loss evaluation, so they are a fixed part of the function.
        tokens: the inputs are token ids over ``vocab`` (default: when ``embed`` or
            ``tie_weights`` is set); the model then has ``vocab`` outputs, as a language model.
        embed: E, the embedding width (0: the ids are fed one-hot).
        padding_id: the padding id of token inputs (None: none). It fills the masked tail of
            a row and one real step; its row's expected gradient is ``nn.Embedding``'s: nothing
            from lookups, only the tied readout's part (see :func:`_padding_row`).
        tie_weights: the readout uses the embedding table.
        seed: seeds the parameters, data and masks.
        with_masks: give one row fewer real steps and another a masked gap.
        with_resets: carry a non-zero state in and restart one row from zeros.
        truncation: no loss on the first 2 steps and the state carried out after 3 of 5 steps,
            from a non-zero incoming state.
        eps: finite-difference step; None picks 1e-3 (float64) or 3e-2 (float32).
        tolerance: the largest relative error that passes.

    Returns:
        A :class:`GradCheckReport`; ``report.passed`` says whether it held.

    Raises:
        ConfigError: float32 asked with a tolerance it cannot reach, or a bad model setting.
    """
    if ops.dtype == "float32" and tolerance < FLOAT32_MIN_TOLERANCE:
        raise ConfigError(
            f"a gradient check in float32 cannot reach a relative tolerance of {tolerance:g}: "
            "float32 keeps about 7 significant digits and finite differences lose half of them. "
            f"Run it in float64 (--dtype float64), or relax the tolerance to "
            f"{FLOAT32_MIN_TOLERANCE:g} or more."
        )
    if isinstance(cell, type) and issubclass(cell, Cell):
        cell = cell()
    if not isinstance(cell, Cell):
        raise ConfigError(f"check_gradients needs a Cell instance or class; got {cell!r}.")
    eps = DEFAULT_EPS[ops.dtype] if eps is None else eps
    tokens = bool(embed or tie_weights) if tokens is None else tokens
    directions = 2 if bidirectional else 1
    if hidden is None:
        hidden = embed // directions if tie_weights and embed >= directions else 4
    loss = _make_loss(loss, loss_options)
    size = vocab if tokens else 3
    config = ModelConfig(cell.name, size, hidden, size, layers=layers, readout=readout,
                         loss=loss.name, dropout=dropout, bidirectional=bidirectional,
                         tokens=tokens, embed=embed, padding_id=padding_id if tokens else None,
                         tie_weights=tie_weights, sparse_grads=sparse_grads)
    model = Model(config, cell, loss)
    rng = np.random.default_rng(seed)
    window, state, carry_at = _scenario(model, ops, rng, with_masks, with_resets, truncation)
    loss.prepare(_spec(model, window))
    host = model.init_params(rng)
    params = {name: ops.asarray(value) for name, value in host.items()}
    run = _runner(model, ops, window, state, carry_at, seed)
    analytic = {name: ops.to_numpy(dense(ops, g)).astype(np.float64)
                for name, g in run(params).grads.items()}
    report = GradCheckReport(_title(model, ops, with_masks, with_resets, truncation), tolerance)
    floor = REL_FLOOR[ops.dtype]
    loss_at = _loss_at(model, ops, window, state, seed)
    for name, value in host.items():
        numeric = numerical_gradient(ops, params, name, value, loss_at, eps)
        if name == "embedding.weight" and config.padding_id is not None:
            numeric[config.padding_id] = _padding_row(model, ops, params, host, window, state,
                                                      seed, eps)
        report.rows.append(GradCheckRow.compare(name, analytic[name], numeric, floor))
    return report


def _make_loss(loss: str | Loss, options: dict[str, Any] | None) -> Loss:
    """The loss instance: ``loss`` itself, or the built-in of that name with ``options``."""
    if isinstance(loss, Loss):
        if options:
            raise ConfigError("pass loss options to the Loss instance itself, not as "
                              "loss_options, when check_gradients is given an instance.")
        return loss
    if loss not in BUILTIN:
        raise ConfigError(f"loss {loss!r} is not built in; pass its Loss instance to "
                          f"check_gradients (`seqframe plugins` lists the registered losses).")
    options = dict(options or {})
    if loss == "sampled_softmax":
        options.setdefault("samples", CHECK_SAMPLES)
    return BUILTIN[loss](**options)


def _runner(model: Model, ops: Ops, window, state, carry_at, seed: int):
    """``params -> WindowResult``, with the same dropout masks and loss draw at every call."""

    def run(p):
        drop_rng = np.random.default_rng(seed + 1) if model.config.dropout > 0 else None
        return window_loss_and_grad(model, ops, p, window, state, drop_rng, carry_at,
                                    loss_rng=np.random.default_rng(seed + 2))

    return run


def _loss_at(model: Model, ops: Ops, window, state, seed: int):
    """``params -> float`` loss_sum, a deterministic function of the parameters alone."""
    if model.config.dropout > 0:  # only the training forward applies the dropout masks
        run = _runner(model, ops, window, state, None, seed)
        return lambda p: ops.item(run(p).loss_sum)
    return lambda p: ops.item(loss_only(model, ops, p, window, state,
                                        loss_rng=np.random.default_rng(seed + 2))[0])


def _padding_row(model: Model, ops: Ops, params: dict, host: dict, window, state, seed: int,
                 eps: float) -> np.ndarray:
    """The gradient ``nn.Embedding(padding_idx=P)`` gives row P of the table, (E,).

    Lookups of the padding id pass no gradient to its row, by definition (the row is not
    learned from the inputs). Untied, that leaves zero; tied, the row still scores class P in the
    readout, and that part is the finite difference of ``readout.weight[P]`` in the *untied
    twin*: the same function with the readout holding a separate copy of the table.
    """
    pad = model.config.padding_id
    if not model.config.tie_weights:
        return np.zeros(model.config.embed)
    twin = Model(dataclasses.replace(model.config, tie_weights=False), model.cell, model.loss)
    twin_params = {**params, "readout.weight": ops.asarray(host["embedding.weight"].copy())}
    loss_at = _loss_at(twin, ops, window, state, seed)
    table = host["embedding.weight"]
    return numerical_gradient(ops, twin_params, "readout.weight", table, loss_at, eps,
                              rows=[pad])[pad]


def numerical_gradient(ops: Ops, params: dict, name: str, value: np.ndarray, loss_at,
                       eps: float, rows: list[int] | None = None) -> np.ndarray:
    """Fourth-order central differences of ``loss_at`` for every entry of ``params[name]`` (of
    the given first-axis ``rows`` only, when given; the others stay 0)."""
    work = value.copy()
    out = np.zeros(value.shape)
    for index in np.ndindex(value.shape):
        if rows is not None and index[0] not in rows:
            continue
        base = work[index]
        f = []
        for k in (-2, -1, 1, 2):
            work[index] = base + k * eps
            params[name] = ops.asarray(work.copy())
            f.append(loss_at(params))
        work[index] = base
        out[index] = (f[0] - 8.0 * f[1] + 8.0 * f[2] - f[3]) / (12.0 * eps)
    params[name] = ops.asarray(value)
    return out


def _scenario(model: Model, ops: Ops, rng, with_masks: bool, with_resets: bool, truncation: bool):
    """The window, incoming state and carry_at of a check (B=3, T=5)."""
    batch, steps, cfg = 3, 5, model.config
    mask = np.ones((batch, steps), bool)
    if with_masks:
        mask[1, 3:] = False  # a shorter row: padding at the end
        mask[2, 1] = False  # a gap in the middle of a row
    inputs = _inputs(model, rng, mask)
    reset = np.zeros(batch, bool)
    if with_resets:
        reset[1] = True
    per_step = cfg.readout == "every_step"
    lead = (batch, steps) if per_step else (batch,)
    if model.loss.targets == "classes":
        targets = rng.integers(0, cfg.output_size, size=lead)
    elif model.loss.targets == "values":
        targets = rng.normal(size=lead + (cfg.output_size,))
    else:
        raise ConfigError(f"check_gradients makes one target per step or row; loss "
                          f"{model.loss.name!r} takes whole label sequences. Check it with the "
                          f"loss conformance suite instead.")
    window = to_window(ops, Batch(inputs, targets, mask, reset), loss_from=2 if truncation else 0)
    state = None
    if with_resets or truncation:
        state = tuple(
            tuple(
                tuple(ops.asarray(0.5 * rng.normal(size=(batch, cfg.hidden_size)))
                      for _ in model.cell.state_names)
                for _ in range(model.directions)
            )
            for _ in range(cfg.layers)
        )
    return window, state, (3 if truncation else None)


def _inputs(model: Model, rng, mask: np.ndarray) -> np.ndarray:
    """(B, T, D) normal features, or (B, T) token ids: every real id more than once (B*T is
    larger than the vocabulary), the padding id in the masked steps and at one real step."""
    cfg = model.config
    if not cfg.tokens:
        return rng.normal(size=mask.shape + (cfg.input_size,))
    pad = cfg.padding_id
    ids = rng.integers(0, cfg.input_size, size=mask.shape)  # (B, T)
    if pad is not None:
        real = [v for v in range(cfg.input_size) if v != pad]
        ids = np.asarray(real)[ids % len(real)]
        ids[~mask] = pad  # padding where a row has no step
        ids[0, 2] = pad  # and at a real step: its row must still learn nothing from it
    return ids.astype(np.int64)


def _spec(model: Model, window) -> ModelSpec:
    """The ModelSpec a task would give this model (class frequencies from the targets)."""
    cfg = model.config
    counts = None
    if model.loss.targets == "classes":
        targets = np.asarray(window.ops.to_numpy(window.targets)).reshape(-1).astype(np.int64)
        counts = np.bincount(targets, minlength=cfg.output_size) + 1.0
    return ModelSpec(cfg.input_size, cfg.output_size, cfg.readout, model.loss.name,
                     tokens=cfg.tokens, padding_id=cfg.padding_id, class_frequencies=counts)


def _title(model: Model, ops: Ops, masks: bool, resets: bool, truncation: bool) -> str:
    cfg = model.config
    features = [f"{cfg.layers} layer(s)", f"H={cfg.hidden_size}", f"readout {cfg.readout}",
                f"loss {model.loss!r}" if model.loss.opts else f"loss {cfg.loss}"]
    if cfg.tokens:
        pad = "" if cfg.padding_id is None else \
            f", padding id {cfg.padding_id} (masked steps and a real step)"
        features += [f"token ids V={cfg.input_size} "
                     + (f"embedded E={cfg.embed}" if cfg.embed else "one-hot") + pad]
        features += ["tied readout"] * cfg.tie_weights
    features += ["row-sparse gradients"] * cfg.sparse_grads
    features += ["bidirectional"] * cfg.bidirectional
    features += [f"dropout {cfg.dropout:g}"] * (cfg.dropout > 0)
    features += ["masks"] * masks + ["resets"] * resets
    features += ["truncation (loss_from=2, carry_at=3)"] * truncation
    return f"gradient check: {model.cell.name} on {ops.describe()}; " + ", ".join(features)
