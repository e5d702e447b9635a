"""Leave-one-out and session splits on hand-made data."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_nextitem import readers
from seqframe_nextitem.protocols import leave_one_out, sessions_by_time
from seqframe_nextitem.sequences import Sequences, build
from seqframe_nextitem.task import OPTIONS

from seqframe.errors import ConfigError, DataError

DEFAULTS = {opt.name: opt.default for opt in OPTIONS}


def seqs_of(items: list[list[int]], times: list[list[float]] | None = None) -> Sequences:
    return Sequences(list(range(len(items))), [np.array(s) for s in items],
                     None if times is None else [np.array(t, float) for t in times], None)


def test_leave_one_out_holds_out_the_last_two_items():
    p = leave_one_out(seqs_of([[1, 2, 3, 4, 5], [6, 7], [8, 9, 10]]))
    assert [s.tolist() for s in p.train] == [[1, 2, 3], [6, 7], [8]]
    test, val = p.cases["test"], p.cases["val"]
    assert test.targets.tolist() == [5, 10] and val.targets.tolist() == [4, 9]
    assert [h.tolist() for h in test.histories()] == [[1, 2, 3, 4], [8, 9]]
    assert [h.tolist() for h in val.histories()] == [[1, 2, 3], [8]]
    assert [h.tolist() for h in test.interacted()] == [[1, 2, 3, 4, 5], [8, 9, 10]]
    assert p.report["train_only_users"] == 1


def test_leave_one_out_needs_a_user_with_three_items():
    with pytest.raises(DataError, match=r"no user has 3 or more interactions \(the most any "
                                        r"user has is 2\)"):
        leave_one_out(seqs_of([[1, 2], [3]]))


def test_sessions_by_gap_cut_in_time(sessions_csv):
    opts = {**DEFAULTS, "user": "user", "item": "item", "time": "time"}
    seqs, catalogue = build(readers.read(str(sessions_csv), opts))
    p = sessions_by_time(seqs, catalogue.size, 100.0, 0.2, 0.2)
    # sessions by end time: [1 2 3] 20, [2 1] 60, [4 5] 1010, [3 6 2] 2020, [5 4] 3010
    assert sorted(s.tolist() for s in p.train) == [[1, 2, 3], [2, 1], [4, 5]]
    val, test = p.cases["val"], p.cases["test"]
    # item 6 never occurs in training: removed from the validation session
    assert [s.tolist() for s in val.sequences] == [[3, 2]]
    assert p.report["val_events_of_unseen_items_removed"] == 1
    assert test.targets.tolist() == [4] and [h.tolist() for h in test.histories()] == [[5]]


def test_every_next_item_of_a_session_is_a_question():
    times = [[0, 1, 2, 3], [10, 11, 12], [20, 21], [30, 31, 32]]
    items = [[1, 2, 3, 4], [2, 3, 4], [1, 4], [3, 1, 2]]
    p = sessions_by_time(seqs_of(items, times), 4, 5.0, 0.25, 0.25)
    test = p.cases["test"]
    assert [h.tolist() for h in test.histories()] == [[3], [3, 1]]
    assert test.targets.tolist() == [1, 2]
    assert p.cases["val"].targets.tolist() == [4]


def test_sessions_from_a_session_column_and_single_events_dropped():
    seqs = seqs_of([[1, 2, 3, 1, 3, 3, 1]], [[0, 1, 2, 3, 4, 5, 6]])
    seqs.sessions = [np.array(["a", "b", "a", "c", "c", "d", "d"])]
    p = sessions_by_time(seqs, 3, 1e9, 0.3, 0.3)  # the gap is ignored: the column decides
    # a: 1 3 (ends at 2), b: 2 (one event, dropped), c: 1 3 (ends at 4), d: 3 1 (ends at 6)
    assert [s.tolist() for s in p.train] == [[1, 3]]
    assert [s.tolist() for s in p.cases["val"].sequences] == [[1, 3]]
    assert [s.tolist() for s in p.cases["test"].sequences] == [[3, 1]]
    assert p.report["single_event_sessions_dropped"] == 1


def test_session_protocol_needs_times_and_sane_fractions():
    with pytest.raises(DataError, match="no event times"):
        sessions_by_time(seqs_of([[1, 2, 3]]), 3, 10.0, 0.1, 0.1)
    with pytest.raises(ConfigError, match="val_fraction \\+ test_fraction < 1"):
        sessions_by_time(seqs_of([[1, 2]], [[0, 1]]), 2, 10.0, 0.6, 0.5)
    with pytest.raises(DataError, match="1 session\\(s\\) of 2 or more events"):
        sessions_by_time(seqs_of([[1, 2]], [[0, 1]]), 2, 10.0, 0.1, 0.1)
