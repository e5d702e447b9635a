"""Crash safety of checkpoints, proven by injecting a crash at every filesystem step of a save.

How the crash is injected: each crashed run is a forked copy of this test process (no new
interpreter to start, so hundreds of runs take seconds). The child patches the filesystem calls
a save can make -- ``os.mkdir``, ``os.open``/``open`` for writing, ``os.fsync``, ``os.replace``,
``os.rename``, ``os.unlink``, ``os.rmdir`` and safetensors' ``save_file`` -- and counts them while
the trainer is inside ``save_checkpoint``. At the chosen call it ends the process with
``os._exit``: no ``except``/``finally`` clause, no cleanup and no buffered Python write runs after
it, which is what a SIGKILL or a power cut does to the process (the kernel keeps what was already
written, as it does after a kill).

The proof: for every step ``k`` of a save that replaces an existing checkpoint, crash there; then
resume, and crash the resumed run at every step ``j`` of its first save (the save right after a
recovery, where the old code lost the only copy); then resume again. Every one of these runs
must finish bit-identical to an uninterrupted run: same metrics.jsonl, same summary metrics, same
final parameters.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import sys

import numpy as np
import pytest

from seqframe.runs import api, single
from seqframe.training import checkpoint as ck
from seqframe.training import trainer as trainer_module

CRASHED = 86  # the exit status of a child that crashed on purpose
COMPLETED = 0  # the child reached the end without meeting its crash point
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def crash_config(tiny_config, out):
    """Six steps, a validation (and so a ``latest`` and maybe a ``best`` save) every two."""
    return tiny_config(out=str(out), steps=6, epochs=None, eval_every=2, checkpoint_every=0,
                       hidden=4, options={"rows": 16, "length": 6})


class Injector:
    """Counts filesystem calls made inside ``save_checkpoint`` and crashes at one of them.

    Args:
        save: which save to crash in (1-based, counting every save of the process).
        step: which filesystem call of that save to crash at (1-based); 0 counts only.
    """

    def __init__(self, save: int, step: int):
        self.save, self.step = save, step
        self.saves = 0
        self.calls = 0  # filesystem calls of the target save so far
        self.inside = False

    def hit(self) -> None:
        if self.inside and self.saves == self.save:
            self.calls += 1
            if self.calls == self.step:
                os._exit(CRASHED)

    def install(self) -> None:
        def counted(fn, writes_only_if=None):
            def wrapper(*args, **kwargs):
                if writes_only_if is None or writes_only_if(*args, **kwargs):
                    self.hit()
                return fn(*args, **kwargs)
            return wrapper

        def opens_for_writing(file, mode="r", *args, **kwargs):
            return any(c in mode for c in "wax+")

        def os_open_writes(path, flags, *args, **kwargs):
            return bool(flags & _WRITE_FLAGS)

        for name in ("mkdir", "fsync", "replace", "rename", "unlink", "rmdir"):
            setattr(os, name, counted(getattr(os, name)))
        os.open = counted(os.open, os_open_writes)
        builtins.open = io.open = counted(io.open, opens_for_writing)
        ck.save_file = counted(ck.save_file)
        original = trainer_module.save_checkpoint

        def save_checkpoint(*args, **kwargs):
            self.saves += 1
            self.inside = True
            try:
                return original(*args, **kwargs)
            finally:
                self.inside = False

        trainer_module.save_checkpoint = save_checkpoint


def in_child(work, injector: Injector | None) -> int:
    """Run ``work()`` in a forked copy of this process; its exit status."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            if injector is not None:
                injector.install()
            work()
            code = COMPLETED
        except BaseException:  # noqa: BLE001 - reported to the parent through the exit status
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def count_steps(work, save: int) -> int:
    """How many filesystem calls save number ``save`` of ``work`` makes (run in a child)."""
    read_end, write_end = os.pipe()

    class Counter(Injector):
        def hit(self):
            super().hit()
            if self.inside and self.saves == self.save:
                os.write(write_end, b".")

    assert in_child(work, Counter(save, 0)) == COMPLETED
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        return len(fh.read())


