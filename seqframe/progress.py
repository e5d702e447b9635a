"""What a user watches during a run: a progress bar on stderr and ``metrics.jsonl``.

The bar shows the optimizer step, the training loss, the last validation metric, throughput
(time steps per second) and the ETA; ``--quiet`` turns it off. ``metrics.jsonl`` gets one JSON
object per evaluation -- the file curves and external tools read.
"""

from __future__ import annotations

import json
import math
import sys
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

    def update(self, step: int, loss: float, throughput: float | None = None) -> None:
        """Advance to ``step`` and show the latest loss and time steps per second."""
        if self.bar is None:
            return
        self.fields["loss"] = f"{loss:.4g}"
        if throughput is not None and math.isfinite(throughput):
            self.fields["tok/s"] = f"{throughput:.3g}"
        self.bar.set_postfix(self.fields, refresh=False)
        self.bar.update(step - self.bar.n)

    def show_metric(self, name: str, value: float) -> None:
        """Keep the last validation metric on the bar."""
        if self.bar is not None:
            self.fields[name] = f"{value:.4g}"
            self.bar.set_postfix(self.fields)

    def write(self, line: str) -> None:
        """Print a line without breaking the bar."""
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class MetricsLog:
    """``metrics.jsonl``: one JSON object per evaluation, appended and flushed immediately.

    A resumed run truncates the file back to the size recorded in its checkpoint, so evaluations
    done after that checkpoint by the killed process are not listed twice.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def size(self) -> int:
        """Current size in bytes (what a checkpoint records)."""
        return self.path.stat().st_size if self.path.exists() else 0

    def truncate(self, size: int) -> None:
        """Cut the file back to ``size`` bytes (resume)."""
        if self.path.exists():
            with self.path.open("r+b") as fh:
                fh.truncate(size)

    def append(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def read(self) -> list[dict[str, Any]]:
        """Every record written so far."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
