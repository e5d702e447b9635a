"""The Task contract as executable checks (the predictors they use are in :mod:`.predictors`).

Each ``check_*`` raises ``AssertionError`` naming the task and what broke; :func:`check_task`
runs them all and reports every failure at once.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import RunConfig, merge
from ..engine.model import READOUTS
from ..errors import ConfigError
from ..task import Batch, EnsembleAware, ModelSpec, Seq2SeqBatch, Seq2SeqSpec, Task, TaskOption
from . import seq2seqcheck
from ._common import load, registered
from .predictors import ConstantPredictor, FunctionPredictor, MetricCase

NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"


def _fail(task: Any, message: str) -> None:
    name = getattr(task, "name", type(task).__name__)
    raise AssertionError(f"task {name!r}: {message}")


# ---- the class -------------------------------------------------------------------------------

def check_task_class(task_cls: type[Task]) -> None:
    """Name, description, options, metric, run defaults: everything readable without data."""
    import re

    if not (isinstance(task_cls, type) and issubclass(task_cls, Task)):
        _fail(task_cls, f"{task_cls!r} is not a subclass of seqframe.task.Task")
    if not isinstance(getattr(task_cls, "name", None), str) or not re.match(NAME_PATTERN,
                                                                           task_cls.name):
        _fail(task_cls, "`name` must be lowercase letters, digits, - and _")
    if not isinstance(task_cls.description, str):
        _fail(task_cls, "`description` must be a string")
    names = [opt.name for opt in task_cls.options]
    if any(not isinstance(opt, TaskOption) for opt in task_cls.options):
        _fail(task_cls, "every entry of `options` must be a seqframe.task.TaskOption")
    if len(set(names)) != len(names):
        _fail(task_cls, f"option names repeat: {names}")
    for opt in task_cls.options:
        try:
            opt.parse(task_cls.name, opt.default)
        except ConfigError as exc:
            _fail(task_cls, f"the default of option {opt.name!r} does not parse: {exc}")
    if task_cls.metric_mode not in ("min", "max"):
        _fail(task_cls, f"metric_mode is {task_cls.metric_mode!r}; expected 'min' or 'max'")
    try:
        merge(RunConfig(), dict(task_cls.run_defaults), f"task {task_cls.name!r} run_defaults")
    except ConfigError as exc:
        _fail(task_cls, f"run_defaults do not fit RunConfig: {exc}")
    try:
        task_cls(options={"no_such_option_for_conformance": 1})
    except ConfigError as exc:
        if "no_such_option_for_conformance" not in str(exc):
            _fail(task_cls, f"an unknown option's error does not name it: {exc}")
    else:
        _fail(task_cls, "an unknown -o option was accepted; it must raise ConfigError")


def check_model_spec(task: Task, spec: Any) -> None:
    if isinstance(spec, Seq2SeqSpec):  # an encoder-decoder task
        seq2seqcheck.check_seq2seq_spec(task, spec)
        _check_splits(task)
        return
    if not isinstance(spec, ModelSpec):
        _fail(task, f"prepare() returned {type(spec).__name__}, not a seqframe.task.ModelSpec "
                    "(or a Seq2SeqSpec)")
    for field_name in ("input_size", "output_size"):
        value = getattr(spec, field_name)
        if not isinstance(value, (int, np.integer)) or value < 1:
            _fail(task, f"ModelSpec.{field_name} is {value!r}; expected a positive integer")
    if spec.readout not in READOUTS:
        _fail(task, f"ModelSpec.readout {spec.readout!r} is not one of {READOUTS}")
    losses = registered("loss")
    for name in (spec.loss, *spec.losses):
        if name not in losses:
            _fail(task, f"ModelSpec names loss {name!r}, which no plugin registers "
                        f"(registered: {', '.join(losses)})")
    _check_splits(task)


def _check_splits(task: Task) -> None:
    splits = tuple(task.splits())
    if "val" not in splits or not set(splits) <= {"val", "test"}:
        _fail(task, f"splits() is {splits}; it must include 'val' and may include 'test'")


# ---- batches ---------------------------------------------------------------------------------

def target_kind(spec: ModelSpec) -> str:
    """``classes``, ``values`` or ``sequences``: what the task's loss takes as targets."""
    return load("loss", spec.loss).targets


