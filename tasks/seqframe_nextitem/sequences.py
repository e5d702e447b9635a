"""From events to per-user item sequences: item ids remapped to 1..N, time order, duplicates.

* **Item ids** are remapped to ``1..N`` in the order of the raw ids (numeric for integer ids, so
  MovieLens' 1..1682 keep their numbers); ``0`` is reserved for padding. The catalogue is every
  item of the file.
* **Order** within a user: by time, ties in file order; without times, file order.
* **Duplicated (user, item, time) rows** are dropped (the first is kept) and counted in the log
  and in ``data.json``. Without times nothing is a duplicate: a repeated ``user item`` line of a
  SASRec file is a repeated consumption.
* **SASRec files with a time column**: the format promises that file order is time order within
  a user, so a time that goes back is an error naming both lines, never silently re-sorted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqframe.errors import DataError

from .readers import Interactions


@dataclass
class Catalogue:
    """The items: internal id ``i`` (1..N) is raw id ``raw[i - 1]``; titles where known."""

    raw: list[Any]
    titles: list[str | None]

    def __post_init__(self) -> None:
        self.index = {key: i + 1 for i, key in enumerate(self.raw)}

    @property
    def size(self) -> int:
        return len(self.raw)

    def encode(self, history: list[Any], ids: str) -> tuple[np.ndarray, list[Any]]:
        """Raw ids -> internal ids; also the raw ids that are not in the catalogue."""
        keys = [_key(v, ids) for v in history]
        unknown = [h for h, k in zip(history, keys, strict=True) if k not in self.index]
        return np.array([self.index.get(k, 0) for k in keys], dtype=np.int64), unknown


def _key(value: Any, ids: str) -> Any:
    """A history entry as the catalogue's raw ids are kept (int or str); unmatched as given."""
    if ids == "token":
        return str(value).strip()
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        return value


@dataclass
class Sequences:
    """Each user's items (internal ids) in time order, with their times when known.

    Attributes:
        users: (U,) raw user ids.
        items: per user, (L_u,) int64 item ids in 1..N.
        times: per user, (L_u,) float64 times, or None.
        sessions: per user, (L_u,) str session ids (``-o session=COL``), or None.
        report: counts for the log and ``data.json``.
    """

    users: list[Any]
    items: list[np.ndarray]
    times: list[np.ndarray] | None
    sessions: list[np.ndarray] | None
    report: dict[str, Any] = field(default_factory=dict)


def _check_file_order(inter: Interactions, user_code: np.ndarray) -> None:
    """SASRec with times: within a user, times must not decrease in file order."""
    order = np.argsort(user_code, kind="stable")  # per user, file order
    u, t = user_code[order], inter.times[order]
    back = np.flatnonzero((u[1:] == u[:-1]) & (t[1:] < t[:-1]))
    if len(back):
        a, b = order[back[0]], order[back[0] + 1]
        raise DataError(
            f"{inter.where(b)}: user {inter.users[b]}'s time {inter.times[b]:g} is earlier than "
            f"the {inter.times[a]:g} of the same user's previous event ({inter.row_kind} "
            f"{int(inter.rows[a])}). The SASRec format lists each user's events in time order; "
            "sort the file by (user, time), or read it as -o format=csv with a header."
        )


def _duplicates(user_code: np.ndarray, item_code: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(E,) bool, True on every repeat of an earlier (user, item, time) row."""
    order = np.lexsort((np.arange(len(times)), item_code, times, user_code))
    u, i, t = user_code[order], item_code[order], times[order]
    repeat = np.zeros(len(times), dtype=bool)
    repeat[order[1:]] = (u[1:] == u[:-1]) & (i[1:] == i[:-1]) & (t[1:] == t[:-1])
    return repeat


def build(inter: Interactions, titles: dict[Any, str] | None = None,
          log: Callable[[str], None] | None = None) -> tuple[Sequences, Catalogue]:
    """Per-user sequences and the item catalogue from events (see the module docstring);
    ``log`` gets a line when duplicated rows are dropped (the task's log)."""
    if not len(inter.users):
        raise DataError(f"{inter.source} holds no interactions (a header but no rows).")
    raw_users, user_code = np.unique(inter.users, return_inverse=True)
    raw_items, item_code = np.unique(inter.items, return_inverse=True)
    item_code = item_code.astype(np.int64) + 1  # 0 is padding
    report: dict[str, Any] = {"source": inter.source, "events_read": len(user_code)}
    keep = np.ones(len(user_code), dtype=bool)
    if inter.times is not None:
        if inter.file_ordered:
            _check_file_order(inter, user_code)
        keep = ~_duplicates(user_code, item_code, inter.times)
        if not keep.all() and log is not None:
            log(f"{inter.source}: dropped {int((~keep).sum())} duplicated (user, item, time) "
                "row(s), kept the first of each")
    report["duplicates_dropped"] = int((~keep).sum())
    kept = np.flatnonzero(keep)
    time_key = inter.times[kept] if inter.times is not None else np.zeros(len(kept))
    order = kept[np.lexsort((kept, time_key, user_code[kept]))]  # user, time, file order
    bounds = np.flatnonzero(np.diff(user_code[order])) + 1
    parts = np.split(order, bounds)
    seqs = Sequences(
        users=[raw_users[user_code[p[0]]].item() for p in parts],
        items=[item_code[p] for p in parts],
        times=[inter.times[p] for p in parts] if inter.times is not None else None,
        sessions=[inter.sessions[p] for p in parts] if inter.sessions is not None else None,
        report=report,
    )
    raw = [v.item() for v in raw_items]
    catalogue = Catalogue(raw, [(titles or {}).get(r) for r in raw])
    report.update(users=len(parts), items=catalogue.size, events=int(len(order)),
                  titles=sum(t is not None for t in catalogue.titles))
    return seqs, catalogue
