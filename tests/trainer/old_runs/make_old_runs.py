"""How the run directories beside this file were written, with seqframe as it was at 78799d6
(before [core-shape] and [wider-models]), so tests/trainer/test_old_run_dirs.py can prove that
today's code still evaluates and resumes them. Not a test; run it by hand::

    git archive 78799d6 | tar -x -C /tmp/oldtree
    PYTHONPATH=/tmp/oldtree:/tmp/oldtree/plugins:/tmp/oldtree/tasks \\
        OMP_NUM_THREADS=1 python tests/trainer/old_runs/make_old_runs.py /tmp/oldruns
    PYTHONPATH=... python -m seqframe eval /tmp/oldruns/adding-lstm --split val   # expected.json

Each run is stopped with SIGINT (Ctrl-C) right after its first checkpoint, which writes the
``latest`` checkpoint of an unfinished run: what ``--resume`` continues.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

FLAGS = ["--hidden", "6", "--batch-size", "8", "-o", "length=6", "-o", "train_size=64",
         "-o", "val_size=16", "-o", "test_size=16", "--steps", "60", "--eval-every", "5",
         "--checkpoint-every", "5", "--seed", "3"]


def main(target: Path) -> None:
    for cell in ("lstm", "gru"):
        out = target / f"adding-{cell}"
        cmd = [sys.executable, "-m", "seqframe", "run", "--task", "adding", "--cell", cell,
               *FLAGS, "--out", str(out), "--quiet"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        meta = out / "checkpoints" / "latest" / "meta.json"
        while not meta.exists() and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        print(cell, proc.wait(timeout=120), proc.communicate()[1][-300:])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
