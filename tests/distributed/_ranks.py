"""Starting data-parallel test runs: ranks as plain subprocesses on loopback, or the CLI.

Every rank gets the environment torchrun would give it (``MASTER_ADDR=127.0.0.1``, a free
``MASTER_PORT``, ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``), which makes the ranks quick to start
and lets a test kill one without torchrun stepping in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
WORKER = HERE / "dp_worker.py"
SLOW_STEPS = HERE / "slow_steps"  # a sitecustomize that honours SEQFRAME_TEST_STEP_SLEEP


def require_gloo():
    """Skip the module unless torch with torch.distributed's gloo backend is installed."""
    torch = pytest.importorskip("torch")
    dist = torch.distributed
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("this PyTorch build has no torch.distributed gloo backend",
                    allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update({"OMP_NUM_THREADS": "1", "SEQFRAME_DIST_TIMEOUT": "60", **extra})
    return env


def start_ranks(config, out: Path, size: int, **extra_env: str) -> list[subprocess.Popen]:
    """``size`` worker processes running ``config`` together; rank r writes ``out/rank{r}.*``."""
    data = json.dumps({k: v for k, v in dataclasses.asdict(config).items() if v is not None})
    port = str(free_port())
    procs = []
    for rank in range(size):
        env = base_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, RANK=str(rank),
                       WORLD_SIZE=str(size), LOCAL_RANK=str(rank), **extra_env)
        procs.append(subprocess.Popen(
            [sys.executable, str(WORKER), data, str(out / f"rank{rank}")], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return procs


def finish_all(procs: list[subprocess.Popen], timeout: float = 120.0) -> list[tuple[int, str]]:
    """Wait for every process: ``[(exit code, stderr), ...]``; kill them all on a timeout."""
    deadline = time.monotonic() + timeout
    results = []
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=max(deadline - time.monotonic(), 0.1))
            results.append((proc.returncode, err))
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.kill()
        pytest.fail(f"data-parallel processes still running after {timeout} s")
    return results


def cli(args: list[str], **extra_env: str) -> subprocess.Popen:
    """``python -m seqframe ARGS`` with the test helpers' path (see :data:`SLOW_STEPS`)."""
    path = os.pathsep.join(filter(None, [str(SLOW_STEPS), os.environ.get("PYTHONPATH")]))
    env = base_env(PYTHONPATH=path, **extra_env)
    return subprocess.Popen([sys.executable, "-m", "seqframe", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(run_dir: Path, procs, min_step: int, timeout: float = 90.0) -> int:
    """Wait until ``run_dir``'s latest checkpoint is at ``min_step`` or later; return its step."""
    meta = run_dir / "checkpoints" / "latest" / "meta.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            pytest.fail("a process ended before the checkpoint appeared: "
                        + " | ".join(p.communicate()[1][-2000:] for p in procs))
        try:
            step = json.loads(meta.read_text())["loop"]["step"]
        except (OSError, ValueError, KeyError):
            step = -1  # not there yet, or being swapped in
        if step >= min_step:
            return step
        time.sleep(0.05)
    for proc in procs:
        proc.kill()
    pytest.fail(f"no checkpoint at step >= {min_step} within {timeout} s")
