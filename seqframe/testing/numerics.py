"""Numerical checks of cells and backends: finite differences and cross-backend parity.

* :func:`check_step_gradients` -- a cell's ``step_backward`` against central finite differences
  of its ``step``, on one backend, in float64. Independent of BPTT: it tests the cell alone.
* :func:`check_window_gradients` -- a whole model built on the cell (layers, masks, resets,
  readout and loss) against finite differences, via
  :func:`seqframe.diagnostics.gradcheck.check_gradients`.
* :func:`check_window_parity` -- ``window_loss_and_grad`` on a backend against the numpy
  reference from the same weights and data: loss, count, every gradient, outputs and state;
  and the backend's fused fast path, when it has one, against the same reference.

Each raises AssertionError with what differed, by how much, and where.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cells.base import Cell
from ..ops import Ops
from ..rowsparse import dense
from ._common import assert_close, host

# ---- one step --------------------------------------------------------------------------------


def _call_step(cell: Cell, ops: Ops, xp, hp, state, own: dict):
    args = (ops, xp, hp, state)
    return cell.step(*args, own) if own else cell.step(*args)


def _step_loss(cell: Cell, ops: Ops, xp, hp, state, own, weights) -> float:
    new_state, _ = _call_step(cell, ops, ops.asarray(xp),
                              None if hp is None else ops.asarray(hp),
                              tuple(ops.asarray(s) for s in state),
                              {k: ops.asarray(v) for k, v in own.items()})
    return float(sum(np.sum(host(ops, s) * w) for s, w in zip(new_state, weights, strict=True)))


def numeric_grad(f, x: np.ndarray, eps: float) -> np.ndarray:
    """Central differences ``(f(x + eps) - f(x - eps)) / (2 eps)`` for every entry of ``x``.

    Args:
        f: a scalar function of no arguments that reads ``x``.
        x: a host float64 array; each entry is nudged in place and put back.
        eps: the step.

    Returns:
        The numerical gradient of ``f`` with respect to ``x``, shaped like ``x``.
    """
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + eps
        up = f()
        x[i] = keep - eps
        down = f()
        x[i] = keep
        grad[i] = (up - down) / (2 * eps)
    return grad


def check_step_gradients(cell: Cell, ops: Ops, *, batch: int = 2, hidden: int = 3,
                         seed: int = 0, eps: float = 1e-6, rtol: float = 1e-5,
                         atol: float = 1e-7) -> None:
    """``cell.step_backward`` against central differences of ``cell.step`` (needs float64).

    The loss is ``sum_i sum(w_i * new_state_i)`` with random weights ``w_i``, so every entry of
    the new state is exercised. ``xp``, ``hp`` (for a ``recurrent`` cell), the previous state and
    the cell's own parameters are independent inputs here; their derivatives are ``d_xp``,
    ``d_hp``, ``d_state_prev`` and ``d_params``. It also checks that neither method writes into
    its arguments.
    """
    if ops.dtype != "float64":
        raise ValueError("finite differences need a float64 Ops; pass dtype='float64'")
    rng = np.random.default_rng(seed)
    width = cell.gates * hidden
    xp = rng.normal(size=(batch, width))  # (B, G*H)
    hp = rng.normal(size=(batch, width)) if cell.recurrent else None  # (B, G*H)
    state = [rng.normal(size=(batch, hidden)) for _ in cell.state_names]  # each (B, H)
    own = {k: rng.normal(size=v) for k, v in cell.own_param_shapes(3, hidden).items()}
    weights = [rng.normal(size=(batch, hidden)) for _ in cell.state_names]
    # fresh copies go in, so a write into an argument shows against the originals
    args = (ops.asarray(xp.copy()), None if hp is None else ops.asarray(hp.copy()),
            tuple(ops.asarray(s.copy()) for s in state))
    own_args = {k: ops.asarray(v.copy()) for k, v in own.items()}
    new_state, cache = _call_step(cell, ops, *args, own_args)
    _check_state_layout(cell, new_state, batch, hidden, "step")
    d_new = tuple(ops.asarray(w.copy()) for w in weights)
    d_xp, d_hp, d_prev, *rest = cell.step_backward(ops, d_new, cache)
    d_own = rest[0] if rest else {}
    _check_state_layout(cell, d_prev, batch, hidden, "step_backward's d_state_prev")
    inputs = [("xp", args[0], xp)] + ([("hp", args[1], hp)] if hp is not None else [])
    inputs += [(f"state[{i}]", a, s) for i, (a, s) in enumerate(zip(args[2], state, strict=True))]
    inputs += [(f"params[{k!r}]", own_args[k], v) for k, v in own.items()]
    inputs += [(f"d_state[{i}]", a, w) for i, (a, w) in enumerate(zip(d_new, weights,
                                                                        strict=True))]
    for what, arr, expected in inputs:
        if not np.array_equal(host(ops, arr), expected):
            raise AssertionError(f"{cell.name}: step or step_backward wrote into its {what}")
    if set(d_own) != set(own):
        raise AssertionError(f"{cell.name}: step_backward returned gradients for "
                             f"{sorted(d_own)}; the cell declares own parameters {sorted(own)}")

    def loss() -> float:
        return _step_loss(cell, ops, xp, hp, state, own, weights)

    assert_close(f"{cell.name}: d_xp", host(ops, d_xp), numeric_grad(loss, xp, eps), rtol, atol)
    if hp is not None:
        assert_close(f"{cell.name}: d_hp", host(ops, d_hp), numeric_grad(loss, hp, eps), rtol,
                     atol)
    for i, s in enumerate(state):
        assert_close(f"{cell.name}: d_state_prev[{i}] ({cell.state_names[i]})",
                     host(ops, d_prev[i]), numeric_grad(loss, s, eps), rtol, atol)
    for name, value in own.items():
        assert_close(f"{cell.name}: d_params[{name!r}]", host(ops, d_own[name]),
                     numeric_grad(loss, value, eps), rtol, atol)


def _check_state_layout(cell: Cell, state: Any, batch: int, hidden: int, what: str) -> None:
    if not isinstance(state, tuple) or len(state) != len(cell.state_names):
        raise AssertionError(
            f"{cell.name}: {what} returned {type(state).__name__} of length "
            f"{len(state) if hasattr(state, '__len__') else '?'}; expected a tuple of "
            f"{len(cell.state_names)} arrays ({', '.join(cell.state_names)})")
    for name, s in zip(cell.state_names, state, strict=True):
        if tuple(s.shape) != (batch, hidden):
            raise AssertionError(f"{cell.name}: {what} entry {name!r} has shape "
                                 f"{tuple(s.shape)}; expected (B, H) = {(batch, hidden)}")


# ---- whole windows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A small model and window that exercises one corner of BPTT.

    ``vocab`` > 0 makes the inputs token ids over that many ids (and the model a language model
    with ``vocab`` outputs), embedded ``embed`` wide (0: fed one-hot); ``padding_id`` pads the
    short row and one real step; ``loss`` is a registered loss's name and ``loss_options`` its
    own settings, as pairs.
    """

    name: str
    hidden: int = 4
    readout: str = "every_step"
    loss: str = "cross_entropy"
    layers: int = 2
    bidirectional: bool = False
    dropout: float = 0.0
    vocab: int = 0
    embed: int = 0
    padding_id: int | None = None
    tie_weights: bool = False
    loss_options: tuple[tuple[str, Any], ...] = ()
    sparse_grads: bool = False


