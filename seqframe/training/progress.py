"""What a user watches during a run: a progress bar on stderr and ``metrics.jsonl``.

The bar shows the optimizer step, the training loss, the pre-clip gradient norm, the last
validation metric, throughput (time steps per second) and the ETA; ``--quiet`` turns it off.
``metrics.jsonl`` gets one JSON object per evaluation -- the file curves and external tools read.
:class:`InterruptFlag` turns the user's Ctrl-C into a clean stop between optimizer steps.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm


class ProgressBar:
    """A tqdm bar over optimizer steps; every method is a no-op when ``quiet``."""

    def __init__(self, total: int | None, initial: int = 0, quiet: bool = False,
                 desc: str = "train"):
        self.bar = None
        if not quiet:
            self.bar = tqdm(total=total, initial=initial, desc=desc, unit="step", file=sys.stderr,
                            dynamic_ncols=True, leave=True)
        self.fields: dict[str, str] = {}

    def update(self, step: int, loss: float, throughput: float | None = None,
               grad_norm: float | None = None) -> None:
        """Advance to ``step``; show the loss, the pre-clip gradient norm, time steps per second."""
        if self.bar is None:
            return
        self.fields["loss"] = f"{loss:.4g}"
        if grad_norm is not None:
            self.fields["|g|"] = f"{grad_norm:.3g}"
        if throughput is not None and math.isfinite(throughput):
            self.fields["tok/s"] = f"{throughput:.3g}"
        self.bar.set_postfix(self.fields, refresh=False)
        self.bar.update(step - self.bar.n)

    def show_metric(self, name: str, value: float) -> None:
        """Keep the last validation metric on the bar."""
        if self.bar is not None:
            self.fields[name] = f"{value:.4g}"
            self.bar.set_postfix(self.fields)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class MetricsLog:
    """``metrics.jsonl``: one JSON object per evaluation, appended and flushed immediately.

    A resumed run truncates the file back to the size recorded in its checkpoint, so evaluations
    done after that checkpoint by the killed process are not listed twice. ``enabled=False``
    (data-parallel ranks other than 0) reads but never writes.
    """

    def __init__(self, path: str | Path, enabled: bool = True):
        self.path = Path(path)
        self.enabled = enabled

    def size(self) -> int:
        """Current size in bytes (what a checkpoint records)."""
        return self.path.stat().st_size if self.path.exists() else 0

    def truncate(self, size: int) -> None:
        """Cut the file back to ``size`` bytes (resume)."""
        if self.enabled and self.path.exists():
            with self.path.open("r+b") as fh:
                fh.truncate(size)

    def append(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def read(self) -> list[dict[str, Any]]:
        """Every record written so far."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


class InterruptFlag:
    """Turn the first Ctrl-C into a flag the loop checks between optimizer steps.

    The loop then writes a checkpoint of a consistent state and raises :class:`Interrupted`. A
    second Ctrl-C gets Python's default behaviour (KeyboardInterrupt at once). Outside the main
    thread signal handlers cannot be installed and Ctrl-C is a plain KeyboardInterrupt.
    """

    def __init__(self, log: Callable = print):
        self.set = False
        self.log = log
        self._previous = None

    def _handler(self, signum, frame) -> None:
        self.set = True
        signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)
        self.log("interrupt: finishing this step and writing a checkpoint (Ctrl-C again to abort)")

    def __enter__(self) -> InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
