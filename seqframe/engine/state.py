"""Nested recurrent states: a tuple over layers of a tuple over directions of cell states.

Helpers that work on every array of such a state at once (slicing rows for micro-batches and
data-parallel shards, stacking them back), whatever the backend.
"""

from __future__ import annotations

from typing import Any

from ..ops import Ops


def map_state(state: Any, fn) -> Any:
    """Apply ``fn`` to every array of a nested tuple state (None stays None)."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return tuple(map_state(s, fn) for s in state)
    return fn(state)


def state_rows(state: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of every (B, H) array of ``state``."""
    return map_state(state, lambda a: a[start:stop])


def concat_states(ops: Ops, states: list[Any]) -> Any:
    """Stack per-chunk states back along the batch axis (the inverse of :func:`state_rows`)."""
    first = states[0]
    if first is None:
        return None
    if isinstance(first, (tuple, list)):
        return tuple(concat_states(ops, [s[i] for s in states]) for i in range(len(first)))
    return ops.concat(list(states), axis=0)


def state_batch_size(state: Any) -> int | None:
    """B of a state (None for no state)."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return state_batch_size(state[0]) if state else None
    return int(state.shape[0])