SCENARIOS = (
    Scenario("every_step-cross_entropy-2layers"),
    Scenario("last-mse-bidirectional", readout="last", loss="mse", layers=1, bidirectional=True),
    Scenario("mean-gaussian_nll-dropout", readout="mean", loss="gaussian_nll", dropout=0.25),
    Scenario("tokens-embed-padding-tied", vocab=7, embed=4, padding_id=0, tie_weights=True),
    Scenario("tokens-sampled_softmax-popularity", loss="sampled_softmax", layers=1, vocab=7,
             embed=3, padding_id=0,
             loss_options=(("samples", 4), ("sampler", "popularity"))),
    Scenario("tokens-sampled_softmax-tied-sparse_grads", loss="sampled_softmax", layers=1,
             vocab=7, embed=4, padding_id=0, tie_weights=True, sparse_grads=True,
             loss_options=(("samples", 4),)),
)


def scenario_model(cell: Cell, scenario: Scenario, input_size: int = 3,
                   hidden: int | None = None, output_size: int = 3):
    """The scenario's model on ``cell`` (``hidden`` defaults to the scenario's); token scenarios
    use their vocabulary as input and output size. A sampled loss's popularity proposal gets
    counts ``V, V-1, ..., 1``."""
    from ..engine.model import Model, ModelConfig
    from ..task import ModelSpec
    from ._common import load

    hidden = scenario.hidden if hidden is None else hidden
    if scenario.vocab:
        input_size = output_size = scenario.vocab
    config = ModelConfig(cell=cell.name, input_size=input_size, hidden_size=hidden,
                         output_size=output_size, layers=scenario.layers,
                         readout=scenario.readout, loss=scenario.loss, dropout=scenario.dropout,
                         bidirectional=scenario.bidirectional, tokens=scenario.vocab > 0,
                         embed=scenario.embed, padding_id=scenario.padding_id,
                         tie_weights=scenario.tie_weights, sparse_grads=scenario.sparse_grads)
    loss = load("loss", scenario.loss)(**dict(scenario.loss_options))
    loss.prepare(ModelSpec(input_size, output_size, scenario.readout, scenario.loss,
                           tokens=config.tokens, padding_id=scenario.padding_id,
                           class_frequencies=np.arange(output_size, 0, -1.0)))
    return Model(config, cell, loss)


