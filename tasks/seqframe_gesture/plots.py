"""Confusion-matrix picture (matplotlib, Agg: no display needed)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def confusion_png(counts: np.ndarray, labels: Sequence[str], path: Path, title: str) -> Path:
    """Draw the confusion counts (rows true, columns predicted) with each cell's count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(labels)
    size = max(4.0, 0.45 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size, size))
    try:
        ax.imshow(counts, cmap="Blues", vmin=0)
        ax.set_xticks(range(n), [str(label) for label in labels], rotation=90)
        ax.set_yticks(range(n), [str(label) for label in labels])
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title("\n".join(textwrap.wrap(title, int(12 * size))), fontsize=8)
        dark = counts.max(initial=0) / 2
        for i in range(n):
            for j in range(n):
                if counts[i, j]:
                    ax.text(j, i, str(int(counts[i, j])), ha="center", va="center",
                            color="white" if counts[i, j] > dark else "black", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
