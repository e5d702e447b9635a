"""CTC decoding: hand-worked best paths, a case where beam search beats greedy, brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from seqframe_speech.decode import beam_search, greedy


def frames(*rows):
    """Log of per-frame probability rows (each row sums to 1)."""
    return np.log(np.asarray(rows, dtype=np.float64))


def collapse(path, blank=0):
    out, previous = [], blank
    for s in path:
        if s != blank and s != previous:
            out.append(s)
        previous = s
    return tuple(out)


def brute_force(log_probs):
    """p(labelling) for every labelling, by summing over all V^T paths."""
    T, V = log_probs.shape
    totals: dict[tuple, float] = {}
    for path in itertools.product(range(V), repeat=T):
        p = math.exp(sum(log_probs[t, s] for t, s in enumerate(path)))
        totals[collapse(path)] = totals.get(collapse(path), 0.0) + p
    return totals


def test_greedy_merges_repeats_and_drops_blanks():
    # best symbols per frame: a a - a b b -  ->  a a b
    lp = frames(*[[0.1, 0.8, 0.1]] * 2, [0.7, 0.2, 0.1], [0.2, 0.6, 0.2],
                *[[0.1, 0.2, 0.7]] * 2, [0.5, 0.3, 0.2])
    labels, score = greedy(lp)
    assert labels == [1, 1, 2]
    assert score == pytest.approx(math.log(0.8 * 0.8 * 0.7 * 0.6 * 0.7 * 0.7 * 0.5))


def test_beam_search_beats_greedy_when_alignments_add_up():
    # two frames, blank 0.6 / a 0.4 each. Greedy: "- -" -> nothing, p = 0.36. But "a" has the
    # paths "a -", "- a", "a a": 0.24 + 0.24 + 0.16 = 0.64.
    lp = frames([0.6, 0.4], [0.6, 0.4])
    assert greedy(lp) == ([], pytest.approx(math.log(0.36)))
    labels, score = beam_search(lp, width=2)
    assert labels == [1] and score == pytest.approx(math.log(0.64))


def test_beam_search_keeps_a_blank_separated_repeat():
    lp = frames([0.05, 0.9, 0.05], [0.9, 0.05, 0.05], [0.05, 0.9, 0.05])
    assert beam_search(lp, width=4)[0] == [1, 1]
    lp = frames([0.05, 0.9, 0.05], [0.05, 0.9, 0.05], [0.9, 0.05, 0.05])
    assert beam_search(lp, width=4)[0] == [1]


@pytest.mark.parametrize("seed", range(4))
def test_wide_beam_is_exact_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(3), size=5)  # T = 5 frames, V = 3: 243 paths
    lp = np.log(probs)
    totals = brute_force(lp)
    best = max(totals, key=totals.get)
    labels, score = beam_search(lp, width=1000, prune=None)
    assert tuple(labels) == best
    assert score == pytest.approx(math.log(totals[best]), rel=1e-12)
    assert greedy(lp)[1] <= score + 1e-12  # one path never outweighs all of them


def test_pruning_keeps_the_best_symbol_of_every_frame():
    lp = frames([0.2, 0.3, 0.5], [0.2, 0.3, 0.5])
    assert beam_search(lp, width=3, prune=0.0)[0] == [2]  # only the argmax extends at prune=0
    assert beam_search(lp, width=3)[0] == [2]


def test_width_must_be_positive():
    with pytest.raises(ValueError, match="beam width must be at least 1"):
        beam_search(frames([0.5, 0.5]), width=0)
