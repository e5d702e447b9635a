"""Run directories: one writer at a time, no writes through links, starting afresh, --overwrite.

Everything goes through the CLI (``sf``) on the tiny task; the lock holder in the lock tests is a
separate process that takes a plain ``fcntl.flock`` on ``DIR/.lock``, the way any second
seqframe process would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

fcntl = pytest.importorskip("fcntl")

TINY = ("--task", "tiny", "--cell", "lstm", "--hidden", "4", "--steps", "4", "--eval-every",
        "2", "--dtype", "float64", "--quiet")
HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"{os.getpid()}\\n".encode())
print("held", flush=True)
time.sleep(120)
"""



@pytest.fixture(autouse=True)
def no_curves(monkeypatch):
    """curves.png is not what these tests are about, and drawing it is most of a tiny run."""
    from seqframe.runs import single

    monkeypatch.setattr(single, "plot_curves", lambda *args, **kwargs: None)

def run(sf, out: Path, *extra: str):
    return sf("run", *TINY, "--out", str(out), *extra)


@pytest.fixture
def holder():
    """``holder(run_dir)``: a process that holds run_dir's lock until the test ends."""
    procs = []

    def hold(run_dir: Path) -> subprocess.Popen:
        run_dir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir / ".lock")],
                                stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()
        proc.stdout.close()


# ---- one writer per run (item 2) ---------------------------------------------------------------


def test_a_second_writer_is_refused_naming_the_holders_pid(sf, tmp_path, holder):
    out = tmp_path / "run"
    proc = holder(out)
    code, _, err = run(sf, out)
    assert code == 2, err
    assert f"is in use by another seqframe process (PID {proc.pid})" in err
    assert not (out / "config.toml").exists()  # nothing was written
    proc.kill()
    proc.wait()  # the OS released the lock with the process: no stale lock
    code, _, err = run(sf, out)
    assert code == 0, err


def test_a_resume_is_refused_while_another_process_writes_the_run(sf, tmp_path, holder):
    out = tmp_path / "run"
    assert run(sf, out)[0] == 0
    before = (out / "metrics.jsonl").read_bytes()
    proc = holder(out)
    code, _, err = sf("run", "--resume", str(out))
    assert code == 2 and f"PID {proc.pid}" in err
    assert (out / "metrics.jsonl").read_bytes() == before


def test_two_runs_started_together_on_one_out_never_mix(tmp_path):
    """Two real processes race for one --out: one trains, the other is refused."""
    out = tmp_path / "race"
    args = [sys.executable, "-m", "seqframe", "run", "--task", "timeseries", "--hidden", "4",
            "--steps", "6", "--eval-every", "2", "--quiet", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], errs
    refused = errs[[p.returncode for p in procs].index(2)]
    assert "in use by another seqframe process" in refused or "already holds a run" in refused
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]  # one run's records, not two interleaved


# ---- no writes through symbolic links (item 3) -------------------------------------------------


@pytest.mark.parametrize("name", ["metrics.jsonl", "samples.txt", "summary.json"])
def test_a_resume_refuses_a_run_directory_holding_a_link(sf, tmp_path, name):
    out = tmp_path / "run"
    assert run(sf, out)[0] == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (out / name).unlink(missing_ok=True)
    os.symlink(victim, out / name)
    code, _, err = sf("run", "--resume", str(out))
    assert code == 2
    assert f"{name}' in run directory" in err and "is a symbolic link" in err
    assert victim.read_text() == "precious\n"


def test_a_linked_checkpoints_folder_is_refused(sf, tmp_path):
    out = tmp_path / "run"
    assert run(sf, out)[0] == 0
    elsewhere = tmp_path / "elsewhere"
    (out / "checkpoints").rename(elsewhere)
    os.symlink(elsewhere, out / "checkpoints")
    before = sorted(p.name for p in elsewhere.rglob("*"))
    code, _, err = sf("run", "--resume", str(out))
    assert code == 2 and "checkpoints' in run directory" in err and "symbolic link" in err
    assert sorted(p.name for p in elsewhere.rglob("*")) == before


def test_a_new_run_refuses_an_out_holding_a_link(sf, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.symlink(victim, out / "metrics.jsonl")
    code, _, err = run(sf, out)
    assert code == 2 and "is a symbolic link" in err
    assert victim.read_text() == "precious\n"


def test_the_writers_refuse_links_themselves(tmp_path):
    """Below the directory checks: each writer opens without following a link."""
    from seqframe.errors import UsageError
    from seqframe.training.checkpoint import save_checkpoint
    from seqframe.training.progress import MetricsLog
    from seqframe.training.safefiles import atomic_write_text

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.symlink(victim, tmp_path / "metrics.jsonl")
    with pytest.raises(UsageError, match="is a symbolic link"):
        MetricsLog(tmp_path / "metrics.jsonl").append({"step": 1})
    os.symlink(tmp_path, tmp_path / "linked")
    with pytest.raises(UsageError, match="is a symbolic link"):
        atomic_write_text(tmp_path / "linked" / "summary.json", "{}")
    with pytest.raises(UsageError, match="is a symbolic link"):
        save_checkpoint(tmp_path / "linked" / "latest", {}, {})
    assert victim.read_text() == "precious\n"


# ---- validation first, restartable folders, --overwrite (item 6) -------------------------------


def test_a_run_that_fails_validation_creates_nothing(sf, tmp_path):
    out = tmp_path / "run"
    code, _, err = run(sf, out, "--bptt", "-1")
    assert code == 2 and "bptt must be >= 0" in err
    assert not out.exists()


def test_a_run_stopped_before_its_first_checkpoint_is_restartable(sf, tmp_path):
    out = tmp_path / "run"
    code, _, err = run(sf, out, "-o", "nan_batch=0")  # NaN at step 1: no checkpoint yet
    assert code == 1 and "No checkpoint had been written yet" in err
    assert (out / "config.toml").exists() and not (out / "checkpoints").exists()
    code, _, err = sf("run", "--resume", str(out))
    assert code == 2
    assert "holds no checkpoint: the run stopped before writing its first one" in err
    assert f"seqframe run --config {out / 'config.toml'}" in err
    code, _, err = sf("run", "--config", str(out / "config.toml"))  # the command it suggests
    assert code == 1 and "non-finite loss at step 1" in err  # accepted: it trained again
    code, _, err = sf("run", *TINY[:-1], "--out", str(out))  # or the same --out, not quiet
    assert code == 0, err
    assert "stopped before its first checkpoint (nothing to resume); starting it afresh" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 4


def test_overwrite_replaces_a_run_on_purpose(sf, tmp_path):
    out = tmp_path / "run"
    assert run(sf, out)[0] == 0
    first = json.loads((out / "summary.json").read_text())
    code, _, err = run(sf, out, "--seed", "7")
    assert code == 2 and "already holds a run" in err and "--overwrite" in err
    code, _, err = run(sf, out, "--seed", "7", "--overwrite")
    assert code == 0, err
    second = json.loads((out / "summary.json").read_text())
    assert second["metrics"] != first["metrics"]
    assert [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()] \
        == [2, 4]  # the old run's records are gone, not continued


def test_overwrite_refuses_a_folder_that_holds_no_run(sf, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = run(sf, out, "--overwrite")
    assert code == 2 and "holds other files and no run" in err
    assert (out / "notes.txt").read_text() == "mine"
