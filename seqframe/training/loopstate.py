"""The training loop's host-side counters: where the data stream stands, the step, the best
metric, the non-finite guard's counts and the accumulators behind each metrics.jsonl record.

All of it goes into every checkpoint as JSON (``dataclasses.asdict``), so changing a field
changes the checkpoint format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cursor:
    """Where the data stream stands: the next window to train on."""

    epoch: int = 0
    batch: int = 0
    window: int = 0


@dataclass
class LoopState:
    """The loop's host-side counters; all of it goes into the checkpoint as JSON."""

    step: int = 0
    cursor: Cursor = field(default_factory=Cursor)
    best: float | None = None
    best_step: int | None = None
    best_val: dict | None = None
    evals_since_best: int = 0
    last_eval_step: int = -1
    lr_scale: float = 1.0  # halved by every non-finite rollback
    loss_sum: float = 0.0  # training loss since the last evaluation (for metrics.jsonl)
    loss_count: float = 0.0
    timesteps: float = 0.0  # valid time steps trained on since the last evaluation
    norm_sum: float = 0.0  # pre-clip gradient norms since the last evaluation
    norm_max: float = 0.0
    steps_since_eval: int = 0
    skipped: int = 0
    consecutive_skips: int = 0
    rollbacks: int = 0
    elapsed: float = 0.0  # seconds this run has been going, over every process
    metrics_size: int = 0
    last: dict = field(default_factory=dict)  # loss, lr, grad_norm of the last step
    finished: bool = False
    stop_reason: str = ""

    def reopen(self) -> None:
        """Let a stopped run train on to a new limit (``--resume DIR --steps N``): it is no
        longer finished, and the patience count starts again."""
        self.finished, self.stop_reason, self.evals_since_best = False, "", 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopState:
        return cls(**{**data, "cursor": Cursor(**data["cursor"])})
