"""Test helper, on PYTHONPATH only in tests/distributed: slows every optimizer step down.

With ``SEQFRAME_TEST_STEP_SLEEP=SECONDS`` in the environment, every Python process started with
this folder on its path (the launcher, torchrun, every rank) sleeps that long before each
optimizer step, so that a test can kill a rank in the middle of a run.
"""

import os

_PAUSE = float(os.environ.get("SEQFRAME_TEST_STEP_SLEEP", "0") or 0)

if _PAUSE > 0:
    import time

    from seqframe.training.trainer import Trainer

    _step = Trainer._step

    def _slow_step(self, *args, **kwargs):
        time.sleep(_PAUSE)
        return _step(self, *args, **kwargs)

    Trainer._step = _slow_step