def _expected_targets(spec: ModelSpec, rows: int, steps: int) -> tuple[tuple, bool]:
    lead = (rows, steps) if spec.readout == "every_step" else (rows,)
    if target_kind(spec) == "classes":
        return lead, True
    return (*lead, spec.output_size), False


def _check_inputs(task: Task, spec: ModelSpec, x: np.ndarray, where: str) -> None:
    if spec.tokens:
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
            _fail(task, f"{where}: token inputs are {x.dtype} {x.shape}; expected integer ids "
                        "(B, T)")
        if x.size and (x.min() < 0 or x.max() >= spec.input_size):
            _fail(task, f"{where}: token ids must lie in [0, {spec.input_size}); got "
                        f"{x.min()}..{x.max()}")
        return
    if x.ndim != 3 or x.shape[2] != spec.input_size:
        _fail(task, f"{where}: inputs have shape {x.shape}; expected (B, T, {spec.input_size})")
    if x.dtype not in (np.float32, np.float64) or not np.isfinite(x).all():
        _fail(task, f"{where}: inputs must be finite float32/float64, got {x.dtype}")


def _check_sequences(task: Task, spec: ModelSpec, y: np.ndarray, rows: int, where: str) -> None:
    if y.ndim != 2 or y.shape[0] != rows or not np.issubdtype(y.dtype, np.integer):
        _fail(task, f"{where}: label-sequence targets are {y.dtype} {y.shape}; expected integer "
                    f"(B, L) with B = {rows}")
    if y.size and (y.min() < 0 or y.max() >= spec.output_size):
        _fail(task, f"{where}: labels must lie in [0, {spec.output_size}); got "
                    f"{y.min()}..{y.max()}")


def check_batch(task: Task, spec: ModelSpec, batch: Any, batch_size: int, where: str) -> None:
    """One batch against the Batch contract for this task's ModelSpec."""
    if isinstance(spec, Seq2SeqSpec):
        seq2seqcheck.check_pair_batch(task, spec, batch, batch_size, where)
        return
    if not isinstance(batch, Batch):
        _fail(task, f"{where} is a {type(batch).__name__}, not a seqframe.task.Batch")
    arrays = {"inputs": batch.inputs, "targets": batch.targets, "mask": batch.mask,
              "reset": batch.reset}
    for name, arr in arrays.items():
        if not isinstance(arr, np.ndarray):
            _fail(task, f"{where}: {name} is a {type(arr).__name__}; batches hold NumPy arrays")
    x = batch.inputs
    _check_inputs(task, spec, x, where)
    rows, steps = x.shape[:2]
    if not 1 <= rows <= batch_size or steps < 1:
        _fail(task, f"{where}: inputs have shape {x.shape}; expected 1 <= B <= {batch_size} "
                    "and T >= 1")
    if batch.mask.shape != (rows, steps) or batch.mask.dtype != np.bool_:
        _fail(task, f"{where}: mask is {batch.mask.dtype} {batch.mask.shape}; expected bool "
                    f"{(rows, steps)}")
    if not batch.mask.any(axis=1).all():
        _fail(task, f"{where}: a row has no valid step (mask all False)")
    if batch.reset.shape != (rows,) or batch.reset.dtype != np.bool_:
        _fail(task, f"{where}: reset is {batch.reset.dtype} {batch.reset.shape}; expected bool "
                    f"{(rows,)}")
    y = batch.targets
    if target_kind(spec) == "sequences":
        _check_sequences(task, spec, y, rows, where)
        return
    shape, integer = _expected_targets(spec, rows, steps)
    if y.shape != shape:
        _fail(task, f"{where}: targets have shape {y.shape}; expected {shape} for readout "
                    f"{spec.readout!r} and loss {spec.loss!r}")
    if integer:
        if not np.issubdtype(y.dtype, np.integer):
            _fail(task, f"{where}: {spec.loss} targets must be integer class ids, got {y.dtype}")
        valid = y[batch.mask] if spec.readout == "every_step" else y
        if valid.size and (valid.min() < 0 or valid.max() >= spec.output_size):
            _fail(task, f"{where}: class ids must lie in [0, {spec.output_size}); got "
                        f"{valid.min()}..{valid.max()}")
    else:
        valid = y[batch.mask] if spec.readout == "every_step" else y
        if y.dtype not in (np.float32, np.float64) or not np.isfinite(valid).all():
            _fail(task, f"{where}: targets must be finite floats on valid steps, got {y.dtype}")


