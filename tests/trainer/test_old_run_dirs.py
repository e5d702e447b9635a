"""Run directories written before [core-shape] and [wider-models] still evaluate and resume.

The two runs in old_runs/ (an LSTM and a GRU on the adding task) were written by seqframe at
commit 78799d6 and stopped with Ctrl-C at step 10 of 60 (old_runs/make_old_runs.py says how).
The built-in cells kept PyTorch's parameter names and layout, so today's code must load them:
``eval`` must give what the old code's ``eval`` gave, and ``--resume`` must end exactly where an
uninterrupted run of today's code with the same flags ends (weights, optimizer state, random
streams and data cursor all restored).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.trainer.old_runs.make_old_runs import FLAGS

OLD = Path(__file__).parent / "old_runs"
EXPECTED = json.loads((OLD / "expected.json").read_text())


def copy_of(name: str, tmp_path: Path) -> Path:
    run = tmp_path / name
    shutil.copytree(OLD / name, run)
    return run


def records(run: Path) -> list[dict]:
    """metrics.jsonl without the wall clock (the one field no rerun reproduces), flat."""
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for line in lines:
        line.pop("wall_seconds")
        line.update({f"val.{k}": v for k, v in line.pop("val", {}).items()})
    return lines


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_an_old_run_directory_evaluates_as_it_did(sf, tmp_path, cell):
    run = copy_of(f"adding-{cell}", tmp_path)
    for split in ("val", "test"):
        code, out, err = sf("eval", str(run), "--split", split)
        assert code == 0, err
        mse = float(re.search(r"^mse\s+(\S+)", out, re.MULTILINE).group(1))
        assert mse == pytest.approx(EXPECTED["eval"][f"adding-{cell}"][split], abs=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_an_old_run_directory_resumes_to_where_an_uninterrupted_run_ends(sf, tmp_path, cell):
    resumed = copy_of(f"adding-{cell}", tmp_path)
    assert records(resumed)[-1]["step"] == 10  # stopped early by the old code
    code, _, err = sf("run", "--resume", str(resumed))
    assert code == 0, err
    straight = tmp_path / "straight"
    code, _, err = sf("run", "--task", "adding", "--cell", cell, *FLAGS, "--out", str(straight),
                      "--quiet")
    assert code == 0, err
    # steps 5 and 10 were logged by the old code, whose running mean of the gradient norm summed
    # in another order (last digits differ); everything else is bit for bit
    got, want = records(resumed), records(straight)
    assert [r["step"] for r in got] == [r["step"] for r in want] == list(range(5, 61, 5))
    for a, b in zip(got, want, strict=True):
        assert a == pytest.approx(b, rel=1e-7)
    summaries = [json.loads((run / "summary.json").read_text()) for run in (resumed, straight)]
    assert summaries[0]["steps"] == summaries[1]["steps"] == 60
    assert summaries[0]["metrics"] == summaries[1]["metrics"]
