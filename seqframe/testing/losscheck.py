"""The Loss contract (:mod:`seqframe.losses.base`) as executable checks.

Each ``check_loss_*`` raises ``AssertionError`` naming the loss and what broke;
:func:`check_loss` runs them all, on every installed backend, and reports every failure at once.

The inputs come from :func:`seqframe.testing.losscases.make_case`: a few rows (or sequences)
with some left out by their weights.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..losses.base import TARGET_KINDS, Loss, check_loss_class
from ..ops import Ops
from ..task import TaskOption
from ._common import (
    Unavailable,
    assert_close,
    collect,
    load,
    make_ops,
    reference_ops,
    registered,
    tolerance,
)
from .losscases import (
    PAD_LABEL,
    RESULTS,
    LossCase,
    call_loss,
    default_spec,
    draw_targets,
    make_case,
    named_gradients,
)
from .numerics import numeric_grad
from .taskcheck import NAME_PATTERN


def _fail(loss: Any, message: str) -> None:
    raise AssertionError(f"loss {getattr(loss, 'name', type(loss).__name__)!r}: {message}")


def _scalar(loss: Loss, value: np.ndarray | None, what: str) -> float:
    if value is None or np.shape(value) not in ((), (1,)):
        _fail(loss, f"{what} is {None if value is None else np.shape(value)}; expected a 0-d "
                    f"array (the SUM over counted rows)")
    return float(np.reshape(value, ()))


# ---- the checks ------------------------------------------------------------------------------


def check_loss_contract(loss_cls: type[Loss]) -> None:
    """Class attributes, construction with the default options, ``output_size``."""
    try:
        check_loss_class(loss_cls)
    except ConfigError as exc:
        _fail(loss_cls, str(exc))
    if not isinstance(getattr(loss_cls, "name", None), str) or not re.match(NAME_PATTERN,
                                                                           loss_cls.name):
        _fail(loss_cls, "`name` must be lowercase letters, digits, - and _")
    if not isinstance(loss_cls.description, str):
        _fail(loss_cls, "`description` must be a string")
    if not isinstance(loss_cls.metric, str) or loss_cls.mode not in ("min", "max"):
        _fail(loss_cls, f"metric {loss_cls.metric!r} / mode {loss_cls.mode!r}: expected a "
                        f"string and 'min' or 'max'")
    if loss_cls.per_sequence and loss_cls.needs != "logits":
        _fail(loss_cls, "a per_sequence loss gets whole sequences of scores: it must need "
                        "'logits'")
    method = "loss_and_grad" if loss_cls.needs == "logits" else "loss_and_grad_features"
    if getattr(loss_cls, method) is getattr(Loss, method):
        _fail(loss_cls, f"needs {loss_cls.needs!r} but does not implement {method}")
    loss = loss_cls()
    for size in (1, 2, 5):
        width = loss.output_size(size)
        if not isinstance(width, (int, np.integer)) or width < 1:
            _fail(loss, f"output_size({size}) is {width!r}; expected a positive int")


def check_loss_registered(loss_cls: type[Loss]) -> None:
    """An installed plugin registers ``loss_cls`` under the loss's ``name``."""
    if loss_cls.name not in registered("loss"):
        _fail(loss_cls, f"no plugin registers a loss named {loss_cls.name!r}; is the package "
                        f"installed and its entry point in the 'seqframe' group?")
    if load("loss", loss_cls.name) is not loss_cls:
        _fail(loss_cls, f"the name {loss_cls.name!r} loads {load('loss', loss_cls.name)!r}, not "
                        f"{loss_cls!r}; register the class under its own `name`")


_BAD_VALUE = {int: "not-an-int", float: "not-a-float", bool: "not-a-bool"}


