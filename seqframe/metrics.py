"""Classification metrics on integer class ids: accuracy, macro F1, confusion matrix (text, PNG).

Shared by every task that labels sequences (gesture, speech words, ...).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of cases predicted right."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``(n_classes, n_classes)``: row = true class, column = predicted class."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean of the per-class F1 scores.

    The classes averaged over are those that occur in ``y_true`` or ``y_pred`` (scikit-learn's
    default); a class with no true positive scores 0.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if not len(y_true):
        return float("nan")
    scores = []
    for c in np.union1d(y_true, y_pred):
        tp = np.sum((y_true == c) & (y_pred == c))
        fp = np.sum((y_true != c) & (y_pred == c))
        fn = np.sum((y_true == c) & (y_pred != c))
        scores.append(2 * tp / (2 * tp + fp + fn))  # F1 = 2PR/(P+R), never 0/0 here
    return float(np.mean(scores))


def confusion_text(counts: np.ndarray, labels: Sequence[str], title: str = "") -> str:
    """The confusion matrix as an aligned text table (rows true, columns predicted)."""
    names = [str(label) for label in labels]
    width = max(5, *(len(n) for n in names), len(str(int(counts.max(initial=0)))))
    corner = "true \\ pred"
    first = max(len(corner), *(len(n) for n in names)) + 2
    head = corner.ljust(first) + " ".join(n.rjust(width) for n in names)
    rows = [
        names[i].ljust(first) + " ".join(str(int(v)).rjust(width) for v in counts[i])
        for i in range(len(names))
    ]
    total = int(counts.sum())
    right = int(np.trace(counts))
    footer = f"{right}/{total} correct" + (f" ({right / total:.4f})" if total else "")
    return "\n".join(([title] if title else []) + [head, *rows, footer]) + "\n"


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
