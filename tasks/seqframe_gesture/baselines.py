"""Nearest-neighbour baselines: 1-NN Euclidean and 1-NN dynamic time warping (DTW).

Both take lists of ``(T_i, D)`` series of any lengths (already normalised the way the model sees
them) and compare cases with the squared Euclidean distance between time steps, summed over the
``D`` channels (the "dependent" multivariate DTW of the UEA archive).

* **Euclidean**: series of unequal length are compared over the longer length, the shorter one
  padded with zeros (the mean, after normalisation).
* **DTW**: full window (no warping constraint), the classic recurrence
  ``D[i, k] = c[i, k] + min(D[i-1, k], D[i-1, k-1], D[i, k-1])``; unequal lengths need no padding.

DTW is vectorised over all (query, reference) pairs of a chunk and over each row of the
cumulative-cost matrix, so only the ``n`` rows are a Python loop (see :func:`_dtw_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_CHUNK_FLOATS = 8_000_000  # ~64 MB of float64 per chunk of pairwise costs


def _pad(series: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(s) for s in series])
    out = np.zeros((len(series), lengths.max(), series[0].shape[1]))  # (N, T_max, D)
    for i, s in enumerate(series):
        out[i, : len(s)] = s
    return out, lengths


def euclidean_distances(queries: Sequence[np.ndarray], refs: Sequence[np.ndarray]) -> np.ndarray:
    """Squared Euclidean distances ``(N, M)``, zero-padding to the longer series of each pair."""
    T = max(max(len(s) for s in queries), max(len(s) for s in refs))
    q, _ = _pad(queries)
    r, _ = _pad(refs)
    q = np.pad(q, ((0, 0), (0, T - q.shape[1]), (0, 0))).reshape(len(q), -1)  # (N, T*D)
    r = np.pad(r, ((0, 0), (0, T - r.shape[1]), (0, 0))).reshape(len(r), -1)  # (M, T*D)
    # zero padding beyond a series' end makes the padded distance exactly the unequal-length one
    d = (q**2).sum(1)[:, None] + (r**2).sum(1)[None, :] - 2.0 * q @ r.T
    return np.maximum(d, 0.0)


def _dtw_rows(cost: np.ndarray, q_len: np.ndarray, r_len: np.ndarray) -> np.ndarray:
    """DTW of a chunk from its step costs ``(P, n, m)``; returns ``(P,)``.

    Within row ``i`` the recurrence ``D[k] = c[k] + min(b[k], D[k-1])`` with
    ``b[k] = min(D_prev[k], D_prev[k-1])`` unrolls to ``D = S + cummin(b + c - S)`` where ``S`` is
    the running sum of ``c`` along the row: a prefix scan numpy does in one call. Padded steps
    beyond a series' end never feed back into its valid cells, so they need no masking.
    """
    P, n, m = cost.shape
    prev = np.full((P, m), np.inf)  # row i-1 of the cumulative cost, (P, m)
    result = np.empty(P)
    rows = np.arange(P)
    for i in range(n):
        b = np.empty((P, m))
        if i == 0:
            b[:, 0], b[:, 1:] = 0.0, np.inf  # the path starts at (0, 0)
        else:
            b[:, 0] = prev[:, 0]
            np.minimum(prev[:, 1:], prev[:, :-1], out=b[:, 1:])
        running = np.cumsum(cost[:, i], axis=1)  # S, (P, m)
        with np.errstate(invalid="ignore"):  # inf - inf cannot occur; inf - finite is inf
            prev = running + np.minimum.accumulate(b + cost[:, i] - running, axis=1)
        done = q_len == i + 1
        result[done] = prev[rows[done], r_len[done] - 1]
    return result


def dtw_distances(queries: Sequence[np.ndarray], refs: Sequence[np.ndarray]) -> np.ndarray:
    """Full-window DTW distances ``(N, M)`` (sum of squared step distances along the path)."""
    q, q_len = _pad(queries)  # (N, n, D)
    r, r_len = _pad(refs)  # (M, m, D)
    N, n, _ = q.shape
    M, m, _ = r.shape
    q_sq, r_sq = (q**2).sum(-1), (r**2).sum(-1)  # (N, n), (M, m)
    out = np.empty((N, M))
    per_query = n * M * m
    step = max(1, _CHUNK_FLOATS // per_query)
    for start in range(0, N, step):
        qs = slice(start, min(N, start + step))
        # step costs of every (query, reference) pair of the chunk: (Nc, n, M, m)
        nc = qs.stop - qs.start
        cross = (q[qs].reshape(nc * n, -1) @ r.reshape(M * m, -1).T).reshape(nc, n, M, m)
        cost = q_sq[qs, :, None, None] + r_sq[None, None] - 2.0 * cross
        cost = np.maximum(cost, 0.0).transpose(0, 2, 1, 3).reshape(-1, n, m)  # (Nc*M, n, m)
        dist = _dtw_rows(cost, np.repeat(q_len[qs], M), np.tile(r_len, nc))
        out[qs] = dist.reshape(nc, M)
    return out


def one_nn(distances: np.ndarray, ref_labels: np.ndarray) -> np.ndarray:
    """Label of each query's nearest reference (ties go to the first reference)."""
    return np.asarray(ref_labels)[np.argmin(distances, axis=1)]
