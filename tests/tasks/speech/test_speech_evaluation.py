"""The speech task's host-side CTC negative log-likelihood (evaluation) against torch's ctc_loss."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_speech.evaluation import EVAL_ROWS, ctc_nll


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_nll_of_unequal_sequences_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    lengths = rng.integers(5, 40, size=EVAL_ROWS + 3)  # more than one padded chunk
    log_probs = [log_softmax(2.0 * rng.normal(size=(n, 6))) for n in lengths]
    targets = [list(rng.integers(1, 6, size=rng.integers(0, 4))) for _ in lengths]
    targets[0] = [2, 2, 2]  # repeats need blanks between them
    T = int(lengths.max())
    padded = np.zeros((T, len(lengths), 6))  # (T, B, V) as torch wants it
    for i, lp in enumerate(log_probs):
        padded[: len(lp), i] = lp
    flat = np.zeros((len(targets), 3), dtype=np.int64)
    for i, t in enumerate(targets):
        flat[i, : len(t)] = t
    ref = torch.nn.functional.ctc_loss(
        torch.tensor(padded), torch.tensor(flat), torch.tensor(lengths),
        torch.tensor([len(t) for t in targets]), blank=0, reduction="none")
    np.testing.assert_allclose(ctc_nll(log_probs, targets), ref.numpy(), rtol=0, atol=1e-9)


def test_an_infeasible_pair_has_infinite_nll():
    log_probs = [log_softmax(np.zeros((2, 3)))]
    assert ctc_nll(log_probs, [[1, 1]]) == np.inf  # "a a" needs three frames
    assert ctc_nll(log_probs, [[1, 2]]) == pytest.approx([2 * np.log(3)])  # the one path
