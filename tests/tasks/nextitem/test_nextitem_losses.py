"""BPR-max and TOP1-max: hand-computed cases, finite differences, torch autograd, backend parity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqframe_nextitem.losses import BPRMax, TOP1Max
from seqframe_numpy import NumpyOps

from seqframe.errors import ConfigError
from seqframe.task import ModelSpec

LOSSES = {"bpr_max": BPRMax, "top1_max": TOP1Max}
V, F = 7, 3  # classes (0 is padding, never a target), feature width


def _torch_ops():
    pytest.importorskip("torch")
    from seqframe_torch.ops import TorchOps

    return TorchOps(dtype="float64", device="cpu", fused=False)


def make(name: str, **options):
    """A loss prepared with the counts below: class 0 (padding) and 6 never drawn."""
    loss = LOSSES[name](**options)
    loss.prepare(ModelSpec(V, V, "every_step", name, class_frequencies=(0, 5, 3, 2, 1, 4, 0)))
    return loss


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def direct(name: str, r_t: float, negatives: list[float], reg: float = 1.0) -> float:
    """The papers' per-row formula, term by term (no log-sum-exp, no shared code)."""
    z = sum(math.exp(r) for r in negatives)
    s = [math.exp(r) / z for r in negatives]
    if name == "bpr_max":
        p = sum(sj * sigmoid(r_t - r) for sj, r in zip(s, negatives, strict=True))
        return -math.log(p) + reg * sum(sj * r * r for sj, r in zip(s, negatives, strict=True))
    return sum(sj * (sigmoid(r - r_t) + sigmoid(r * r)) for sj, r in zip(s, negatives,
                                                                          strict=True))


def evaluate(ops, loss, feats, weight, bias, targets, weights, seed=3, grad=True):
    res = loss.loss_and_grad_features(
        ops, ops.asarray(feats), ops.asarray(weight), ops.asarray(bias),
        ops.asarray(np.asarray(targets), "int64"), ops.asarray(np.asarray(weights, float)),
        grad=grad, rng=np.random.default_rng(seed))
    out = [float(ops.to_numpy(res.loss_sum)), float(ops.to_numpy(res.count))]
    if grad:
        out += [ops.to_numpy(a) for a in (res.d_outputs, res.d_weight, res.d_bias)]
    return out


