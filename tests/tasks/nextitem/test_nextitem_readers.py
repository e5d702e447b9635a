"""Every input format gives the same sequences for the same events; MovieLens as published."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from ni_helpers import TINY_EVENTS
from seqframe_nextitem import readers
from seqframe_nextitem.sequences import build
from seqframe_nextitem.task import OPTIONS, NextItemTask

DEFAULTS = {opt.name: opt.default for opt in OPTIONS}

# tiny.inter sorted by time per user, items remapped in raw-id order 10..80 -> 1..8
EXPECTED = {1: [1, 2, 3, 5], 2: [8, 7, 6], 3: [4, 1]}


def sequences(data, **opts):
    seqs, catalogue = build(readers.read(str(data), {**DEFAULTS, **opts}))
    return {u: s.tolist() for u, s in zip(seqs.users, seqs.items, strict=True)}, catalogue


def test_recbole_inter_is_sorted_by_time_and_remapped_in_id_order(tiny_inter):
    got, catalogue = sequences(tiny_inter)
    assert got == EXPECTED
    assert catalogue.raw == [10, 20, 30, 40, 50, 60, 70, 80]


def test_titles_come_from_the_item_file_beside_the_data(tiny_inter):
    task = NextItemTask({}, str(tiny_inter))
    task.prepare()
    assert task.catalogue.titles == ["Ten", "Twenty", "Thirty", "Forty", "Fifty", "Sixty",
                                     "Seventy", None]  # 80 has no entry


@pytest.mark.parametrize("name, line", [
    ("u.data", "{u}\t{i}\t3\t{t}"),
    ("ratings.dat", "{u}::{i}::3::{t}"),
    ("events.csv", "{u},{i},{t}"),
    ("events.tsv", "{u}\t{i}\t{t}"),
])
def test_every_text_format_reads_the_same_events(write, name, line):
    header = {"events.csv": "user_id,item_id,timestamp\n",
              "events.tsv": "user_id\titem_id\ttimestamp\n"}.get(name, "")
    body = "\n".join(line.format(u=u, i=i, t=t) for u, i, t in TINY_EVENTS)
    assert sequences(write(name, header + body + "\n"))[0] == EXPECTED


def test_sasrec_lines_are_already_in_time_order(write):
    ordered = sorted(TINY_EVENTS, key=lambda e: (e[0], e[2]))
    path = write("data.txt", "".join(f"{u} {i}\n" for u, i, _ in ordered))
    got, _ = sequences(path)
    assert got == EXPECTED
    with_time = write("timed.txt", "".join(f"{u} {i} {t}\n" for u, i, t in ordered))
    assert sequences(with_time)[0] == EXPECTED


def test_sasrec_file_order_wins_over_raw_ids(write):
    # no times: within a user, the order of the lines is the order of events
    got, _ = sequences(write("data.txt", "1 5\n1 3\n2 4\n1 9\n"))
    assert got == {1: [3, 1, 4], 2: [2]}  # raw 3 4 5 9 -> 1 2 3 4


def test_csv_column_options_iso_times_and_token_ids(write):
    path = write("log.csv", "who,what,when\nann,B07,2024-01-02T10:00:00\n"
                            "ann,A01,2024-01-01\nbob,A01,2024-01-03T00:00:00Z\n")
    got, catalogue = sequences(path, user="who", item="what", time="when", ids="token")
    assert catalogue.raw == ["A01", "B07"]
    assert got == {"ann": [1, 2], "bob": [1]}


def test_csv_without_a_time_column_keeps_file_order(write):
    got, _ = sequences(write("log.csv", "user_id,item_id\n1,30\n1,10\n1,20\n"))
    assert got == {1: [3, 1, 2]}


def test_ties_in_time_keep_file_order(write):
    got, _ = sequences(write("log.csv", "user_id,item_id,timestamp\n1,30,5\n1,10,5\n1,20,1\n"))
    assert got == {1: [2, 3, 1]}


def test_a_folder_finds_its_inter_file(tiny_inter):
    assert sequences(tiny_inter.parent)[0] == EXPECTED


def test_parquet_reads_the_same_events(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    users, items, times = zip(*TINY_EVENTS, strict=True)
    table = pa.table({"user_id": list(users), "item_id": list(items),
                      "timestamp": [float(t) for t in times]})
    pq.write_table(table, tmp_path / "events.parquet")
    assert sequences(tmp_path / "events.parquet")[0] == EXPECTED


def test_hf_dataset_reads_the_same_events(tmp_path):
    datasets = pytest.importorskip("datasets")
    users, items, times = zip(*TINY_EVENTS, strict=True)
    frame = {"uid": list(users), "iid": list(items), "ts": list(times)}
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(frame)}).save_to_disk(
        str(tmp_path / "hfset"))
    got, _ = sequences(f"hf:{tmp_path / 'hfset'}", user="uid", item="iid", time="ts")
    assert got == EXPECTED


def test_movielens_100k_as_published(ml100k):
    seqs, catalogue = build(readers.read(str(ml100k), DEFAULTS))
    assert (len(seqs.users), catalogue.size, sum(len(s) for s in seqs.items)) == (943, 1682,
                                                                                  100000)
    assert catalogue.raw == list(range(1, 1683))  # MovieLens ids keep their numbers
    # user 1's sequence, read independently: sorted by timestamp, ties in file order
    with ml100k.open() as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    mine = [(float(t), n, int(i)) for n, (u, i, _, t) in enumerate(rows) if u == "1"]
    expected = [i for _, _, i in sorted(mine)]
    assert seqs.items[seqs.users.index(1)].tolist() == expected
    assert np.all(np.diff(seqs.times[seqs.users.index(1)]) >= 0)


def test_movielens_100k_titles(ml100k):
    task = NextItemTask({}, str(ml100k))
    task.prepare()
    assert task.catalogue.titles[0] == "Toy Story"
    assert sum(t is not None for t in task.catalogue.titles) == 1682


def test_movielens_u_item_and_movies_dat_titles(write):
    events = "1\t1\t5\t10\n1\t2\t5\t20\n1\t3\t5\t30\n1\t1\t5\t40\n"
    path = write("ml/u.data", events)
    write("ml/u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0\n2|GoldenEye (1995)|x\n")
    task = NextItemTask({}, str(path))
    task.prepare()
    assert task.catalogue.titles == ["Toy Story (1995)", "GoldenEye (1995)", None]
    dat = write("m1/ratings.dat", events.replace("\t", "::"))
    write("m1/movies.dat", "3::Heat (1995)::Action\n")
    task = NextItemTask({}, str(dat))
    task.prepare()
    assert task.catalogue.titles == [None, None, "Heat (1995)"]