def check_loss_options(loss_cls: type[Loss]) -> None:
    """Options: TaskOptions with unique names and defaults that parse; an unknown option, or a
    value that does not parse, is a ConfigError naming the option."""
    options = loss_cls.options
    if any(not isinstance(opt, TaskOption) for opt in options):
        _fail(loss_cls, "every entry of `options` must be a seqframe.task.TaskOption")
    names = [opt.name for opt in options]
    if len(set(names)) != len(names):
        _fail(loss_cls, f"option names repeat: {names}")
    defaults = getattr(loss_cls(), "opts", None)
    if not isinstance(defaults, dict):
        _fail(loss_cls, "an instance has no `opts` dict: call Loss.__init__(self, **options) from "
                        "your __init__ so options are checked and stored")
    for opt in options:
        try:
            opt.parse(f"loss {loss_cls.name}", opt.default)
        except ConfigError as exc:
            _fail(loss_cls, f"the default of option {opt.name!r} does not parse: {exc}")
        if defaults.get(opt.name) != opt.default:
            _fail(loss_cls, f"option {opt.name!r} defaults to {defaults.get(opt.name)!r}, not its "
                            f"declared default {opt.default!r}")
    bad = [("no_such_option_for_conformance", 1)]
    bad += [(opt.name, _BAD_VALUE[opt.type]) for opt in options if opt.type in _BAD_VALUE]
    bad += [(opt.name, "not-one-of-the-choices") for opt in options
            if opt.type is str and opt.choices]
    for name, value in bad:
        try:
            loss_cls(**{name: value})
        except ConfigError as exc:
            if name not in str(exc):
                _fail(loss_cls, f"the error for {name}={value!r} does not name the option: {exc}")
        else:
            _fail(loss_cls, f"option {name}={value!r} was accepted; it must raise ConfigError")


def check_loss_gradients(loss: Loss, ops: Ops, case: LossCase, *, eps: float = 1e-6,
                         rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0) -> None:
    """Every gradient against central differences of ``loss_sum`` (needs a float64 Ops); the
    shapes of the result; ``grad=False`` gives the same loss; the loss writes into no input."""
    if ops.dtype != "float64":
        raise ValueError("finite differences need a float64 Ops; pass dtype='float64'")
    original = case.copy()
    result = call_loss(loss, ops, case, seed=seed)
    loss_sum = _scalar(loss, result["loss_sum"], "loss_sum")
    for name, value in vars(original).items():
        if value is not None and not np.array_equal(getattr(case, name), value):
            _fail(loss, f"{ops.name}: the loss wrote into its {name}")
    again = call_loss(loss, ops, case, grad=False, seed=seed)
    if not np.isclose(_scalar(loss, again["loss_sum"], "loss_sum"), loss_sum, rtol=1e-12):
        _fail(loss, f"{ops.name}: grad=False gives loss_sum {float(again['loss_sum'])}, grad=True "
                    f"{loss_sum}")
    grads = named_gradients(loss, result)

    def total() -> float:  # reads the case's arrays as numeric_grad nudges them in place
        return float(call_loss(loss, ops, case, grad=False, seed=seed)["loss_sum"])

    for name, value in case.inputs().items():
        if grads[name] is None or grads[name].shape != value.shape:
            _fail(loss, f"{ops.name}: the gradient for {name} is "
                        f"{None if grads[name] is None else grads[name].shape}; expected "
                        f"{value.shape}, the shape of {name}")
        assert_close(f"loss {loss.name!r} on {ops.name}: d loss_sum / d {name}", grads[name],
                     numeric_grad(total, value, eps), rtol, atol)


def _classes(case: LossCase) -> int:
    """O', the number of scores per row."""
    return case.outputs.shape[-1] if case.outputs is not None else case.weight.shape[0]


def check_loss_masking(loss: Loss, ops: Ops, case: LossCase, *, seed: int = 0) -> None:
    """Rows with weight 0 (padded steps, for a per_sequence loss) get zero gradient, and changing
    their outputs or features, and for row losses their targets, changes nothing."""
    out = case.weights == 0  # rows (N,), or padded steps (T, B)
    if not out.any():
        raise ValueError("the case leaves no row out; masking cannot be checked")
    base = call_loss(loss, ops, case, seed=seed)
    grads = named_gradients(loss, base)
    row_input = "outputs" if loss.needs == "logits" else "features"
    if np.any(grads[row_input][out]):
        _fail(loss, f"{ops.name}: rows with weight 0 get a nonzero gradient for {row_input}")
    changed = case.copy()
    rng = np.random.default_rng(123)
    getattr(changed, row_input)[out] = 5.0 * rng.normal(size=getattr(changed, row_input)[out].shape)
    if not loss.per_sequence:  # a sequence's targets belong to all its steps
        size = case.targets.shape[-1] if case.targets.ndim > 1 else 1
        changed.targets[out] = draw_targets(loss.targets, rng, (int(out.sum()),), size,
                                            _classes(case))
    moved = call_loss(loss, ops, changed, seed=seed)
    tol = tolerance(ops.dtype)
    for name in RESULTS:
        if base[name] is None:
            continue
        keep = base[name][~out] if name == "d_outputs" else base[name]
        new = moved[name][~out] if name == "d_outputs" else moved[name]
        try:
            assert_close(name, new, keep, **tol)
        except AssertionError as exc:
            _fail(loss, f"{ops.name}: changing the rows with weight 0 changed {exc}; a row (or "
                        f"step) with weight 0 must not count")


