"""The non-finite guard: what training does when a step's loss or gradient norm is NaN/Inf.

``--nonfinite`` picks the policy:

- ``stop``: raise :class:`seqframe.errors.NonFiniteError` naming the step, the norms and the last
  good checkpoint, which is left as it was.
- ``skip``: drop the rest of the batch and start the next one from a zero state, since the
  carried state may be poisoned too; gives up after ``MAX_CONSECUTIVE_SKIPS`` failures in a row.
- ``rollback``: reload the ``latest`` checkpoint and halve the learning rate; gives up after
  ``MAX_ROLLBACKS`` rollbacks in one run.

The counters (``skipped``, ``consecutive_skips``, ``rollbacks``, ``lr_scale``) live in the
trainer's :class:`seqframe.training.loopstate.LoopState`, so they are checkpointed with everything
else.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import ConfigError, NonFiniteError

NONFINITE_POLICIES = ("stop", "skip", "rollback")
MAX_CONSECUTIVE_SKIPS = 10
MAX_ROLLBACKS = 10


def check_policy(policy: str) -> None:
    """Reject an unknown ``--nonfinite`` value, listing the known ones."""
    if policy not in NONFINITE_POLICIES:
        raise ConfigError(f"--nonfinite must be one of {', '.join(NONFINITE_POLICIES)}; "
                          f"got {policy!r}.")


def on_nonfinite(trainer: Any, loss: float, norm: float) -> bool:
    """Apply ``trainer.config.nonfinite`` to a step whose loss or gradient norm is not finite.

    Args:
        trainer: the :class:`seqframe.training.trainer.Trainer` whose step failed (no update was
        made).
        loss: the step's mean loss.
        norm: the step's gradient norm before clipping.

    Returns:
        True when the trainer rolled back to its ``latest`` checkpoint (its cursor now points at
        the checkpoint's window); False when the rest of the batch is to be skipped.

    Raises:
        NonFiniteError: under ``stop``, or when skipping/rolling back did not help.
    """
    cfg, st = trainer.config, trainer.state
    message = explain(loss, norm, step=st.step + 1, last_norm=trainer.clipper.stats.last_norm,
                      lr=cfg.lr, latest=trainer.run_dir / "checkpoints" / "latest")
    what = message.split(" (loss")[0]  # "non-finite loss at step N", for the one-line warnings
    if cfg.nonfinite == "skip" and st.consecutive_skips < MAX_CONSECUTIVE_SKIPS:
        st.skipped += 1
        st.consecutive_skips += 1
        trainer.carried = None  # the state may be poisoned too; the next batch starts fresh
        trainer.log(f"warning: {what}; skipping the batch")
        return False
    if cfg.nonfinite == "rollback" and st.rollbacks < MAX_ROLLBACKS:
        rollbacks = st.rollbacks + 1  # the checkpoint's own count is older than this one
        trainer.restore("latest", keep_lr_scale=True)
        st = trainer.state
        st.rollbacks, st.lr_scale = rollbacks, st.lr_scale * 0.5
        trainer.log(f"warning: {what}; rolled back to step {st.step}, "
                    f"learning rate x{st.lr_scale:g}")
        return True
    if cfg.nonfinite != "stop":
        message += f" ({cfg.nonfinite} did not help: gave up after repeated failures.)"
    raise NonFiniteError(message)


def explain(loss: float, norm: float, step: int, last_norm: float, lr: float,
            latest: Path) -> str:
    """What went wrong at ``step`` (1-based), whether a checkpoint survives, and what to try."""
    what = "loss" if not math.isfinite(loss) else "gradient norm"
    kept = (f"The last good checkpoint is kept in {latest}" if latest.exists()
            else "No checkpoint had been written yet")
    return (
        f"non-finite {what} at step {step} (loss {loss}, gradient norm {norm}; last "
        f"finite gradient norm {last_norm:.4g}). {kept}. Try a lower --lr (now {lr:g}) and "
        f"--clip-norm 1.0, or --nonfinite skip|rollback."
    )
