"""Recommendations for item histories: the top K items the model scores next."""

from __future__ import annotations

from typing import Any

import numpy as np

from seqframe.errors import DataError
from seqframe.task import Predictor

from .evaluation import run_model
from .sequences import Catalogue

Recommendation = tuple[Any, float, "str | None"]  # (raw item id, score, title or None)


def encode_histories(catalogue: Catalogue, histories: list[list[Any]],
                     ids: str) -> list[np.ndarray]:
    """Raw-id histories -> internal ids; a DataError lists every unknown id and empty history."""
    encoded, unknown = [], []
    for n, history in enumerate(histories):
        if isinstance(history, (str, bytes)) or not hasattr(history, "__len__"):
            raise DataError(f"history {n} is {history!r}; expected a list of item ids.")
        if not len(history):
            raise DataError(f"history {n} is empty; give at least one item id to recommend "
                            "after.")
        items, missing = catalogue.encode(list(history), ids)
        encoded.append(items)
        unknown += [(n, m) for m in missing]
    if unknown:
        shown = ", ".join(f"{m!r} (history {n})" for n, m in unknown[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        raise DataError(
            f"unknown item id(s): {shown}{more}. The model knows the {catalogue.size} items of "
            "its training data (ids as in the data file); use those."
        )
    return encoded


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None) -> np.ndarray:
    """The ``k`` best items of one score row ``(V,)``; ties go to the lower item id."""
    s = np.where(np.isnan(scores), -np.inf, np.asarray(scores, dtype=np.float64))
    allowed = np.ones(len(s), dtype=bool)
    allowed[0] = False
    if exclude is not None:
        allowed[exclude] = False
    items = np.flatnonzero(allowed)
    best = items[np.argsort(-s[items], kind="stable")]
    return best[:k]


def recommend(predictor: Predictor, catalogue: Catalogue, histories: list[list[Any]], k: int,
              exclude_seen: bool, ids: str, context: int) -> list[list[Recommendation]]:
    """Per history, the top ``k`` (raw id, score, title) after it; scores are the model's raw
    outputs (higher is better). The model reads the last ``context`` items of each history."""
    if k < 1:
        raise DataError(f"k must be 1 or more, got {k}.")
    encoded = encode_histories(catalogue, histories, ids)
    windows = [h[-context:] for h in encoded]
    out: list[list[Recommendation]] = [[] for _ in encoded]
    for idx, outputs in run_model(predictor, windows, catalogue.size + 1):
        for row, i in enumerate(idx):
            scores = outputs[row, len(windows[i]) - 1]  # (V,) after the history's last item
            best = top_k(scores, k, encoded[i] if exclude_seen else None)
            out[i] = [(catalogue.raw[b - 1], float(scores[b]), catalogue.titles[b - 1])
                      for b in best]
    return out
