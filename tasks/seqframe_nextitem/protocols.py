"""Evaluation protocols: which items a model trains on and which next items it is asked for.

**Leave-one-out by time** (``-o protocol=loo``; SASRec, Kang & McAuley 2018). Per user, the last
item is the test target, the second-last the validation target, the rest is training. A test
question's history is everything before the last item (the validation item included); a
validation question's, everything before the second-last. Users with fewer than 3 interactions
are used for training only.

**Sessions split by time** (``-o protocol=session``; GRU4Rec, Hidasi et al. 2016). Sessions are
a user's runs of events no more than ``session_gap`` seconds apart (or, with ``-o session=COL``,
a user's events sharing a session id); sessions of one event are dropped (no next item). Sessions
are ordered by the time of their last event: the latest ``test_fraction`` of them are the test
sessions, the ``val_fraction`` before those the validation sessions, the rest training -- a cut
in time, with sessions ending at the same moment kept on the same side. As in GRU4Rec, events of
validation/test sessions whose item never occurs in a training session are removed (no model can
know them), and sessions left with one event are dropped. Every next item of a validation/test
session is a question, its history the session so far.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqframe.errors import ConfigError, DataError

from .sequences import Sequences

SPLITS = ("val", "test")


@dataclass
class Cases:
    """Next-item questions that cut sequences: history ``sequences[s][:p]``, target ``[p]``.

    Attributes:
        sequences: the sequences cut (users' whole sequences, or sessions).
        seq: (C,) int64 index into ``sequences`` of each question.
        cut: (C,) int64 position ``p >= 1`` of each question's target.
    """

    sequences: list[np.ndarray]
    seq: np.ndarray
    cut: np.ndarray

    def __len__(self) -> int:
        return len(self.seq)

    @property
    def targets(self) -> np.ndarray:
        return np.array([self.sequences[s][p] for s, p in zip(self.seq, self.cut, strict=True)],
                        dtype=np.int64)

    def histories(self, rows: slice | np.ndarray | None = None) -> list[np.ndarray]:
        """The histories of the questions ``rows`` (all by default); views, not copies."""
        index = np.arange(len(self))[rows if rows is not None else slice(None)]
        return [self.sequences[self.seq[c]][: self.cut[c]] for c in index]

    def interacted(self) -> list[np.ndarray]:
        """Per question, every item of the sequence it cuts (what sampled negatives avoid)."""
        return [self.sequences[s] for s in self.seq]


@dataclass
class Protocol:
    """Training sequences and the validation/test questions of one protocol."""

    name: str
    train: list[np.ndarray]
    cases: dict[str, Cases]
    report: dict


def leave_one_out(seqs: Sequences) -> Protocol:
    """SASRec's split (see the module docstring)."""
    longest = max(len(s) for s in seqs.items)
    if longest < 3:
        raise DataError(
            f"no user has 3 or more interactions (the most any user has is {longest}); "
            "leave-one-out holds out each user's last two items for validation and test and "
            "needs one more to train on. Use data with longer user histories."
        )
    evaluated = np.array([s for s, items in enumerate(seqs.items) if len(items) >= 3])
    lengths = np.array([len(seqs.items[s]) for s in evaluated])
    train = [items[:-2] if len(items) >= 3 else items for items in seqs.items]
    cases = {"val": Cases(seqs.items, evaluated, lengths - 2),
             "test": Cases(seqs.items, evaluated, lengths - 1)}
    report = {"protocol": "loo", "evaluated_users": len(evaluated),
              "train_only_users": len(seqs.items) - len(evaluated)}
    return Protocol("loo", train, cases, report)


def _user_sessions(items: np.ndarray, times: np.ndarray, ids: np.ndarray | None,
                   gap: float) -> list[tuple[np.ndarray, float]]:
    """(items, last time) of each session of one user, in time order."""
    if ids is None:
        parts = np.split(np.arange(len(items)), np.flatnonzero(np.diff(times) > gap) + 1)
    else:
        _, first, code = np.unique(ids, return_index=True, return_inverse=True)
        parts = [np.flatnonzero(code == c) for c in np.argsort(first, kind="stable")]
    return [(items[p], float(times[p].max())) for p in parts]


def _cut(ends: np.ndarray, count: int) -> float:
    """The end time from which on the latest ``count`` sessions lie (more when tied)."""
    ordered = np.sort(ends)
    return float(ordered[max(0, len(ordered) - count)])


def _known_only(sessions: list[np.ndarray], known: np.ndarray) -> tuple[list[np.ndarray], int]:
    kept = [s[known[s]] for s in sessions]
    removed = sum(len(s) for s in sessions) - sum(len(s) for s in kept)
    return [s for s in kept if len(s) >= 2], removed


def _check_session_options(seqs: Sequences, gap: float, val_fraction: float,
                           test_fraction: float) -> None:
    if seqs.times is None:
        raise DataError(
            "the session protocol splits sessions by time, but this data has no event times "
            "(a SASRec 'user item' file, or a table without a time column). Use "
            "-o protocol=loo, or data with times (-o time=COLUMN)."
        )
    if gap <= 0 or not (0 < val_fraction < 1 and 0 < test_fraction < 1
                        and val_fraction + test_fraction < 1):
        raise ConfigError(
            f"the session protocol needs session_gap > 0, 0 < val_fraction, test_fraction < 1 "
            f"and val_fraction + test_fraction < 1; got session_gap={gap}, "
            f"val_fraction={val_fraction}, test_fraction={test_fraction}."
        )


def _split_in_time(sessions: list[tuple[np.ndarray, float]], val_fraction: float,
                   test_fraction: float) -> dict[str, list[np.ndarray]]:
    """Train / val / test sessions, cut at two moments of their end times."""
    ends = np.array([end for _, end in sessions])
    t_test = _cut(ends, max(1, round(test_fraction * len(ends))))
    rest = ends[ends < t_test]
    t_val = _cut(rest, max(1, round(val_fraction * len(ends)))) if len(rest) else t_test
    return {"train": [s for s, e in sessions if e < t_val],
            "val": [s for s, e in sessions if t_val <= e < t_test],
            "test": [s for s, e in sessions if e >= t_test]}


def _every_next_item(sessions: list[np.ndarray]) -> Cases:
    """One question per next item of each session: cuts 1..L-1."""
    lengths = np.array([len(s) for s in sessions])
    seq = np.repeat(np.arange(len(lengths)), lengths - 1)  # (C,)
    starts = np.cumsum(lengths - 1) - (lengths - 1)
    cut = np.arange(len(seq)) - np.repeat(starts, lengths - 1) + 1  # (C,)
    return Cases(sessions, seq, cut)


def sessions_by_time(seqs: Sequences, n_items: int, gap: float, val_fraction: float,
                     test_fraction: float) -> Protocol:
    """GRU4Rec-style session split (see the module docstring)."""
    _check_session_options(seqs, gap, val_fraction, test_fraction)
    found = []
    for u, items in enumerate(seqs.items):
        ids = seqs.sessions[u] if seqs.sessions is not None else None
        found += _user_sessions(items, seqs.times[u], ids, gap)
    sessions = [(s, end) for s, end in found if len(s) >= 2]
    if len(sessions) < 3:
        raise DataError(
            f"the data has {len(sessions)} session(s) of 2 or more events (sessions split at "
            f"gaps over {gap:g} s); the session protocol needs training, validation and test "
            "sessions. Raise -o session_gap, or use -o protocol=loo."
        )
    parts = _split_in_time(sessions, val_fraction, test_fraction)
    known = np.zeros(n_items + 1, dtype=bool)
    known[np.concatenate(parts["train"] or [np.zeros(0, np.int64)])] = True
    report = {"protocol": "session", "sessions_found": len(found),
              "single_event_sessions_dropped": len(found) - len(sessions)}
    for split in SPLITS:
        parts[split], removed = _known_only(parts[split], known)
        report[f"{split}_events_of_unseen_items_removed"] = removed
    empty = [name for name, part in parts.items() if not part]
    if empty:
        raise DataError(
            f"the session split left no {empty[0]} sessions ({len(sessions)} sessions of 2+ "
            f"events; val_fraction={val_fraction}, test_fraction={test_fraction}). Use more "
            "data, other fractions or another -o session_gap."
        )
    report.update({f"{k}_sessions": len(v) for k, v in parts.items()})
    cases = {split: _every_next_item(parts[split]) for split in SPLITS}
    report.update({f"{split}_questions": len(cases[split]) for split in SPLITS})
    return Protocol("session", parts["train"], cases, report)
