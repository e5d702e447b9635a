"""Cheap reference classifiers for the words mode, on one summary vector per recording.

The summary of a recording is the mean and the standard deviation over its frames of the
*un-normalised* static features (C MFCCs or M log energies): after per-utterance normalisation
every recording's mean would be zero. Summaries are z-scored with the reference set's statistics.

* ``majority_class``: always the reference set's most frequent label.
* ``nearest_centroid``: the label whose mean summary is nearest (Euclidean).
* ``1nn_euclidean``: the label of the nearest reference summary.
"""

from __future__ import annotations

import numpy as np

from seqframe import metrics


def summary(static: np.ndarray) -> np.ndarray:
    """``(T, C) -> (2C,)``: mean and standard deviation over frames."""
    return np.concatenate([static.mean(axis=0), static.std(axis=0)])


def _distances(queries: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(N, M)``."""
    d = (queries**2).sum(1)[:, None] + (refs**2).sum(1)[None, :] - 2.0 * queries @ refs.T
    return np.maximum(d, 0.0)


def predictions(ref_x: np.ndarray, ref_y: np.ndarray, x: np.ndarray, n_classes: int
                ) -> dict[str, np.ndarray]:
    """Class ids predicted for ``x`` (N, F) by each baseline fitted on ``ref_x`` (M, F)."""
    mean, std = ref_x.mean(0), ref_x.std(0)
    std = np.where(std > 1e-12, std, 1.0)
    ref_z, z = (ref_x - mean) / std, (x - mean) / std
    present = np.unique(ref_y)
    centroids = np.stack([ref_z[ref_y == c].mean(0) for c in present])  # (K, F)
    return {
        "majority_class": np.full(len(x), np.bincount(ref_y, minlength=n_classes).argmax()),
        "nearest_centroid": present[np.argmin(_distances(z, centroids), axis=1)],
        "1nn_euclidean": ref_y[np.argmin(_distances(z, ref_z), axis=1)],
    }


def scores(ref_x: np.ndarray, ref_y: np.ndarray, x: np.ndarray, y: np.ndarray, n_classes: int
           ) -> dict[str, dict[str, float]]:
    """``accuracy`` and ``macro_f1`` of every baseline on ``(x, y)``."""
    return {name: {"accuracy": metrics.accuracy(y, p), "macro_f1": metrics.macro_f1(y, p)}
            for name, p in predictions(ref_x, ref_y, x, n_classes).items()}
