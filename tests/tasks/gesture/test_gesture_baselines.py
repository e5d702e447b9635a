"""1-NN Euclidean and DTW: hand-computed cases, a naive O(n*m) reference, published accuracy."""

from __future__ import annotations

import time

import numpy as np
import pytest
from seqframe_gesture import baselines as nn
from seqframe_gesture.tsformat import read_ts


def naive_dtw(x: np.ndarray, y: np.ndarray) -> float:
    """Textbook full-window DTW with squared step distances, one cell at a time."""
    n, m = len(x), len(y)
    D = np.full((n + 1, m + 1), np.inf)
    D[0, 0] = 0.0
    for i in range(1, n + 1):
        for k in range(1, m + 1):
            cost = float(((x[i - 1] - y[k - 1]) ** 2).sum())
            D[i, k] = cost + min(D[i - 1, k], D[i - 1, k - 1], D[i, k - 1])
    return float(D[n, m])


def col(*values):
    return np.asarray(values, dtype=float)[:, None]


def test_dtw_hand_computed_univariate():
    # costs (x_i - y_k)^2 = [[0, 4], [1, 1], [4, 0]]; best path (0,0)(1,0)(2,1): 0 + 1 + 0
    x, y = col(0, 1, 2), col(0, 2)
    assert nn.dtw_distances([x], [y])[0, 0] == pytest.approx(1.0)
    assert nn.dtw_distances([y], [x])[0, 0] == pytest.approx(1.0)
    # Euclidean pads y with a zero: 0 + (1-2)^2 + (2-0)^2
    assert nn.euclidean_distances([x], [y])[0, 0] == pytest.approx(5.0)


def test_dtw_hand_computed_multivariate():
    x = np.array([[0.0, 0.0], [1.0, 1.0]])
    y = np.array([[1.0, 0.0]])
    assert nn.dtw_distances([x], [y])[0, 0] == pytest.approx(1.0 + 1.0)
    assert nn.euclidean_distances([x], [y])[0, 0] == pytest.approx(1.0 + 2.0)


def test_dtw_matches_naive_reference_on_random_unequal_multivariate():
    rng = np.random.default_rng(7)
    queries = [rng.normal(size=(rng.integers(1, 12), 3)) for _ in range(6)]
    refs = [rng.normal(size=(rng.integers(1, 12), 3)) for _ in range(5)]
    expected = np.array([[naive_dtw(q, r) for r in refs] for q in queries])
    np.testing.assert_allclose(nn.dtw_distances(queries, refs), expected, rtol=1e-10, atol=1e-12)


def test_dtw_chunking_does_not_change_results(monkeypatch):
    rng = np.random.default_rng(3)
    queries = [rng.normal(size=(rng.integers(2, 9), 2)) for _ in range(7)]
    refs = [rng.normal(size=(rng.integers(2, 9), 2)) for _ in range(4)]
    whole = nn.dtw_distances(queries, refs)
    monkeypatch.setattr(nn, "_CHUNK_FLOATS", 1)  # one query per chunk
    np.testing.assert_allclose(nn.dtw_distances(queries, refs), whole, rtol=1e-12)


def test_dtw_of_identical_and_time_shifted_series_is_zero():
    x = col(0, 1, 2, 3)
    assert nn.dtw_distances([x], [x])[0, 0] == 0.0
    assert nn.dtw_distances([col(0, 0, 1, 2, 3, 3)], [x])[0, 0] == 0.0


def test_euclidean_matches_direct_sum():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 2)), rng.normal(size=(3, 2))
    padded = np.vstack([b, np.zeros((2, 2))])
    assert nn.euclidean_distances([a], [b])[0, 0] == pytest.approx(((a - padded) ** 2).sum())


def test_one_nn_takes_the_closest_and_the_first_on_ties():
    d = np.array([[3.0, 1.0, 1.0], [0.5, 2.0, 0.1]])
    np.testing.assert_array_equal(nn.one_nn(d, np.array(["a", "b", "c"])), ["b", "c"])


@pytest.mark.slow
@pytest.mark.parametrize("name, published, ours", [("JapaneseVowels", 0.949, 0.9486),
                                                   ("PickupGestureWiimoteZ", 0.66, 0.70)])
def test_1nn_dtw_on_raw_archive_data_is_near_published(shared_data, name, published, ours):
    """Raw values (no normalisation), full window; Pickup differs from UCR's 0.66, see docs."""
    train = read_ts(shared_data / f"{name}_TRAIN.ts")
    test = read_ts(shared_data / f"{name}_TEST.ts")
    start = time.perf_counter()
    pred = nn.one_nn(nn.dtw_distances(test.series, train.series), np.array(train.labels))
    assert time.perf_counter() - start < 60
    acc = float(np.mean(pred == np.array(test.labels)))
    assert acc == pytest.approx(ours, abs=1e-3)
    assert abs(acc - published) < 0.05