def _split(loss: Loss, case: LossCase) -> tuple[LossCase, LossCase]:
    """The case cut in two: rows (N), or sequences (B) for a per_sequence loss."""
    if loss.per_sequence:
        cut = case.outputs.shape[1] // 2 + 1
        halves = [(slice(None, cut), (slice(None), slice(None, cut))),
                  (slice(cut, None), (slice(None), slice(cut, None)))]
        return tuple(replace(case, targets=case.targets[rows], weights=case.weights[cols],
                             outputs=case.outputs[cols]) for rows, cols in halves)
    cut = len(case.weights) // 2
    names = ["targets", "weights", "outputs", "features"]
    return tuple(replace(case, **{n: getattr(case, n)[part] for n in names
                                  if getattr(case, n) is not None})
                 for part in (slice(None, cut), slice(cut, None)))


def check_loss_count(loss: Loss, ops: Ops, case: LossCase, *, seed: int = 0) -> None:
    """Reduction by count: ``count`` is the number of counted rows (sequences with a valid step,
    for a per_sequence loss), and ``loss_sum``, ``count`` and the gradients of two halves of the
    rows add up to those of the whole."""
    whole = call_loss(loss, ops, case, seed=seed)
    w = case.weights
    expected = float((w.sum(axis=0) > 0).sum()) if loss.per_sequence else float(w.sum())
    what = "sequences with a valid step" if loss.per_sequence else "rows with weight 1"
    if not np.isclose(_scalar(loss, np.asarray(whole["count"]), "count"), expected):
        _fail(loss, f"{ops.name}: count is {float(whole['count'])}; expected {expected:g}, the "
                    f"{what}")
    first, second = (call_loss(loss, ops, part, seed=seed) for part in _split(loss, case))
    tol = tolerance(ops.dtype)
    axis = 1 if loss.per_sequence else 0
    for name in RESULTS:
        if whole[name] is None:
            continue
        if name == "d_outputs":
            joined = np.concatenate([first[name], second[name]], axis=axis)
        else:
            joined = first[name] + second[name]  # sums, count, and the shared weight's gradients
        try:
            assert_close(name, joined, whole[name], **tol)
        except AssertionError as exc:
            _fail(loss, f"{ops.name}: two halves of the rows do not add up to the whole: {exc}. "
                        f"Return the SUM over counted rows and their COUNT, not a mean")


def check_loss_parity(loss: Loss, ops: Ops, case: LossCase, *, seed: int = 0,
                      reference: Ops | None = None, tol: dict | None = None) -> None:
    """The loss on ``ops`` against the numpy float64 reference: loss, count, every gradient."""
    reference = reference or reference_ops("float64")
    tol = tol or ({"rtol": 1e-4, "atol": 1e-5} if ops.dtype == "float32"
                  else {"rtol": 1e-9, "atol": 1e-10})
    got, want = call_loss(loss, ops, case, seed=seed), call_loss(loss, reference, case, seed=seed)
    for name in RESULTS:
        if (got[name] is None) != (want[name] is None):
            _fail(loss, f"{ops.name} {ops.dtype}: {name} is "
                        f"{'missing' if got[name] is None else 'given'} on this backend but not "
                        f"on the numpy reference")
        if want[name] is not None:
            assert_close(f"loss {loss.name!r} on {ops.name} {ops.dtype}: {name}", got[name],
                         want[name], **tol)


