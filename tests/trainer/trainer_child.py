"""A training run in a child process, for the kill/interrupt tests.

Usage: python trainer_child.py CONFIG_JSON SECONDS_PER_STEP
Trains a run (``seqframe.runs.api.train_config``) on the tiny task, sleeping before each
optimizer step so the parent can kill it mid-run. Exits 130 after a Ctrl-C (the code the CLI
uses for Interrupted).
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import trainer_tinytask  # noqa: E402

from seqframe.config import RunConfig  # noqa: E402
from seqframe.runs import api  # noqa: E402
from seqframe.training.trainer import Interrupted, Trainer  # noqa: E402


def main() -> None:
    trainer_tinytask.install()
    pause = float(sys.argv[2])
    original = Trainer._step

    def slow_step(self, *args, **kwargs):
        time.sleep(pause)
        return original(self, *args, **kwargs)

    Trainer._step = slow_step
    try:
        api.train_config(RunConfig(**json.loads(sys.argv[1])))
    except Interrupted as exc:
        print(exc, flush=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
