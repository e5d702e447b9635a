"""The training loop's host-side counters: where the data stream stands, the step, the best
metric, the non-finite guard's counts and the accumulators behind each metrics.jsonl record.

All of it goes into every checkpoint as JSON (``dataclasses.asdict``), so changing a field
changes the checkpoint format.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
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
    loss_reference: float | None = None  # the first step's loss (the explode guard's scale)
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopState:
        """Rebuild from :func:`dataclasses.asdict` output; fields a checkpoint written before
        they existed lacks take their defaults.

        Raises:
            TypeError: not a dict, an unknown field, or a value of the wrong type.
        """
        if not isinstance(data, dict) or not isinstance(data.get("cursor"), dict):
            raise TypeError("the loop state is not a table with a cursor")
        cursor = {k: _checked("cursor." + k, v, 0) for k, v in data["cursor"].items()
                  if k in _CURSOR_FIELDS}
        if set(cursor) != _CURSOR_FIELDS or min(cursor.values()) < 0:
            raise TypeError(f"the data cursor {data['cursor']!r} is not three whole numbers >= 0")
        defaults = cls()
        values = {}
        for key, value in data.items():
            if key == "cursor":
                continue
            if key not in _FIELDS:
                raise TypeError(f"unknown loop field {key!r}")
            values[key] = _checked(key, value, getattr(defaults, key))
        if values.get("step", 0) < 0:
            raise TypeError(f"step {values['step']} is negative")
        return cls(**values, cursor=Cursor(**cursor))


_FIELDS = {f.name for f in fields(LoopState)}
_CURSOR_FIELDS = {f.name for f in fields(Cursor)}
_NULLABLE = {"best", "best_step", "best_val", "loss_reference"}


def _checked(key: str, value: Any, default: Any) -> Any:
    """``value`` when it has the type of the field's default (ints accepted for floats)."""
    if value is None and key in _NULLABLE:
        return None
    kind = type(default) if default is not None else (dict if key == "best_val" else
                                                      int if key == "best_step" else float)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"loop field {key!r} is {value!r}, expected {kind.__name__}")
    return value
