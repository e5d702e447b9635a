"""What a translate run leaves behind: ``translations.txt`` and attention heat maps (PNG)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqframe.errors import ShapeError


def write_translations(path: str | Path, hypotheses: Sequence[str]) -> Path:
    """One translation a line, in test-set order (``sacrebleu REF -i translations.txt``).

    Line breaks inside a translation would shift every later line against its reference, so
    they become spaces.
    """
    path = Path(path)
    lines = [" ".join(h.splitlines()) for h in hypotheses]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def attention_figure(weights: np.ndarray, source_tokens: Sequence[str],
                     target_tokens: Sequence[str], title: str = ""):
    """A heat map of attention weights: row t = target token t, column s = source token s.

    Args:
        weights: (T, S) attention of each target position over the source positions.
        source_tokens: S labels for the columns.
        target_tokens: T labels for the rows.
        title: shown above the map.

    Returns:
        The matplotlib Figure (the caller closes it).

    Raises:
        ShapeError: the matrix does not match the token lists.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weights = np.asarray(weights, dtype=np.float64)
    expected = (len(target_tokens), len(source_tokens))
    if weights.shape != expected:
        raise ShapeError(
            f"attention weights have shape {weights.shape} but there are {expected[0]} target "
            f"and {expected[1]} source tokens; expected a (T, S) = {expected} matrix."
        )
    T, S = expected
    fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * S + 2.0), max(3.0, 0.35 * T + 1.5)))
    image = ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(S), list(source_tokens), rotation=90)
    ax.set_yticks(range(T), list(target_tokens))
    ax.set_xlabel("source")
    ax.set_ylabel("translation")
    if title:
        ax.set_title("\n".join(textwrap.wrap(title, 60)), fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def attention_png(weights: np.ndarray, source_tokens: Sequence[str],
                  target_tokens: Sequence[str], path: str | Path, title: str = "") -> Path:
    """Draw :func:`attention_figure` into a PNG file at ``path``."""
    import matplotlib.pyplot as plt

    fig = attention_figure(weights, source_tokens, target_tokens, title)
    try:
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return Path(path)
