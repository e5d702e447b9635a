"""``seqframe run --nproc 2`` end to end: trains, checkpoints, survives losing a rank, resumes.

A rank killed with SIGKILL must bring the whole run down quickly (torchrun stops the other rank)
with a non-zero exit code, leave the last checkpoint whole, and ``seqframe run --resume DIR``
(which starts the run's own two processes again) must end exactly where a run that was never
interrupted ends.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from seqframe.training.checkpoint import load_checkpoint

from ._ranks import cli, require_gloo, wait_for_checkpoint

require_gloo()

pytestmark = pytest.mark.slow  # three 2-process runs through torchrun: ~30 s on two cores

ARGS = ["run", "--backend", "torch", "--task", "adding", "-o", "length=12", "-o",
        "train_size=320", "-o", "val_size=64", "-o", "test_size=64", "--hidden", "12",
        "--batch-size", "32", "--steps", "40", "--eval-every", "10", "--checkpoint-every", "5",
        "--dtype", "float64", "--device", "cpu", "--seed", "5", "--nproc", "2"]


def rank_pid(tag: str, rank: int) -> int | None:
    """The process of this test (``SEQFRAME_TEST_TAG=tag``) that is data-parallel ``rank``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"SEQFRAME_TEST_TAG={tag}".encode() in env and f"RANK={rank}".encode() in env:
            return int(entry.name)
    return None


def records(run_dir: Path) -> list[dict]:
    """metrics.jsonl, less the wall clock (the one field no rerun can reproduce)."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "wall_seconds"} for line in lines]


def latest_params(run_dir: Path) -> dict[str, np.ndarray]:
    tensors, _ = load_checkpoint(run_dir / "checkpoints" / "latest")
    return {k: v for k, v in tensors.items() if k.startswith("param/")}


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find a rank")
def test_nproc_run_survives_a_killed_rank_and_resumes_exactly(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    tag = uuid.uuid4().hex
    slow = cli([*ARGS, "--out", str(killed), "-q"], SEQFRAME_TEST_STEP_SLEEP="0.15",
               SEQFRAME_TEST_TAG=tag)
    uninterrupted = cli([*ARGS, "--out", str(straight)])
    step = wait_for_checkpoint(killed, [slow], min_step=10)
    assert step < 40, "the run finished before a rank could be killed"
    pid = rank_pid(tag, 1)
    assert pid is not None, "rank 1 not found"
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    _, err = slow.communicate(timeout=60)
    assert time.monotonic() - killed_at < 30, "the surviving rank was not stopped promptly"
    assert slow.returncode != 0
    assert "the 2-process run failed" in err and f"--resume {killed}" in err

    meta = load_checkpoint(killed / "checkpoints" / "latest")[1]
    assert meta["loop"]["step"] >= 10 and meta["config"]["nproc"] == 2
    assert all(np.isfinite(v).all() for v in latest_params(killed).values())

    out, err = uninterrupted.communicate(timeout=120)
    assert uninterrupted.returncode == 0, err
    assert out.count("adding / lstm on torch: 40 steps") == 1  # rank 0 alone prints the table
    resumed = cli(["run", "--resume", str(killed)])  # starts the run's own 2 processes
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err

    a, b = latest_params(straight), latest_params(killed)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert records(straight) == records(killed)
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["steps"] == 40 and summary["nproc"] == 2
    assert summary["metrics"] == json.loads((straight / "summary.json").read_text())["metrics"]