def check_train_batches(task: Task, spec: ModelSpec, batch_size: int, seed: int,
                        max_batches: int = 3) -> list[Batch]:
    """Epoch 0's batches: sized and indexable, each valid, resets as the task's statefulness says.

    Returns:
        The batches that were checked (the first ``max_batches`` and the last).
    """
    if isinstance(spec, Seq2SeqSpec):
        return seq2seqcheck.check_pair_batches(task, spec, batch_size, seed, max_batches)
    batches = task.train_batches(0, batch_size, seed)
    count = len(batches)
    if count < 1:
        _fail(task, "train_batches(epoch=0) is empty")
    picked = sorted({*range(min(max_batches, count)), count - 1})
    checked = []
    for i in picked:
        batch = batches[i]
        check_batch(task, spec, batch, batch_size, f"train batch {i}")
        if spec.stateful and i == 0 and not batch.reset.all():
            _fail(task, "a stateful task's first batch of an epoch must reset every row")
        if not spec.stateful and not batch.reset.all():
            _fail(task, f"train batch {i}: reset must be all True for a task that is not "
                        "stateful (each row is a new sequence)")
        if spec.stateful and batch.batch_size != batches[0].batch_size:
            _fail(task, f"train batch {i} has {batch.batch_size} rows but batch 0 has "
                        f"{batches[0].batch_size}; a stateful task carries rows across batches")
        checked.append(batch)
    return checked


def assert_same_batches(task: Task, got: list[Batch], expected: list[Batch], what: str) -> None:
    if expected and isinstance(expected[0], Seq2SeqBatch):
        seq2seqcheck.same_pairs(task, got, expected, what)
        return
    if len(got) != len(expected):
        _fail(task, f"{what}: {len(got)} batches, expected {len(expected)}")
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        for name in ("inputs", "targets", "mask", "reset"):
            if not np.array_equal(getattr(a, name), getattr(b, name)):
                _fail(task, f"{what}: batch {i} {name} differ")


def _pick(task: Task, epoch: int, batch_size: int, seed: int, max_batches: int) -> list[Batch]:
    batches = task.train_batches(epoch, batch_size, seed)
    return [batches[i] for i in sorted({*range(min(max_batches, len(batches))), len(batches) - 1})]


def check_determinism(make_task: Callable[[], Task], batch_size: int, seed: int,
                      max_batches: int = 3) -> None:
    """Same ``(epoch, batch_size, seed)`` -> the same batches, on one instance and on a new one.

    A resumed run builds a new task and asks for the epoch it stopped in; it must get the
    very batches it was training on.
    """
    first = make_task()
    first.prepare()
    second = make_task()
    second.prepare()
    for epoch in (0, 1):
        expected = _pick(first, epoch, batch_size, seed, max_batches)
        assert_same_batches(first, _pick(first, epoch, batch_size, seed, max_batches), expected,
                            f"asking twice for epoch {epoch}")
        assert_same_batches(first, _pick(second, epoch, batch_size, seed, max_batches), expected,
                            f"a second instance's epoch {epoch}")


def _json_round_trip(task: Task, state: Any) -> Any:
    try:
        return json.loads(json.dumps(state))
    except (TypeError, ValueError) as exc:
        _fail(task, f"state_dict() is not JSON-serialisable: {exc}")


