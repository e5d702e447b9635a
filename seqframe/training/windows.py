"""Cutting mini-batches into truncated-BPTT windows and accumulation micro-batches (host side).

With forward stride ``k1`` and backprop length ``k2 >= k1`` a batch of ``T`` steps becomes the
windows ``[s, s + k1)`` for ``s = 0, k1, 2*k1, ...``. Each is run from its *look-back start*
``max(0, s - (k2 - k1))`` so gradients reach ``k2`` steps back, with no loss on the look-back
steps (``loss_from``). The state carried to the next window is the one at the next window's
look-back start, which always lies inside the current run (``carry_at``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..task import Batch


@dataclass(frozen=True)
class Span:
    """One window of a batch, in batch time steps.

    Attributes:
        back: look-back start, where the run (and its incoming state) begins.
        start: first step that carries loss (``loss_from = start - back``).
        stop: one past the last step.
        carry_at: steps after ``back`` whose state the next window needs; None means the end
            (the last window, whose final state goes to the next batch).
    """

    back: int
    start: int
    stop: int
    carry_at: int | None

    @property
    def loss_from(self) -> int:
        return self.start - self.back


def plan_windows(length: int, k1: int, k2: int) -> list[Span]:
    """The windows of a batch of ``length`` steps for stride ``k1`` and backprop length ``k2``."""
    assert 1 <= k1 <= k2, (k1, k2)
    extra = k2 - k1
    starts = list(range(0, max(length, 1), k1))
    spans = []
    for i, start in enumerate(starts):
        stop = min(start + k1, length)
        back = max(0, start - extra)
        carry_at = None
        if i + 1 < len(starts):
            carry_at = max(0, stop - extra) - back
            if carry_at == stop - back:
                carry_at = None  # the end of the run: the default
        spans.append(Span(back, start, stop, carry_at))
    return spans


def time_slice(batch: Batch, span: Span, whole: bool) -> Batch:
    """Steps ``span.back:span.stop`` of ``batch``; the row resets apply only at step 0."""
    if whole:
        return batch
    cut = slice(span.back, span.stop)
    targets = batch.targets[:, cut] if batch.targets.ndim >= 2 else batch.targets
    reset = batch.reset if span.back == 0 else np.zeros_like(batch.reset)
    return Batch(batch.inputs[:, cut], targets, batch.mask[:, cut], reset)


def micro_batches(rows: int, accumulate: int, most: int | None = None) -> list[tuple[int, int]]:
    """Row ranges of ``accumulate`` near-equal micro-batches of ``rows`` rows.

    Fewer parts when there are fewer rows than ``accumulate``: at most ``most`` (default
    ``rows``). Data-parallel ranks pass their largest shard as ``most``, so every rank splits
    into as many micro-batches as the others (some maybe empty) and they meet in step.
    """
    parts = max(1, min(accumulate, rows if most is None else most))
    edges = np.linspace(0, rows, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def stride(length: int, bptt: int, whole: bool) -> int:
    """k1, the steps per window of a batch of ``length`` steps: ``bptt``, or the whole batch
    (``bptt`` 0, or a model that must read each sequence whole)."""
    return length if whole or bptt == 0 else bptt


def windows_per_batch(length: int, k1: int) -> int:
    return max(1, math.ceil(length / k1))


def total_steps(config: Any, task: Any, data_seed: int, whole: bool) -> int | None:
    """Optimizer steps the run will take (``--steps``, or epochs x windows per epoch).

    The epoch count is estimated from epoch 0's batches; it sizes the progress bar and the cosine
    schedule. Returns None when a task yields no batches.
    """
    if config.steps is not None:
        return config.steps
    batches = task.train_batches(0, config.batch_size, data_seed)
    per_epoch = 0
    for i in range(len(batches)):
        length = batches[i].length
        per_epoch += windows_per_batch(length, stride(length, config.bptt, whole))
    return per_epoch * (config.epochs or 1) or None


EVALUATIONS = 20  # validations a run gets when the user does not choose a cadence


def evaluation_interval(config: Any, total: int | None) -> int:
    """Optimizer steps between validations; 0 means once per epoch.

    ``--eval-every N`` is used as given. Without it (``eval_every`` unset), a run gets about
    :data:`EVALUATIONS` validations, enough points for its curves and for early stopping to act
    on: a run of at least that many epochs validates once per epoch (as it always did, so
    ``--patience`` still counts epochs there); a shorter one -- a ``--steps`` run, or a few
    epochs -- every ``ceil(total / 20)`` steps. A run whose length is unknown validates once per
    epoch. Every run also validates when it stops.
    """
    if config.eval_every is not None:
        return config.eval_every
    if config.steps is None and (config.epochs or 1) >= EVALUATIONS:
        return 0
    if not total:
        return 0
    return max(1, math.ceil(total / EVALUATIONS))


def describe_interval(config: Any, every: int, total: int | None) -> str:
    """The validation cadence in words, for the run's log."""
    chosen = "" if config.eval_every is None else " (--eval-every)"
    if every == 0:
        return f"validating once per epoch{chosen}"
    count = f", {math.ceil(total / every)} validations" if total else ""
    return f"validating every {every} steps{count}{chosen}"