def check_loss_combine(loss: Loss, case: LossCase, *, members: int = 3, seed: int = 0) -> None:
    """``combine`` returns the members' shape, finite, whatever their order; and (for a loss on
    logits) members that agree combine to outputs the loss scores like one member's."""
    rng = np.random.default_rng(seed)
    shape = (2, 4, _classes(case))  # batch-major (B, T, O'), as evaluation gives them
    outs = [rng.normal(size=shape) for _ in range(members)]
    merged = np.asarray(loss.combine(outs))
    if merged.shape != shape or not np.isfinite(merged).all():
        _fail(loss, f"combine of {members} outputs {shape} gave {merged.shape}"
                    f"{'' if np.isfinite(merged).all() else ' with non-finite values'}; "
                    f"expected finite values shaped like one member's")
    shuffled = np.asarray(loss.combine(outs[::-1]))
    if not np.allclose(shuffled, merged, rtol=1e-12, atol=1e-12):
        _fail(loss, "combine depends on the order of the members")
    if case.outputs is None:
        return
    ops, one = reference_ops("float64"), case.outputs
    batch_major = np.swapaxes(one, 0, 1) if loss.per_sequence else one  # what combine sees
    agreed = np.asarray(loss.combine([batch_major.copy() for _ in range(members)]))
    agreed = np.swapaxes(agreed, 0, 1) if loss.per_sequence else agreed
    alone = call_loss(loss, ops, case, grad=False)["loss_sum"]
    together = call_loss(loss, ops, replace(case, outputs=agreed), grad=False)["loss_sum"]
    if not np.isclose(together, alone, rtol=1e-9, atol=1e-12):
        _fail(loss, f"{members} identical members combine to outputs scored {float(together)}, "
                    f"one member's are scored {float(alone)}; combine must keep the outputs' "
                    f"meaning")


# ---- all of it -------------------------------------------------------------------------------

Check = tuple[str, Callable[[], None]]


def loss_checks(make_loss: Callable[[], Loss], backend_ops: dict[str, Ops],
                make_inputs: Callable[[Loss], LossCase]) -> list[Check]:
    """The numerical checks of one loss on each given Ops (named ``backend dtype``)."""
    checks: list[Check] = []
    for label, ops in backend_ops.items():
        if ops.dtype == "float64":
            checks += [
                (f"{label} gradients",
                 lambda o=ops: check_loss_gradients(make_loss(), o, make_inputs(make_loss()))),
                (f"{label} masking",
                 lambda o=ops: check_loss_masking(make_loss(), o, make_inputs(make_loss()))),
                (f"{label} count",
                 lambda o=ops: check_loss_count(make_loss(), o, make_inputs(make_loss()))),
            ]
        if (ops.name, ops.dtype) != ("numpy", "float64"):
            checks.append((f"{label} parity", lambda o=ops: check_loss_parity(
                make_loss(), o, make_inputs(make_loss()))))
    return checks


def check_loss(loss_cls: type[Loss], options: dict[str, Any] | None = None,
               backends: list[str] | None = None, *, class_frequencies: Any = None,
               size: int = 3) -> list[str]:
    """Every loss check, on every installed backend, all run before failing.

    Args:
        loss_cls: the Loss subclass under test.
        options: its ``loss_options`` for the numerical checks (defaults otherwise).
        backends: registered backend names; None means every installed one.
        class_frequencies: what ``prepare`` finds in the ModelSpec (a popularity sampler).
        size: the task's O.

    Returns:
        What was skipped because it cannot run here (backend and dtype, with the reason).

    Raises:
        AssertionError: listing every check that failed.
    """
    def make_loss() -> Loss:
        loss = loss_cls(**(options or {}))
        loss.prepare(default_spec(loss, size, class_frequencies))
        return loss

    def make_inputs(loss: Loss) -> LossCase:
        return make_case(loss, np.random.default_rng(0), size=size)

    backend_ops, skipped = {}, []
    for backend in backends or registered("backend"):
        for dtype in ("float32", "float64"):
            try:
                backend_ops[f"{backend} {dtype}"] = make_ops(backend, dtype)
            except Unavailable as exc:
                skipped.append(f"{backend} {dtype}: {exc}")
    checks: list[Check] = [("contract", lambda: check_loss_contract(loss_cls)),
                           ("options", lambda: check_loss_options(loss_cls)),
                           ("combine", lambda: check_loss_combine(make_loss(),
                                                                  make_inputs(make_loss())))]
    collect(checks + loss_checks(make_loss, backend_ops, make_inputs))
    return skipped


__all__ = ["PAD_LABEL", "TARGET_KINDS", "LossCase", "call_loss", "check_loss",
           "check_loss_combine", "check_loss_contract", "check_loss_count", "check_loss_gradients",
           "check_loss_masking", "check_loss_options", "check_loss_parity",
           "check_loss_registered", "default_spec", "loss_checks", "make_case"]