def same_spec(a: ModelSpec, b: ModelSpec) -> bool:
    """Field by field, arrays (``class_frequencies``) by value."""
    return all(np.array_equal(np.asarray(x), np.asarray(y)) if isinstance(x, np.ndarray)
               or isinstance(y, np.ndarray) else x == y
               for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True))


def check_state_round_trip(make_task: Callable[[], Task], batch_size: int, seed: int,
                           max_batches: int = 3) -> None:
    """``state_dict`` survives JSON, and ``prepare(state)`` rebuilds the same task.

    Same ModelSpec, same state_dict, same batches: what a checkpoint needs so that a resumed or
    evaluated run sees the training-time vocabulary or scaler.
    """
    original = make_task()
    spec = original.prepare()
    saved = _json_round_trip(original, original.state_dict())
    restored = make_task()
    spec_again = restored.prepare(state=saved)
    if not same_spec(spec_again, spec):
        _fail(original, f"prepare(state) gave {spec_again}, but the original gave {spec}")
    if _json_round_trip(restored, restored.state_dict()) != saved:
        _fail(original, "state_dict() after prepare(state) differs from the state it was given")
    assert_same_batches(original, _pick(restored, 0, batch_size, seed, max_batches),
                        _pick(original, 0, batch_size, seed, max_batches),
                        "batches after prepare(state)")


def _check_metrics(task: Task, metrics: Any, what: str, require: str | None) -> None:
    if not isinstance(metrics, dict) or not metrics:
        _fail(task, f"{what} returned {metrics!r}; expected a non-empty dict of floats")
    for key, value in metrics.items():
        if not isinstance(key, str) or not isinstance(value, (float, int, np.floating)):
            _fail(task, f"{what}: {key!r} -> {value!r} is not a name -> float entry")
        if not math.isfinite(float(value)):
            _fail(task, f"{what}: {key} is {value}, not finite")
    if require is not None and require not in metrics:
        _fail(task, f"{what} has no {require!r} (the task's `metric`, which early stopping "
                    f"watches); it has {sorted(metrics)}")


def check_predictor_calls(task: Task, spec: ModelSpec, predictor: FunctionPredictor,
                          what: str) -> None:
    """What the task handed the predictor fits the model: (B, T, D) inputs ((B, T) ids for
    token inputs), (B, T) masks."""
    if not predictor.calls:
        _fail(task, f"{what} never called predictor.predict")
    for shape, mask_shape, _ in predictor.calls:
        if spec.tokens and len(shape) != 2:
            _fail(task, f"{what} passed inputs of shape {shape}; the task declares token "
                        f"inputs, so expected ids (B, T)")
        if not spec.tokens and (len(shape) != 3 or shape[2] != spec.input_size):
            _fail(task, f"{what} passed inputs of shape {shape}; expected (B, T, "
                        f"{spec.input_size})")
        if mask_shape is not None and tuple(mask_shape) != tuple(shape[:2]):
            _fail(task, f"{what} passed a mask of shape {mask_shape} with inputs {shape}")


def check_evaluate(task: Task, spec: ModelSpec) -> None:
    """Every split evaluates with a constant predictor to finite metrics including ``metric``."""
    if isinstance(spec, Seq2SeqSpec):
        seq2seqcheck.check_pair_evaluate(task, spec, _check_metrics)
        return
    for split in task.splits():
        predictor = ConstantPredictor(spec)
        metrics = task.evaluate(predictor, split)
        _check_metrics(task, metrics, f"evaluate(split={split!r})", task.metric)
        check_predictor_calls(task, spec, predictor, f"evaluate(split={split!r})")


def check_baselines(task: Task) -> None:
    for split in task.splits():
        baselines = task.baselines(split)
        if not isinstance(baselines, dict):
            _fail(task, f"baselines({split!r}) returned {type(baselines).__name__}, not a dict")
        for name, metrics in baselines.items():
            _check_metrics(task, metrics, f"baseline {name!r} on {split}", None)


