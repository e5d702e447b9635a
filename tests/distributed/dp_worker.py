"""One process of a data-parallel test run: ``python dp_worker.py CONFIG_JSON OUT_PREFIX``.

The environment says which rank this is (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``, as torchrun would set them); without ``WORLD_SIZE`` it is a
single process. Trains with :func:`seqframe.runs.api.train_config` and writes
``OUT_PREFIX.json`` (the loss of every optimizer step, the summary) and ``OUT_PREFIX.npz`` (the
final parameters of this rank). A user error prints ``error: ...`` and exits with its code, as
the CLI would.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from seqframe.config import RunConfig
from seqframe.errors import SeqframeError
from seqframe.runs import api, single
from seqframe.training.trainer import Trainer


@contextmanager
def recording():
    """Collect every optimizer step's loss and the final parameters of a training run."""
    losses: list[float] = []
    final: dict[str, np.ndarray] = {}
    step, finish = Trainer._step, single.finish

    def recording_step(self, batch, span):
        before = self.state.step
        finite = step(self, batch, span)
        if self.state.step > before:
            losses.append(self.state.last["loss"])
        return finite

    def keeping_finish(trainer):
        final.update({k: trainer.ops.to_numpy(v) for k, v in trainer.params.items()})
        return finish(trainer)

    Trainer._step, single.finish = recording_step, keeping_finish
    try:
        yield losses, final
    finally:
        Trainer._step, single.finish = step, finish


def record_run(config: RunConfig) -> tuple[list[float], dict[str, np.ndarray], dict]:
    """``api.train_config(config)`` -> (per-step losses, final parameters, summary)."""
    with recording() as (losses, final):
        summary = api.train_config(config)
    return losses, final, summary


def main() -> None:
    config = RunConfig(**json.loads(sys.argv[1]))
    prefix = sys.argv[2]
    try:
        losses, final, summary = record_run(config)
    except SeqframeError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(int(exc.exit_code))
    np.savez(prefix + ".npz", **final)
    Path(prefix + ".json").write_text(json.dumps({"losses": losses, "summary": summary}))


if __name__ == "__main__":
    main()