def scenario_batch(model, seed: int = 0, batch: int = 3, steps: int = 5):
    """A host batch with a padded tail on one row and a reset on another; token ids (with the
    padding id in the tail and at one real step) for a model with token inputs."""
    from ..task import Batch

    cfg = model.config
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, steps), bool)
    mask[-1, steps - 2:] = False  # the last row is two steps shorter
    if cfg.tokens:
        inputs = rng.integers(0, cfg.input_size, size=(batch, steps))  # (B, T) ids
        if cfg.padding_id is not None:
            inputs[~mask] = cfg.padding_id
            inputs[0, 1] = cfg.padding_id
    else:
        inputs = rng.normal(size=(batch, steps, cfg.input_size))  # (B, T, D)
    reset = np.zeros(batch, bool)
    reset[0] = True  # row 0 starts a new sequence, the others carry the given state
    every = cfg.readout == "every_step"
    lead = (batch, steps) if every else (batch,)
    if model.loss.targets == "classes":
        targets = rng.integers(0, cfg.output_size, size=lead)
    else:
        targets = rng.normal(size=(*lead, cfg.output_size))
    return Batch(inputs, targets, mask, reset)


def scenario_state(model, seed: int = 0, batch: int = 3) -> Any:
    """A random host state with the model's nesting (layers, directions, cell state)."""
    rng = np.random.default_rng(seed + 1)
    return tuple(
        tuple(tuple(rng.normal(scale=0.5, size=(batch, model.config.hidden_size))
                    for _ in model.cell.state_names) for _ in range(model.directions))
        for _ in range(model.config.layers))


def _to_backend(ops: Ops, nested: Any) -> Any:
    if isinstance(nested, tuple):
        return tuple(_to_backend(ops, x) for x in nested)
    return ops.asarray(nested)


def _flat(ops: Ops, nested: Any) -> list[np.ndarray]:
    if isinstance(nested, tuple):
        return [a for x in nested for a in _flat(ops, x)]
    return [host(ops, nested)]


def run_scenario(ops: Ops, cell: Cell, scenario: Scenario, seed: int = 0, fused: bool = False):
    """``window_loss_and_grad`` (or the fused path) of a scenario on ``ops``, as host arrays.

    Returns:
        A dict: ``loss_sum``, ``count``, ``grads`` (name -> array), ``outputs``, ``state``
        (a flat list), or None when ``fused`` and the backend has no fast path for it.
    """
    from ..engine.bptt import to_window, window_loss_and_grad

    model = scenario_model(cell, scenario)
    params = {k: ops.asarray(v) for k, v in model.init_params(seed).items()}
    window = to_window(ops, scenario_batch(model, seed))
    state = _to_backend(ops, scenario_state(model, seed))
    rng = np.random.default_rng(seed + 2) if scenario.dropout else None
    recurrence = ops.fused_recurrence(cell) if fused else None
    if fused and recurrence is None:
        return None
    if fused and not getattr(recurrence, "runs_ragged", True):
        # The backend leaves padded windows to the generic path for speed; the check is about
        # the kernels' numbers, so it runs them on this window anyway.
        recurrence = copy.copy(recurrence)
        recurrence.runs_ragged = True
    result = window_loss_and_grad(model, ops, params, window, state, dropout_rng=rng,
                                  fused=recurrence, loss_rng=np.random.default_rng(seed + 3))
    if fused and result.path != recurrence.path:
        raise AssertionError(f"{ops.name} {cell.name}: the fused path was asked for but "
                             f"{result.path!r} ran")
    return {
        "loss_sum": host(ops, result.loss_sum),
        "count": float(host(ops, result.count)),
        "grads": {k: host(ops, dense(ops, g)) for k, g in result.grads.items()},
        "outputs": None if result.outputs is None else host(ops, result.outputs),
        "state": _flat(ops, result.state),
    }


def parity_tolerance(dtype: str) -> dict[str, float]:
    """How close a backend must come to the float64 numpy reference over a whole window."""
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-9, "atol": 1e-10}


