"""Bad input through the CLI: exit code 2 and a message that says what and where."""

from __future__ import annotations

import json

from seqframe_nextitem.task import NextItemTask

HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"


def test_unknown_column(run_error, tiny_inter):
    err = run_error(tiny_inter, "-o", "user=uid")
    assert ("has no column 'uid' (for the user); its columns are user_id, item_id, rating, "
            "timestamp. Name the right one with -o user=COLUMN") in err


def test_non_integer_id(run_error, write):
    path = write("bad.inter", HEADER + "1\t10\t3\t1\n1\tabc\t3\t2\n")
    err = run_error(path)
    assert "bad.inter, line 3: the item id is 'abc', not an integer" in err
    assert "-o ids=token" in err


def test_missing_id(run_error, write):
    path = write("gap.csv", "user_id,item_id,timestamp\n1,10,1\n,11,2\n")
    assert "gap.csv, line 3: the user id is missing" in run_error(path)


def test_missing_time(run_error, write):
    path = write("gap.csv", "user_id,item_id,timestamp\n1,10,1\n1,11,\n")
    assert "gap.csv, line 3: the time is missing" in run_error(path)


def test_no_user_with_three_interactions(run_error, write):
    path = write("short.inter", HEADER + "1\t10\t3\t1\n1\t11\t3\t2\n2\t10\t3\t1\n")
    err = run_error(path)
    assert "no user has 3 or more interactions (the most any user has is 2)" in err


def test_sasrec_times_out_of_order(run_error, write):
    path = write("data.txt", "1 10 100\n1 11 200\n1 12 150\n")
    err = run_error(path)
    assert ("data.txt, line 3: user 1's time 150 is earlier than the 200 of the same user's "
            "previous event (line 2)") in err


def test_wrong_field_count_and_unknown_format(run_error, write):
    err = run_error(write("u.data", "1\t10\t3\t100\n1\t11\t3\n"))
    assert "u.data, line 2: 3 field(s); expected 4 (user_id, item_id, rating, timestamp)" in err
    assert "cannot tell the format of" in run_error(write("log.xyz", "1 2\n"))
    assert "is not a file, a folder, the built-in 'synthetic'" in run_error("nowhere.inter")


def test_session_protocol_without_times(run_error, write):
    path = write("data.txt", "1 10\n1 11\n1 12\n")
    err = run_error(path, "-o", "protocol=session")
    assert "the session protocol splits sessions by time, but this data has no event times" in err


def test_bad_option_values(run_error, tiny_inter):
    assert "option 'max_len' must be 1 or more, got 0" in run_error(tiny_inter, "-o",
                                                                    "max_len=0")
    assert "must be one of loo, session" in run_error(tiny_inter, "-o", "protocol=seq")


def test_duplicated_rows_are_dropped_and_counted(write, tmp_path, sf):
    body = "1\t10\t3\t1\n1\t11\t3\t2\n1\t10\t5\t1\n1\t12\t3\t3\n1\t12\t3\t3\n1\t13\t3\t4\n"
    path = write("dup.inter", HEADER + body)
    task = NextItemTask({}, str(path))
    notes: list[str] = []
    task.log = notes.append  # the task's log (the runner points it at the run's log)
    task.prepare()
    assert any("dup.inter: dropped 2 duplicated (user, item, time) row(s)" in n for n in notes)
    assert task.protocol.cases["test"].sequences[0].tolist() == [1, 2, 3, 4]
    code, _, err = sf("run", "--task", "nextitem", "--data", str(path), "--steps", "1",
                      "--quiet", "--out", str(tmp_path / "run"), "-o", "baselines=false")
    assert code == 0, err
    report = json.loads((tmp_path / "run" / "data.json").read_text())
    assert (report["events_read"], report["duplicates_dropped"], report["events"]) == (6, 2, 4)


def test_session_split_with_nothing_to_train_on(run_error, write):
    # three sessions ending at the same moment: a cut in time cannot separate them
    path = write("same.csv", "user_id,item_id,timestamp\n1,1,0\n1,2,5\n2,1,0\n2,2,5\n"
                             "3,2,0\n3,1,5\n")
    err = run_error(path, "-o", "protocol=session")
    assert "the session split left no train sessions (3 sessions of 2+ events" in err
