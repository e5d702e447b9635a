"""The non-finite guard: what training does when a step's loss or gradient norm is NaN/Inf, or
its loss explodes (rises above ``explode_factor`` times the run's first loss: a diverging run,
caught before its numbers overflow).

``--nonfinite`` picks the policy:

- ``stop``: raise :class:`seqframe.errors.NonFiniteError` naming the step, the norms and the last
  good checkpoint, which is left as it was.
- ``skip``: drop the rest of the batch and start the next one from a zero state, since the
  carried state may be poisoned too; gives up after ``MAX_CONSECUTIVE_SKIPS`` failures in a row.
- ``rollback``: reload the ``latest`` checkpoint and halve the learning rate; gives up after
  ``MAX_ROLLBACKS`` rollbacks in one run.

:func:`decide` only decides; the trainer applies the decision and keeps the counters
(``skipped``, ``consecutive_skips``, ``rollbacks``, ``lr_scale``) in its
:class:`seqframe.training.loopstate.LoopState`, so they are checkpointed with everything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .loopstate import LoopState

NONFINITE_POLICIES = ("stop", "skip", "rollback")
MAX_CONSECUTIVE_SKIPS = 10
MAX_ROLLBACKS = 10


def check_policy(policy: str) -> None:
    """Reject an unknown ``--nonfinite`` value, listing the known ones."""
    if policy not in NONFINITE_POLICIES:
        raise ConfigError(f"--nonfinite must be one of {', '.join(NONFINITE_POLICIES)}; "
                          f"got {policy!r}.")


@dataclass(frozen=True)
class Decision:
    """What to do about a step whose loss or gradient norm was not finite.

    Attributes:
        action: ``"skip"`` (drop the rest of the batch), ``"rollback"`` (reload the ``latest``
            checkpoint and halve the learning rate) or ``"stop"`` (raise
            :class:`seqframe.errors.NonFiniteError` with ``message``).
        message: for ``stop`` the whole error message; otherwise the one-line warning.
    """

    action: str
    message: str


def decide(policy: str, state: LoopState, loss: float, norm: float, *, last_norm: float,
           lr: float, latest: Path, exploded: tuple[float, float] | None = None) -> Decision:
    """The ``--nonfinite`` policy applied to a failed step (no update was made).

    Args:
        policy: ``stop``, ``skip`` or ``rollback``.
        state: the loop's counters (``step``, ``consecutive_skips``, ``rollbacks``), read only.
        loss: the step's mean loss; ``norm``: its gradient norm before clipping.
        last_norm: the last finite gradient norm; ``lr``: the configured learning rate;
        latest: where the ``latest`` checkpoint lives.
        exploded: ``(reference loss, factor)`` when the step failed because its finite loss
            exceeded ``factor * max(|reference|, 1)``; None for a NaN/Inf step.

    Returns:
        The decision; the trainer applies it (and keeps the counters).
    """
    step = state.step + 1
    if exploded is None:
        message = explain(loss, norm, step=step, last_norm=last_norm, lr=lr, latest=latest)
        what = message.split(" (loss")[0]  # "non-finite loss at step N", for the warnings
    else:
        message = explain_explosion(loss, step, *exploded, lr=lr, latest=latest)
        what = message.split(":")[0]  # "loss exploded at step N"
    if policy == "skip" and state.consecutive_skips < MAX_CONSECUTIVE_SKIPS:
        return Decision("skip", f"{what}; skipping the batch")
    if policy == "rollback" and state.rollbacks < MAX_ROLLBACKS:
        return Decision("rollback", what)
    if policy != "stop":
        message += f" ({policy} did not help: gave up after repeated failures.)"
    return Decision("stop", message)


def _kept(latest: Path) -> str:
    return (f"The last good checkpoint is kept in {latest}" if latest.exists()
            else "No checkpoint had been written yet")


def explain(loss: float, norm: float, step: int, last_norm: float, lr: float,
            latest: Path) -> str:
    """What went wrong at ``step`` (1-based), whether a checkpoint survives, and what to try."""
    what = "loss" if not math.isfinite(loss) else "gradient norm"
    return (
        f"non-finite {what} at step {step} (loss {loss}, gradient norm {norm}; last "
        f"finite gradient norm {last_norm:.4g}). {_kept(latest)}. Try a lower --lr (now "
        f"{lr:g}) and --clip-norm 1.0, or --nonfinite skip|rollback."
    )


def explain_explosion(loss: float, step: int, reference: float, factor: float, lr: float,
                      latest: Path) -> str:
    """The message for a finite loss above ``factor * max(|reference|, 1)``."""
    return (
        f"loss exploded at step {step}: {loss:.4g} is more than {factor:g} times the run's "
        f"first loss ({reference:.4g}, at least 1 counted), so the run is diverging. "
        f"{_kept(latest)}. Try a lower --lr (now {lr:g}) and --clip-norm 1.0, or --nonfinite "
        f"skip|rollback; --explode-factor sets the factor (0 = off)."
    )