def compare_results(what: str, got: dict, expected: dict, rtol: float, atol: float) -> None:
    """Compare two :func:`run_scenario` results entry by entry."""
    assert_close(f"{what}: loss_sum", got["loss_sum"], expected["loss_sum"], rtol, atol)
    if got["count"] != expected["count"]:
        raise AssertionError(f"{what}: count {got['count']}, expected {expected['count']}")
    if set(got["grads"]) != set(expected["grads"]):
        raise AssertionError(f"{what}: gradient keys {sorted(got['grads'])}, expected "
                             f"{sorted(expected['grads'])}")
    for name in expected["grads"]:
        # A gradient entry is a sum of many terms: its rounding error scales with the largest
        # entries of the array, not with its own (an entry near zero after cancellation in a
        # float32 sum of terms ~60 carries ~60 * eps of error), so atol scales with the array.
        scale = max(1.0, float(np.max(np.abs(expected["grads"][name]), initial=0.0)))
        assert_close(f"{what}: grad {name}", got["grads"][name], expected["grads"][name],
                     rtol, atol * scale)
    if (got["outputs"] is None) != (expected["outputs"] is None):
        raise AssertionError(f"{what}: outputs {'missing' if got['outputs'] is None else 'given'}"
                             f", expected {'none' if expected['outputs'] is None else 'some'}")
    if expected["outputs"] is not None:
        assert_close(f"{what}: outputs", got["outputs"], expected["outputs"], rtol, atol)
    if len(got["state"]) != len(expected["state"]):
        raise AssertionError(f"{what}: state has {len(got['state'])} arrays, expected "
                             f"{len(expected['state'])}")
    for i, (g, e) in enumerate(zip(got["state"], expected["state"], strict=True)):
        assert_close(f"{what}: state array {i}", g, e, rtol, atol)


def check_window_parity(ops: Ops, cell: Cell, scenario: Scenario = SCENARIOS[0], seed: int = 0,
                        reference: Ops | None = None, tolerance: dict | None = None) -> None:
    """The generic and (if any) fused window on ``ops`` against the numpy float64 reference."""
    from ._common import reference_ops

    reference = reference or reference_ops("float64")
    expected = run_scenario(reference, cell, scenario, seed)
    tol = tolerance or parity_tolerance(ops.dtype)
    label = f"{ops.name} {ops.dtype} {cell.name} [{scenario.name}]"
    compare_results(f"{label} generic", run_scenario(ops, cell, scenario, seed), expected, **tol)
    fused = run_scenario(ops, cell, scenario, seed, fused=True)
    if fused is not None:
        compare_results(f"{label} fused", fused, expected, **tol)


#: Finer finite-difference steps (float64) for the parameters that fail at the default step.
FINER_STEPS = (3e-5, 1e-4)


def window_gradient_report(ops: Ops, cell: Cell, **kwargs: Any) -> Any:
    """:func:`seqframe.diagnostics.gradcheck.check_gradients`, with failures rechecked finer.

    The default step (1e-3 in float64) suits smooth cells. Where a cell's forward is strongly
    curved at that scale -- a ReLU or a clip within a step of its kink, layer normalisation over
    a block whose variance is small (H = 4 here, so both happen) -- the differences are wrong,
    not the backward. So, in float64 and when no ``eps`` was given, the parameters that failed
    are checked again with the steps of :data:`FINER_STEPS`, one after the other, and a
    parameter's row is replaced by the first finer step's at which it agrees (the title says
    which). The error of a wrong backward does not shrink with the step; the truncation error of
    the differences does (a much finer step trades it for round-off, hence more than one).

    Returns:
        The :class:`~seqframe.diagnostics.gradcheck.GradCheckReport`; ``passed`` says whether
        every parameter agreed at some step.
    """
    from ..diagnostics.gradcheck import check_gradients

    report = check_gradients(ops, cell, **kwargs)
    if report.passed or "eps" in kwargs or ops.dtype != "float64":
        return report
    finer_at: dict[str, float] = {}
    for eps in FINER_STEPS:
        failing = set(report.failing())
        if not failing:
            break
        finer = {row.name: row for row in check_gradients(ops, cell, eps=eps, **kwargs).rows}
        for i, row in enumerate(report.rows):
            if row.name in failing and finer[row.name].max_rel_error < report.tolerance:
                report.rows[i] = finer[row.name]
                finer_at[row.name] = eps
    for eps in sorted(set(finer_at.values()), reverse=True):
        names = ", ".join(name for name, at in finer_at.items() if at == eps)
        report.title += f"; step {eps:g} for {names} (curved at the default step)"
    return report


def check_window_gradients(ops: Ops, cell: Cell, **kwargs: Any) -> Any:
    """A model on ``cell`` against finite differences: :func:`window_gradient_report`.

    Raises AssertionError naming the parameters whose gradients disagree.
    """
    report = window_gradient_report(ops, cell, **kwargs)
    if not report.passed:
        raise AssertionError(f"{cell.name} on {ops.describe()}: {report}")
    return report
