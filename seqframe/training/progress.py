"""What a user watches during a run: a progress bar on stderr and ``metrics.jsonl``.

The bar shows the optimizer step, the training loss, the pre-clip gradient norm, the last
validation metric, throughput (time steps per second) and the ETA; ``--quiet`` turns it off.
``metrics.jsonl`` gets one JSON object per evaluation -- the file curves and external tools read.
:class:`InterruptFlag` turns the user's Ctrl-C into a clean stop between optimizer steps.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import DataError
from .safefiles import atomic_write_bytes, check_no_link, open_append


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

    Checkpoints record the file's size after :meth:`sync` has forced it to disk, so a checkpoint
    never counts records the disk does not hold. A resumed run cuts the file back to that size
    (:meth:`restore`), so evaluations done after that checkpoint by the killed process are not
    listed twice; a file shorter than that, or damaged, is repaired to its valid records with a
    warning. Writes never follow a symbolic link. ``enabled=False`` (data-parallel ranks other
    than 0) reads but never writes.
    """

    def __init__(self, path: str | Path, enabled: bool = True):
        self.path = Path(path)
        self.enabled = enabled

    def size(self) -> int:
        """Current size in bytes (what a checkpoint records)."""
        return self.path.stat().st_size if self.path.exists() else 0

    def sync(self) -> None:
        """Force the records written so far to disk (before a checkpoint records the size)."""
        if self.enabled and self.path.exists():
            with open_append(self.path) as fh:
                os.fsync(fh.fileno())

    def restore(self, size: int) -> str | None:
        """Cut the file back to the ``size`` bytes a checkpoint recorded (resume).

        Returns:
            None, or a warning when the file was shorter than ``size`` or its records up to
            there were damaged: it then keeps the valid records before the first bad one.
        """
        if not self.enabled:
            return None
        check_no_link(self.path)
        data = self.path.read_bytes() if self.path.exists() else b""
        keep = valid_prefix(data[:size])
        if len(keep) == size:
            if len(data) > size:
                with open_append(self.path) as fh:
                    fh.truncate(size)
            return None
        atomic_write_bytes(self.path, keep)
        kept = keep.count(b"\n")
        why = (f"holds {len(data)} bytes but the checkpoint recorded {size}" if len(data) < size
               else "is damaged")
        return (f"{self.path} {why}; kept its first {kept} valid record(s). Evaluations after "
                f"those are missing from it and from curves.png; training resumes exactly.")

    def append(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open_append(self.path) as fh:
            fh.write((json.dumps(record) + "\n").encode("utf-8"))

    def read(self) -> list[dict[str, Any]]:
        """Every record written so far.

        Raises:
            DataError: a line that is not a JSON object (the file was edited or damaged).
        """
        if not self.path.exists():
            return []
        records = []
        for number, line in enumerate(self.path.read_text("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                raise DataError(f"{self.path}, line {number}: not a JSON record ({line[:40]!r}); "
                                f"the file was edited or damaged. Delete the line (or the file: "
                                f"it only feeds curves.png).")
            records.append(record)
        return records


def valid_prefix(data: bytes) -> bytes:
    """The complete lines of ``data`` that are JSON objects, up to the first one that is not."""
    end = 0
    while True:
        newline = data.find(b"\n", end)
        if newline < 0:
            return data[:end]
        try:
            record = json.loads(data[end:newline].decode("utf-8"))
        except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
            return data[:end]
        if not isinstance(record, dict):
            return data[:end]
        end = newline + 1


class InterruptFlag:
    """Turn the first Ctrl-C (SIGINT) or SIGTERM into a flag the loop checks between steps.

    The loop then writes a checkpoint of a consistent state and raises
    :class:`seqframe.training.trainer.Interrupted`, whose exit code is 128 + the signal (130 for
    Ctrl-C, 143 for SIGTERM, what schedulers such as SLURM and Kubernetes send before a kill). A
    second Ctrl-C gets Python's default behaviour (KeyboardInterrupt at once); a second SIGTERM
    changes nothing. Outside the main thread signal handlers cannot be installed and Ctrl-C is a
    plain KeyboardInterrupt.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, log: Callable = print):
        self.set = False
        self.signum: int | None = None
        self.log = log
        self._previous: dict[int, Any] = {}

    def _handler(self, signum, frame) -> None:
        first = not self.set
        self.set = True
        self.signum = self.signum or signum
        if signum == signal.SIGINT:
            signal.signal(signum, self._previous.get(signum) or signal.default_int_handler)
            self.log("interrupt: finishing this step and writing a checkpoint (Ctrl-C again to "
                     "abort)")
        elif first:
            # A scheduler may send SIGTERM to every process and the launcher pass it on again:
            # a repeat must not cut the checkpoint short (the scheduler's SIGKILL comes anyway).
            self.log(f"{signal.Signals(signum).name}: finishing this step and writing a "
                     f"checkpoint")

    def __enter__(self) -> InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}