def problem(seed: int = 0):
    """Six rows (the fourth is padding), their targets, and a readout over V classes."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(6, F))
    weight, bias = rng.normal(size=(V, F)), 0.3 * rng.normal(size=V)
    targets = np.array([1, 2, 1, 0, 5, 3])  # 1 twice: each is the other's accidental hit
    weights = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    return feats, weight, bias, targets, weights


# ---- hand-computed -------------------------------------------------------------------------

def one_row(r_t: float, negatives: list[float]):
    """Features, weight, bias giving one row the score ``r_t`` for target 1 and the given
    scores for classes 2, 3, ...: feature 1, scores in the bias."""
    weight = np.zeros((2 + len(negatives), 1))
    bias = np.array([0.0, r_t, *negatives])
    return np.ones((1, 1)), weight, bias


@pytest.mark.parametrize("name, expected", [("bpr_max", math.log(2.0)), ("top1_max", 1.0)])
def test_equal_scores(name, expected):
    # two rows, targets 1 and 2, every score 0: each row's only negative is the other's target.
    # BPR-max: -log sigmoid(0) = log 2 (the regulariser is 0 at 0); TOP1-max: 2 sigmoid(0) = 1
    feats, weight, bias = one_row(0.0, [0.0])
    got = evaluate(NumpyOps(dtype="float64"), make(name, samples=0), np.vstack([feats, feats]),
                   weight, bias, [1, 2], [1.0, 1.0])
    assert got[0] == pytest.approx(2 * expected, abs=1e-12) and got[1] == 2.0


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_padding_rows_neither_count_nor_give_negatives(name):
    feats, weight, bias = one_row(0.0, [0.0])
    got = evaluate(NumpyOps(dtype="float64"), make(name, samples=0), np.vstack([feats, feats]),
                   weight, bias, [1, 2], [1.0, 0.0])
    assert got[0] == 0.0 and got[1] == 1.0  # row 0 is left with no negative at all


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_the_papers_formula_with_a_softmax_over_negatives(name):
    # scores: class 1 -> 0.5, class 2 -> -1.0, class 3 -> 2.0; the proposal can only draw 2
    feats, weight, bias = one_row(0.5, [-1.0, 2.0])
    loss = LOSSES[name](samples=3, reg=0.5) if name == "bpr_max" else LOSSES[name](samples=3)
    loss.prepare(ModelSpec(4, 4, "every_step", name, class_frequencies=(0, 0, 7, 0)))
    got = evaluate(NumpyOps(dtype="float64"), loss, np.vstack([feats, feats]), weight, bias,
                   [1, 3], [1.0, 1.0], grad=False)
    # row 0 (target 1): negatives 3 (in-batch, 2.0) and 2, 2, 2 (sampled, -1.0 each);
    # row 1 (target 3): negatives 1 (0.5) and 2, 2, 2; its own target is left out
    reg = {"reg": 0.5} if name == "bpr_max" else {}
    expected = direct(name, 0.5, [2.0, -1.0, -1.0, -1.0], **reg) + \
        direct(name, 2.0, [0.5, -1.0, -1.0, -1.0], **reg)
    assert got[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_a_row_without_negatives_has_loss_zero(name):
    # both rows have target 1: each one's only negative is its own target
    feats, weight, bias = one_row(0.0, [1.0])
    got = evaluate(NumpyOps(dtype="float64"), make(name, samples=0), np.vstack([feats, feats]),
                   weight, bias, [1, 1], [1.0, 1.0])
    assert got[0] == 0.0 and got[1] == 2.0
    assert all(not np.any(g) for g in got[2:])


def test_bpr_max_does_not_underflow():
    # sigmoid(r_t - r_j) ~ e^-200 for every negative: a plain -log P would be -log 0
    feats, weight, bias = one_row(-100.0, [100.0, 100.0])
    loss = BPRMax(samples=4, reg=0.0)
    loss.prepare(ModelSpec(4, 4, "every_step", "bpr_max", class_frequencies=(0, 0, 1, 1)))
    got = evaluate(NumpyOps(dtype="float64"), loss, feats, weight, bias, [1], [1.0])
    assert got[0] == pytest.approx(200.0, rel=1e-9)  # -log sigmoid(-200) = 200 + log(1+e^-200)
    assert np.isfinite(got[2]).all() and np.isfinite(got[3]).all()


# ---- gradients: finite differences, torch autograd, backend parity -------------------------

CONFIGS = [("bpr_max", {"samples": 4}), ("bpr_max", {"samples": 0, "reg": 0.3}),
           ("top1_max", {"samples": 4}), ("top1_max", {"samples": 5, "in_batch": 0,
                                                      "alpha": 0.0}),
           ("bpr_max", {"samples": 2, "in_batch": 3})]


@pytest.mark.parametrize("name, options", CONFIGS)
def test_gradients_match_finite_differences(name, options):
    ops = NumpyOps(dtype="float64")
    loss = make(name, **options)
    feats, weight, bias, targets, weights = problem()
    _, _, d_feats, d_weight, d_bias = evaluate(ops, loss, feats, weight, bias, targets, weights)
    arrays = [feats, weight, bias]
    for k, analytic in enumerate([d_feats, d_weight, d_bias]):
        numeric = np.zeros_like(analytic)
        for index in np.ndindex(analytic.shape):
            plus, minus = [a.copy() for a in arrays], [a.copy() for a in arrays]
            plus[k][index] += 1e-6
            minus[k][index] -= 1e-6
            # the same draw of negatives each time (seed 3)
            numeric[index] = (evaluate(ops, loss, *plus, targets, weights, grad=False)[0]
                              - evaluate(ops, loss, *minus, targets, weights, grad=False)[0]) / 2e-6
        np.testing.assert_allclose(analytic, numeric, atol=1e-7, rtol=1e-6)
    assert not d_feats[3].any()  # the padding row gets no gradient


@pytest.mark.torch
@pytest.mark.parametrize("name, options", CONFIGS)
def test_gradients_match_torch_autograd_of_the_direct_formula(name, options):
    torch = pytest.importorskip("torch")
    loss = make(name, **options)
    feats, weight, bias, targets, weights = problem(1)
    got = evaluate(NumpyOps(dtype="float64"), loss, feats, weight, bias, targets, weights)
    f, w, b = (torch.tensor(a, requires_grad=True) for a in (feats, weight, bias))
    counted = np.flatnonzero(weights > 0)
    cols = loss.negatives(targets[counted], np.random.default_rng(3), V)  # the same draw
    total = torch.zeros((), dtype=torch.float64)
    for i in counted:
        negs = [int(c) for c in cols if c != targets[i]]
        r_t = f[i] @ w[targets[i]] + b[targets[i]]
        r = torch.stack([f[i] @ w[c] + b[c] for c in negs])
        s = torch.softmax(r, 0)
        if name == "bpr_max":
            row = -torch.log((s * torch.sigmoid(r_t - r)).sum()) + \
                loss.opts["reg"] * (s * r * r).sum()
        else:
            row = (s * (torch.sigmoid(r - r_t) + torch.sigmoid(r * r))).sum()
        total = total + row
    total.backward()
    assert got[0] == pytest.approx(float(total.detach()), rel=1e-12)
    for mine, theirs in zip(got[2:], (f.grad, w.grad, b.grad), strict=True):
        np.testing.assert_allclose(mine, theirs.numpy(), atol=1e-12, rtol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("name, options", CONFIGS)
def test_numpy_and_torch_agree_in_float64(name, options):
    loss = make(name, **options)
    data = problem(2)
    a = evaluate(NumpyOps(dtype="float64"), loss, *data)
    b = evaluate(_torch_ops(), loss, *data)
    assert abs(a[0] - b[0]) <= 1e-9 and a[1] == b[1]
    for x, y in zip(a[2:], b[2:], strict=True):
        assert np.abs(x - y).max() <= 1e-9


# ---- negatives -------------------------------------------------------------------------------

def test_popularity_draw_follows_count_to_the_alpha():
    loss = make("bpr_max", samples=200_000, alpha=0.5)
    drawn = loss.draw(np.random.default_rng(0), V)
    freq = np.bincount(drawn, minlength=V) / len(drawn)
    expected = np.sqrt([0, 5, 3, 2, 1, 4, 0]) / np.sqrt([5, 3, 2, 1, 4]).sum()
    np.testing.assert_allclose(freq, expected, atol=0.005)
    assert freq[0] == 0 and freq[6] == 0  # zero counts (padding, untrained items): never


def test_negatives_are_in_batch_targets_then_samples():
    loss = make("top1_max", samples=3)
    cols = loss.negatives(np.array([4, 2, 4]), np.random.default_rng(1), V)
    assert cols[:3].tolist() == [4, 2, 4] and len(cols) == 6
    assert make("top1_max", samples=3, in_batch=0).negatives(
        np.array([4, 2]), np.random.default_rng(1), V).tolist() == cols[3:].tolist()


def test_at_most_in_batch_targets_are_taken():
    loss = make("bpr_max", samples=0, in_batch=4)
    targets = np.arange(100, 110)
    picks = [loss.negatives(targets, np.random.default_rng(seed), V) for seed in range(200)]
    assert all(len(p) == 4 and len(set(p.tolist())) == 4 for p in picks)  # no row twice
    assert all(np.all(np.diff(p) > 0) for p in picks)  # kept in row order
    counts = np.bincount(np.concatenate(picks) - 100, minlength=10)
    assert counts.min() > 50 and counts.max() < 110  # each row ~80 times of 200: uniform


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="has no negatives: samples and in_batch are both 0"):
        BPRMax(samples=0, in_batch=0)
    with pytest.raises(ConfigError, match="option 'in_batch' must be 0 or more; got -2"):
        BPRMax(in_batch=-2)
    with pytest.raises(ConfigError, match="option 'samples' must be 0 or more; got -1"):
        TOP1Max(samples=-1)
    with pytest.raises(ConfigError, match="unknown option 'reg' for loss 'top1_max'"):
        TOP1Max(reg=1.0)
    with pytest.raises(ConfigError, match="needs the task's class frequencies"):
        BPRMax().prepare(ModelSpec(5, 5, "every_step", "bpr_max"))
    BPRMax(samples=0).prepare(ModelSpec(5, 5, "every_step", "bpr_max"))  # in-batch only: fine
