"""A rank that dies or hangs stops the others with a clear message instead of a hang.

torchrun stops the surviving ranks itself (tested through the CLI in test_cli_nproc.py); here the
ranks run without it, so what is tested is seqframe's own guard: the collective notices the lost
peer (a closed connection, or no answer within ``SEQFRAME_DIST_TIMEOUT``) and the run ends with
:class:`seqframe.training.distributed.DistributedError` (exit code 1), the last checkpoint intact.
"""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest

from seqframe.config import RunConfig
from seqframe.training.checkpoint import load_checkpoint

from ._ranks import SLOW_STEPS, finish_all, require_gloo, start_ranks, wait_for_checkpoint

require_gloo()

pytestmark = pytest.mark.slow  # two pairs of processes, ~12 s each on two busy cores


def slow_run(tmp_path, timeout: str):
    config = RunConfig(backend="torch", task="adding", device="cpu", dtype="float64", hidden=8,
                       batch_size=16, steps=400, checkpoint_every=3, eval_every=50, quiet=True,
                       out=str(tmp_path / "run"),
                       options={"length": 8, "train_size": 256, "val_size": 32, "test_size": 32})
    return start_ranks(config, tmp_path, size=2, PYTHONPATH=str(SLOW_STEPS),
                       SEQFRAME_TEST_STEP_SLEEP="0.05", SEQFRAME_DIST_TIMEOUT=timeout)


@pytest.mark.parametrize("how", ["killed", "hung"])
def test_the_other_rank_stops_with_a_clear_message(how, tmp_path):
    ranks = slow_run(tmp_path, timeout="4")
    wait_for_checkpoint(tmp_path / "run", ranks, min_step=6)
    if how == "killed":
        ranks[1].send_signal(signal.SIGKILL)
    else:
        ranks[1].send_signal(signal.SIGSTOP)  # alive but silent: only the timeout can tell
    lost_at = time.monotonic()
    try:
        (code, err), = finish_all(ranks[:1], timeout=60)
    finally:
        ranks[1].kill()  # the hung one (the killed one is gone already)
        ranks[1].communicate()
    assert time.monotonic() - lost_at < 30
    assert code == 1, err
    assert "rank 0 of 2 lost the other ranks" in err
    assert "The last checkpoint in" in err and "--resume" in err
    if how == "hung":
        assert "did not answer within 4 s (SEQFRAME_DIST_TIMEOUT" in err
    tensors, meta = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest")
    assert meta["loop"]["step"] >= 6
    assert all(np.isfinite(v).all() for v in tensors.values())
