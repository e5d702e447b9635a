"""`seqframe recommend` and `Run.recommend` on a trained run, both backends, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
from ni_helpers import DATA

import seqframe

RAW = [10, 20, 30, 40, 50, 60, 70, 80]  # tiny.inter's items: internal ids 1..8
TITLES = {10: "Ten", 20: "Twenty", 30: "Thirty", 40: "Forty", 50: "Fifty", 60: "Sixty",
          70: "Seventy"}  # tiny.item has no title for 80


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from seqframe.cli import main

    out = tmp_path_factory.mktemp("recommend") / "run"
    with pytest.raises(SystemExit) as info:
        main(["run", "--task", "nextitem", "--data", str(DATA / "tiny.inter"), "--backend",
              "numpy", "--steps", "5", "--hidden", "8", "--quiet", "--out", str(out)])
    assert info.value.code == 0
    return out


def expected_top(run_dir, history: list[int], k: int, exclude_seen: bool = True) -> list[int]:
    """The top k raw ids straight from the model's scores after the history."""
    predictor = seqframe.load(run_dir).predictor
    ids = np.array([[RAW.index(h) + 1 for h in history]])  # (1, T)
    scores = predictor.predict(ids, np.ones(ids.shape, bool))[0][0, -1]  # (V,)
    candidates = [i for i in range(1, 9) if not (exclude_seen and RAW[i - 1] in history)]
    best = sorted(candidates, key=lambda i: (-scores[i], i))[:k]
    return [RAW[i - 1] for i in best]


def table(out: str) -> list[list[str]]:
    """The rows of a printed table (below its header and rule), split on runs of spaces."""
    lines = out.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("rank"))
    return [line.split(None, 3) for line in lines[start + 2:] if line.strip()]


@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=pytest.mark.torch)])
def test_recommend_prints_the_top_items_with_titles(sf, run_dir, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    code, out, err = sf("recommend", str(run_dir), "--history", "10,20", "--k", "4",
                        "--backend", backend)
    assert code == 0, err
    assert out.splitlines()[0].split() == ["rank", "item", "score", "title"]
    rows = table(out)
    items = [int(r[1]) for r in rows]
    assert items == expected_top(run_dir, [10, 20], 4)
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]
    assert all(r[3:] == ([TITLES[i]] if i in TITLES else []) for r, i in zip(rows, items,
                                                                             strict=True))
    scores = [float(r[2]) for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_seen_items_on_request_and_several_histories(sf, run_dir):
    code, out, err = sf("recommend", str(run_dir), "--history", "10, 20", "--history", "80",
                        "--k", "8", "--include-seen")
    assert code == 0, err
    blocks = out.split("after ")[1:]
    assert [b.splitlines()[0] for b in blocks] == ["10, 20:", "80:"]
    first = [int(r[1]) for r in table(blocks[0])]
    assert first == expected_top(run_dir, [10, 20], 8, exclude_seen=False)
    assert sorted(first) == RAW  # every item, the history's own included


@pytest.mark.torch
def test_python_api_on_both_backends(run_dir):
    pytest.importorskip("torch")
    on_numpy = seqframe.load(run_dir).recommend([[30, 50], [80]], k=3)
    on_torch = seqframe.load(run_dir, backend="torch").recommend([[30, 50], [80]], k=3)
    assert [[i for i, _, _ in r] for r in on_numpy] == [[i for i, _, _ in r] for r in on_torch]
    for mine, theirs in zip(on_numpy, on_torch, strict=True):
        np.testing.assert_allclose([s for _, s, _ in mine], [s for _, s, _ in theirs], atol=1e-4)
    assert [i for i, _, _ in on_numpy[0]] == expected_top(run_dir, [30, 50], 3)
    assert all(i not in (30, 50) for i, _, _ in on_numpy[0])
    assert all(title == TITLES.get(i) for r in on_numpy for i, _, title in r)


def test_unknown_ids_are_listed_exit_2(sf, run_dir):
    code, out, err = sf("recommend", str(run_dir), "--history", "10,99,abc", "--history", "7")
    assert code == 2 and not out
    message = " ".join(err.split())
    assert ("unknown item id(s): '99' (history 0), 'abc' (history 0), '7' (history 1). The "
            "model knows the 8 items of its training data") in message


def test_an_empty_history_and_a_bad_k(sf, run_dir):
    code, _, err = sf("recommend", str(run_dir), "--history", " , ")
    assert code == 2 and "history 0 is empty" in err
    code, _, err = sf("recommend", str(run_dir), "--history", "10", "--k", "0")
    assert code == 2 and "k must be 1 or more, got 0" in err


def test_a_run_of_a_task_that_does_not_recommend(sf, tmp_path):
    code, _, err = sf("run", "--task", "adding", "--steps", "1", "--hidden", "4", "--quiet",
                      "-o", "length=5", "-o", "train_size=8", "-o", "val_size=4", "-o",
                      "test_size=4", "--out", str(tmp_path / "adding"))
    assert code == 0, err
    code, _, err = sf("recommend", str(tmp_path / "adding"), "--history", "1")
    assert code == 2
    assert "`seqframe recommend` does not apply to this run" in " ".join(err.split())
