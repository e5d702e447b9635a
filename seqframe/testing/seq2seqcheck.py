"""The Task contract for encoder-decoder tasks (a :class:`~seqframe.task.Seq2SeqSpec`).

The checks of :mod:`.taskcheck` hand over to these when a task's ``prepare`` returns a
``Seq2SeqSpec``: its batches are :class:`~seqframe.task.Seq2SeqBatch` pairs, and its evaluation
gets a :class:`~seqframe.task.Seq2SeqPredictor`, stood in for by :class:`EchoTranslator`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..task import Seq2SeqBatch, Seq2SeqSpec, Task
from ._common import registered

PAIR_FIELDS = ("source", "source_mask", "target_in", "target_out", "target_mask")


def _fail(task: Any, message: str) -> None:
    raise AssertionError(f"task {getattr(task, 'name', type(task).__name__)!r}: {message}")


class EchoTranslator:
    """A stand-in encoder-decoder: uniform scores, and every translation is ``<eos>`` alone.

    Attributes:
        calls: ``("logits", batch shape)`` and ``("translate", source shape, beam, budgets)`` of
            each call, in order.
    """

    def __init__(self, spec: Seq2SeqSpec):
        self.spec = spec
        self.calls: list[tuple] = []

    def logits(self, batch: Seq2SeqBatch) -> np.ndarray:
        self.calls.append(("logits", batch.target_in.shape))
        return np.zeros((*batch.target_in.shape, self.spec.target_vocab))  # (B, T, V)

    def translate(self, source, source_mask, *, beam, max_len, length_penalty=1.0):
        self.calls.append(("translate", np.shape(source), beam, np.asarray(max_len)))
        return [[self.spec.eos_id] for _ in range(len(source))]


def check_seq2seq_spec(task: Task, spec: Seq2SeqSpec) -> None:
    for name in ("source_vocab", "target_vocab", "max_len"):
        value = getattr(spec, name)
        if not isinstance(value, (int, np.integer)) or value < 1:
            _fail(task, f"Seq2SeqSpec.{name} is {value!r}; expected a positive integer")
    ids = {"pad_id": spec.pad_id, "bos_id": spec.bos_id, "eos_id": spec.eos_id}
    if len(set(ids.values())) != 3 or not all(0 <= v < min(spec.source_vocab, spec.target_vocab)
                                              for v in ids.values()):
        _fail(task, f"Seq2SeqSpec special ids {ids} must differ and lie in both vocabularies")
    losses = registered("loss")
    for name in (spec.loss, *spec.losses):
        if name not in losses:
            _fail(task, f"Seq2SeqSpec names loss {name!r}, which no plugin registers")
    if spec.class_frequencies is not None and len(spec.class_frequencies) != spec.target_vocab:
        _fail(task, f"Seq2SeqSpec.class_frequencies has {len(spec.class_frequencies)} entries "
                    f"for a target vocabulary of {spec.target_vocab}")


def _prefix(mask: np.ndarray) -> bool:
    lengths = mask.sum(axis=1)
    return bool((mask == (np.arange(mask.shape[1])[None, :] < lengths[:, None])).all())


def check_pair_batch(task: Task, spec: Seq2SeqSpec, batch: Any, batch_size: int,
                     where: str) -> None:
    """One batch against the Seq2SeqBatch contract."""
    if not isinstance(batch, Seq2SeqBatch):
        _fail(task, f"{where} is a {type(batch).__name__}, not a seqframe.task.Seq2SeqBatch")
    rows = batch.source.shape[0] if np.ndim(batch.source) == 2 else -1
    if not 1 <= rows <= batch_size:
        _fail(task, f"{where}: source has shape {np.shape(batch.source)}; expected (B, S) with "
                    f"1 <= B <= {batch_size}")
    for name in PAIR_FIELDS:
        arr = getattr(batch, name)
        kind = np.bool_ if name.endswith("mask") else np.int64
        if not isinstance(arr, np.ndarray) or arr.dtype != kind or arr.ndim != 2 \
                or arr.shape[0] != rows:
            _fail(task, f"{where}: {name} is {getattr(arr, 'dtype', type(arr).__name__)} "
                        f"{np.shape(arr)}; expected {np.dtype(kind).name} (B={rows}, L)")
    if batch.source_mask.shape != batch.source.shape or not (
            batch.target_in.shape == batch.target_out.shape == batch.target_mask.shape):
        _fail(task, f"{where}: masks must match their ids: source {batch.source.shape} / "
                    f"{batch.source_mask.shape}, targets {batch.target_in.shape}, "
                    f"{batch.target_out.shape}, {batch.target_mask.shape}")
    for name in ("source_mask", "target_mask"):
        mask = getattr(batch, name)
        if not mask[:, 0].all() or not _prefix(mask):
            _fail(task, f"{where}: {name} must be a prefix mask with at least one real "
                        "position per row (padding at the end)")
    for name, vocab in (("source", spec.source_vocab), ("target_in", spec.target_vocab),
                        ("target_out", spec.target_vocab)):
        arr = getattr(batch, name)
        if arr.min() < 0 or arr.max() >= vocab:
            _fail(task, f"{where}: {name} ids must lie in [0, {vocab}); got "
                        f"{arr.min()}..{arr.max()}")
    if not (batch.target_in[:, 0] == spec.bos_id).all():
        _fail(task, f"{where}: every target_in row must start with <bos> ({spec.bos_id})")
    if not (batch.target_in[:, 1:] == batch.target_out[:, :-1])[batch.target_mask[:, 1:]].all():
        _fail(task, f"{where}: target_in must be target_out shifted right by one (teacher "
                    "forcing)")


def check_pair_batches(task: Task, spec: Seq2SeqSpec, batch_size: int, seed: int,
                       max_batches: int = 3) -> list[Seq2SeqBatch]:
    """Epoch 0's batches, sized and indexable, each valid; returns the ones checked."""
    batches = task.train_batches(0, batch_size, seed)
    if len(batches) < 1:
        _fail(task, "train_batches(epoch=0) is empty")
    picked = sorted({*range(min(max_batches, len(batches))), len(batches) - 1})
    for i in picked:
        check_pair_batch(task, spec, batches[i], batch_size, f"train batch {i}")
    return [batches[i] for i in picked]