def check_metric_cases(task: Task, cases: list[MetricCase]) -> None:
    """Hand-computed expectations: each case's metrics match within its tolerance."""
    for i, case in enumerate(cases):
        metrics = task.evaluate(case.predictor, case.split)
        for name, expected in case.expected.items():
            if name not in metrics:
                _fail(task, f"metric case {i}: evaluate gave no {name!r} (got {sorted(metrics)})")
            if not math.isclose(float(metrics[name]), expected, rel_tol=case.rel,
                                abs_tol=case.abs):
                note = f" ({case.note})" if case.note else ""
                _fail(task, f"metric case {i}{note}: {name} = {metrics[name]!r} on "
                            f"{case.split}, expected {expected!r}")


def check_artefacts(task: Task, spec: ModelSpec, run_dir: Path) -> None:
    """``write_artefacts`` returns paths of files it wrote inside the run directory."""
    stand_in = seq2seqcheck.EchoTranslator(spec) if isinstance(spec, Seq2SeqSpec) else \
        ConstantPredictor(spec)
    paths = task.write_artefacts(stand_in, Path(run_dir))
    if not isinstance(paths, list):
        _fail(task, f"write_artefacts returned {type(paths).__name__}, not a list of paths")
    root = Path(run_dir).resolve()
    for path in paths:
        path = Path(path)
        if not path.is_file():
            _fail(task, f"write_artefacts listed {path}, which is not a file")
        if root not in path.resolve().parents:
            _fail(task, f"write_artefacts wrote {path} outside the run directory {run_dir}")


def check_member_options(task: Task) -> None:
    """``member_options``: declared options only, and member 0's equal the task's own.

    Member 0 of ``--ensemble`` must be the single run of the same config, and every member must
    build from the same ``-o`` table (see :mod:`seqframe.runs.ensemble`). Passes trivially for a
    task without the :class:`~seqframe.task.EnsembleAware` capability.
    """
    if not isinstance(task, EnsembleAware):
        return
    declared = {opt.name for opt in task.options}
    for member in range(3):
        changes = task.member_options(member)
        if not isinstance(changes, dict):
            _fail(task, f"member_options({member}) returned {changes!r}; expected a dict")
        unknown = sorted(set(changes) - declared)
        if unknown:
            _fail(task, f"member_options({member}) sets {unknown}, which are not its options")
        if member == 0 and any(task.opts[k] != v for k, v in changes.items()):
            _fail(task, f"member_options(0) = {changes} changes the task's own options "
                        f"{ {k: task.opts[k] for k in changes} }; member 0 must be the plain run")


def check_task(task_cls: type[Task], options: dict | None = None, data: str | None = None, *,
               batch_size: int = 4, seed: int = 0, metric_cases=None,
               run_dir: Path | None = None, max_batches: int = 3) -> None:
    """Every task check in one call; raises one AssertionError listing what failed.

    Args:
        task_cls: the Task subclass under test.
        options, data: what ``-o`` and ``--data`` would pass.
        metric_cases: a callable ``task -> list[MetricCase]`` given the prepared task.
        run_dir: where ``write_artefacts`` may write (skipped when None).
    """
    from ._common import collect

    def make() -> Task:
        return task_cls(options=dict(options or {}), data=data)

    task = make()
    spec = task.prepare()
    checks = [
        ("class", lambda: check_task_class(task_cls)),
        ("model spec", lambda: check_model_spec(task, spec)),
        ("train batches", lambda: check_train_batches(task, spec, batch_size, seed, max_batches)),
        ("determinism", lambda: check_determinism(make, batch_size, seed, max_batches)),
        ("state round trip", lambda: check_state_round_trip(make, batch_size, seed, max_batches)),
        ("evaluate", lambda: check_evaluate(task, spec)),
        ("baselines", lambda: check_baselines(task)),
        ("member options", lambda: check_member_options(task)),
    ]
    if metric_cases is not None:
        checks.append(("metric cases", lambda: check_metric_cases(task, metric_cases(task))))
    if run_dir is not None:
        checks.append(("artefacts", lambda: check_artefacts(task, spec, run_dir)))
    collect(checks)