def final_params(run_dir):
    tensors, _ = ck.load_checkpoint(run_dir / "checkpoints" / "latest")
    return {k: v for k, v in tensors.items() if k.startswith("param/")}


def records(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "wall_seconds"} for line in lines]


def assert_same_run(run_dir, straight_dir, straight):
    summary = api.resume_summary(run_dir, log=lambda _line: None)
    assert summary["metrics"] == straight["metrics"]  # exact float equality
    assert summary["steps"] == straight["steps"]
    assert records(run_dir) == records(straight_dir)
    mine, theirs = final_params(run_dir), final_params(straight_dir)
    assert mine.keys() == theirs.keys()
    for key in mine:
        np.testing.assert_array_equal(mine[key], theirs[key])
    leftovers = [p.name for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers


@pytest.mark.slow  # ~200 crashed runs and resumes: ~15 s on two shared cores
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_crash_at_any_step_of_a_save_then_of_the_next_save_still_resumes_exactly(
        tiny_config, scratch, monkeypatch):
    # curves.png is drawn from metrics.jsonl, which is compared; drawing it would take most of
    # the time of each of these runs
    monkeypatch.setattr(single, "plot_curves", lambda *args, **kwargs: None)
    # A killed process loses nothing the kernel holds, so flushing to the disk changes nothing
    # here (it is what protects against a power cut); fsync stays a counted step, but free.
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    tmp_path = scratch
    straight_dir = tmp_path / "straight"
    straight = api.train_config(crash_config(tiny_config, straight_dir), log=lambda _line: None)
    config = crash_config(tiny_config, tmp_path / "probe")

    def train_fresh(out):
        return lambda: api.train_config(config.replace(out=str(out)), log=lambda _line: None)

    def resume(out):
        return lambda: api.resume_summary(out, log=lambda _line: None)

    # The third save of the run replaces an existing checkpoint (the first two create `best` and
    # `latest` at the first validation), so every step of a replacement is covered.
    target = 3
    steps_a = count_steps(train_fresh(tmp_path / "count-a"), target)
    assert steps_a >= 6, steps_a  # temp dir, tensors, meta, fsyncs, renames at the least
    failures = []
    for k in range(1, steps_a + 1):
        run_dir = tmp_path / f"a{k}"
        assert in_child(train_fresh(run_dir), Injector(target, k)) == CRASHED
        # a copy of the crashed state, to crash its resume at every step of the next save
        steps_b = count_steps(resume(_copy(run_dir, tmp_path / f"a{k}-count")), 1)
        for j in range(1, steps_b + 1):
            twice = _copy(run_dir, tmp_path / f"a{k}-b{j}")
            status = in_child(resume(twice), Injector(1, j))
            if status != CRASHED:
                failures.append(f"resume after crash {k}, then crash {j}: status {status}")
                continue
            try:
                assert_same_run(twice, straight_dir, straight)
            except Exception as exc:  # collect every failing pair, then report them together
                failures.append(f"crash at step {k} of save {target}, then at step {j} of the "
                                f"resumed run's first save: {type(exc).__name__}: {exc}"[:300])
        try:
            assert_same_run(run_dir, straight_dir, straight)
        except Exception as exc:
            failures.append(f"crash at step {k} of save {target}: {type(exc).__name__}: {exc}"
                            [:300])
    assert not failures, f"{len(failures)} crash points lose the run:\n" + "\n".join(failures)


@pytest.fixture
def scratch(tmp_path):
    """A folder in /dev/shm when there is one (removed afterwards), else ``tmp_path``: the test
    makes thousands of folders, which on some disks cost milliseconds each to remove."""
    import shutil
    import tempfile
    from pathlib import Path

    if not os.path.isdir("/dev/shm") or not os.access("/dev/shm", os.W_OK):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="seqframe-crash-", dir="/dev/shm"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst, symlinks=True)
    return dst