def same_pairs(task: Task, got: list, expected: list, what: str) -> None:
    if len(got) != len(expected):
        _fail(task, f"{what}: {len(got)} batches, expected {len(expected)}")
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        for name in PAIR_FIELDS:
            if not np.array_equal(getattr(a, name), getattr(b, name)):
                _fail(task, f"{what}: batch {i} {name} differ")


def check_pair_evaluate(task: Task, spec: Seq2SeqSpec, check_metrics) -> None:
    """Every split evaluates with :class:`EchoTranslator` to finite metrics with ``metric``;
    the task asked for teacher-forced scores and translations of its pairs."""
    for split in task.splits():
        predictor = EchoTranslator(spec)
        check_metrics(task, task.evaluate(predictor, split), f"evaluate(split={split!r})",
                      task.metric)
        kinds = {call[0] for call in predictor.calls}
        if not kinds:
            _fail(task, f"evaluate(split={split!r}) never called the predictor")
        for call in predictor.calls:
            if call[0] == "translate" and (np.any(call[3] < 1) or call[2] < 1):
                _fail(task, f"evaluate(split={split!r}) asked for beam {call[2]} and budgets "
                            f"{call[3]}; both must be at least 1")


def core_takes(spec: Seq2SeqSpec, batch: Seq2SeqBatch) -> None:
    """seqframe's encoder-decoder trains one window on ``batch`` (a tiny model, NumPy)."""
    from ..cells import GRUCell
    from ..engine.seq2seq import Seq2SeqConfig, Seq2SeqModel
    from ._common import reference_ops

    ops = reference_ops("float32")
    model = Seq2SeqModel(Seq2SeqConfig("gru", spec.source_vocab, spec.target_vocab, 4, 4,
                                       padding_id=spec.pad_id, bos_id=spec.bos_id,
                                       eos_id=spec.eos_id), GRUCell())
    params = {k: ops.asarray(v) for k, v in model.init_params(0).items()}
    model.window_loss_and_grad(ops, params, batch, None)
