"""Exact resume: a run killed with SIGKILL (or stopped with Ctrl-C) and resumed ends bit for bit
where an uninterrupted run with the same seed ends; and seeds make runs repeatable."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqframe.runs import api
from seqframe.training.checkpoint import load_checkpoint

CHILD = Path(__file__).parent / "trainer_child.py"


def busy_config(tiny_config, out, **changes):
    """Stateful streams, TBPTT with look-back, dropout, two layers, accumulation, Adam, a
    checkpoint in the middle of batches: everything a resume has to get exactly right."""
    return tiny_config(out=str(out), options={"stateful": True, "rows": 16}, layers=2,
                       dropout=0.2, bptt=4, bptt_back=6, accumulate=2, eval_every=3,
                       checkpoint_every=2, epochs=3, **changes)


def start_child(config):
    data = {k: v for k, v in dataclasses.asdict(config).items() if v is not None}
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(CHILD), json.dumps(data), "0.05"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(proc, run_dir, timeout=60.0):
    meta = run_dir / "checkpoints" / "latest" / "meta.json"
    deadline = time.monotonic() + timeout
    while not meta.exists():
        if proc.poll() is not None:
            pytest.fail(f"child ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no checkpoint appeared")
        time.sleep(0.02)


def lines(run_dir):
    """metrics.jsonl records, less the wall clock (the one field no rerun can reproduce)."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for record in records:
        assert record.pop("wall_seconds") >= 0
    return records


def test_sigkill_mid_run_then_resume_is_bit_identical(tiny_config, tmp_path):
    straight = api.train_config(busy_config(tiny_config, tmp_path / "straight"))
    killed_dir = tmp_path / "killed"
    proc = start_child(busy_config(tiny_config, killed_dir))
    wait_for_checkpoint(proc, killed_dir)
    assert proc.poll() is None, "the child finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    _, meta = load_checkpoint(killed_dir / "checkpoints" / "latest")
    assert 0 < meta["loop"]["step"] < straight["steps"]
    resumed = api.resume_summary(killed_dir)
    assert resumed["metrics"] == straight["metrics"]  # exact float equality
    assert resumed["steps"] == straight["steps"] and resumed["clipping"] == straight["clipping"]
    assert lines(killed_dir) == lines(tmp_path / "straight")


def test_ctrl_c_writes_a_checkpoint_exits_130_and_resumes_exactly(tiny_config, tmp_path):
    straight = api.train_config(busy_config(tiny_config, tmp_path / "straight", dtype="float32"))
    stopped = tmp_path / "stopped"
    proc = start_child(busy_config(tiny_config, stopped, dtype="float32"))
    wait_for_checkpoint(proc, stopped)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted at step" in out and "a checkpoint was written" in out
    step = int(out.split("interrupted at step ")[1].split(";")[0])
    _, meta = load_checkpoint(stopped / "checkpoints" / "latest")
    assert meta["loop"]["step"] == step
    resumed = api.resume_summary(stopped)
    assert resumed["metrics"] == straight["metrics"]
    assert lines(stopped) == lines(tmp_path / "straight")


def test_sigterm_writes_a_checkpoint_exits_143_and_resumes_exactly(tiny_config, tmp_path):
    """What SLURM or Kubernetes send before a kill behaves like Ctrl-C (item 7)."""
    straight = api.train_config(busy_config(tiny_config, tmp_path / "straight"))
    stopped = tmp_path / "stopped"
    proc = start_child(busy_config(tiny_config, stopped))
    wait_for_checkpoint(proc, stopped)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)  # a repeat (scheduler and launcher both) changes nothing
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "interrupted by SIGTERM at step" in out and "a checkpoint was written" in out
    step = int(out.split("at step ")[1].split(";")[0])
    _, meta = load_checkpoint(stopped / "checkpoints" / "latest")
    assert meta["loop"]["step"] == step
    resumed = api.resume_summary(stopped)
    assert resumed["metrics"] == straight["metrics"]
    assert lines(stopped) == lines(tmp_path / "straight")


def test_the_cli_reports_sigterm_as_a_stop_not_an_error(sf, monkeypatch):
    from seqframe.training.trainer import Interrupted

    def stopped(*args, **kwargs):
        raise Interrupted("runs/x", 12, saved=True, signum=signal.SIGTERM)

    monkeypatch.setattr(api, "train_config", stopped)
    code, _, err = sf("run", "--task", "tiny", "--quiet")
    assert code == 143
    assert err == ("interrupted by SIGTERM at step 12; a checkpoint was written. Continue with "
                   "`seqframe run --resume runs/x`.\n")


def test_resuming_a_finished_run_changes_nothing(tiny_config, tmp_path):
    first = api.train_config(tiny_config(steps=2, epochs=None))
    again = api.resume_summary(tmp_path / "run")
    assert again["metrics"] == first["metrics"] and again["steps"] == 2


def test_same_seed_same_numbers_other_seed_other_numbers(tiny_config, tmp_path):
    config = dict(dropout=0.3, epochs=1, bptt=4)
    a = api.train_config(tiny_config(out=str(tmp_path / "a"), **config))
    b = api.train_config(tiny_config(out=str(tmp_path / "b"), **config))
    c = api.train_config(tiny_config(out=str(tmp_path / "c"), seed=4, **config))
    assert a["metrics"] == b["metrics"]
    assert a["metrics"]["val"]["loss"] != c["metrics"]["val"]["loss"]
