"""The hand-written CTC loss: hand-computed cases, finite differences and torch's ctc_loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqframe_numpy import NumpyOps
from seqframe_speech.ctc import ctc_loss, min_frames

from seqframe.errors import ShapeError


def _torch_ops():
    pytest.importorskip("torch")
    from seqframe_torch.ops import TorchOps

    return TorchOps(dtype="float64", device="cpu", fused=False)


BACKENDS = {"numpy": lambda: NumpyOps(dtype="float64"), "torch": _torch_ops}


@pytest.fixture(params=sorted(BACKENDS))
def ops(request):
    return BACKENDS[request.param]()


def run(ops, logits, targets, in_len, tgt_len, **kw):
    loss, grad = ctc_loss(ops, ops.asarray(np.asarray(logits, dtype=np.float64)),
                          np.asarray(targets), np.asarray(in_len), np.asarray(tgt_len), **kw)
    return ops.to_numpy(loss), ops.to_numpy(grad)


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


# ---- hand-computed -----------------------------------------------------------------------------

def test_one_frame_one_label(ops):
    logits = np.array([[[0.3, 1.2, -0.5]]])
    loss, grad = run(ops, logits, [[1]], [1], [1])
    y = np.exp(log_softmax(logits))
    assert loss[0] == pytest.approx(-math.log(y[0, 0, 1]), abs=1e-12)
    np.testing.assert_allclose(grad[0, 0], y[0, 0] - [0, 1, 0], atol=1e-12)


def test_two_frames_sum_three_alignments(ops):
    # l = (a): paths "a a", "- a", "a -" collapse to it; p = y0a y1a + y0- y1a + y0a y1-
    logits = np.array([[[0.2, -0.4], [1.0, 0.5]]])
    y = np.exp(log_softmax(logits))[0]
    p = y[0, 1] * y[1, 1] + y[0, 0] * y[1, 1] + y[0, 1] * y[1, 0]
    loss, _ = run(ops, logits, [[1]], [2], [1])
    assert loss[0] == pytest.approx(-math.log(p), abs=1e-12)


def test_repeated_labels_need_a_blank(ops):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 3, 3))
    assert min_frames([1, 1]) == 3 and min_frames([1, 2]) == 2 and min_frames([2, 2, 2]) == 5
    # three frames for (a, a): the only path is "a - a"
    lp = log_softmax(logits)[0]
    loss, _ = run(ops, logits, [[1, 1]], [3], [2])
    assert loss[0] == pytest.approx(-(lp[0, 1] + lp[1, 0] + lp[2, 1]), abs=1e-12)
    # two frames cannot hold it
    loss, grad = run(ops, logits[:, :2], [[1, 1]], [2], [2])
    assert loss[0] == math.inf and not grad.any()


def test_empty_target_is_all_blanks(ops):
    logits = np.random.default_rng(1).normal(size=(1, 4, 3))
    lp = log_softmax(logits)[0]
    loss, grad = run(ops, logits, [[0]], [4], [0])
    assert loss[0] == pytest.approx(-lp[:, 0].sum(), abs=1e-12)
    np.testing.assert_allclose(grad[0], np.exp(lp) - np.eye(3)[[0, 0, 0, 0]], atol=1e-12)


def test_infeasible_row_is_inf_with_zero_gradient_and_spares_the_others(ops):
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2, 3, 4))
    targets = [[1, 2, 3, 1], [2, 0, 0, 0]]
    loss, grad = run(ops, logits, targets, [3, 3], [4, 1])
    assert loss[0] == math.inf and np.isfinite(loss[1])
    assert not grad[0].any() and np.isfinite(grad).all() and grad[1].any()
    zeroed, _ = run(ops, logits, targets, [3, 3], [4, 1], zero_infinity=True)
    assert zeroed[0] == 0.0 and zeroed[1] == loss[1]


def test_gradient_rows_sum_to_zero_and_vanish_past_the_length(ops):
    logits = np.random.default_rng(3).normal(size=(2, 6, 5))
    _, grad = run(ops, logits, [[1, 2, 2], [4, 3, 0]], [6, 4], [3, 2])
    np.testing.assert_allclose(grad.sum(-1), 0, atol=1e-12)  # softmax minus a posterior
    assert not grad[1, 4:].any()


# ---- finite differences ------------------------------------------------------------------------

def test_gradient_matches_central_differences(ops):
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(2, 7, 4))
    targets, in_len, tgt_len = [[1, 1, 3], [2, 3, 0]], [7, 5], [3, 2]
    _, grad = run(ops, logits, targets, in_len, tgt_len)
    h = 1e-6
    for b, t, k in [(0, 0, 0), (0, 3, 1), (0, 6, 3), (1, 2, 2), (1, 4, 0), (0, 5, 2)]:
        up, down = logits.copy(), logits.copy()
        up[b, t, k] += h
        down[b, t, k] -= h
        numeric = (run(ops, up, targets, in_len, tgt_len)[0].sum()
                   - run(ops, down, targets, in_len, tgt_len)[0].sum()) / (2 * h)
        assert grad[b, t, k] == pytest.approx(numeric, abs=1e-7)


# ---- torch.nn.functional.ctc_loss as the oracle -------------------------------------------------

def torch_reference(logits, targets, in_len, tgt_len, zero_infinity=False):
    torch = pytest.importorskip("torch")
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    lp = torch.log_softmax(x, dim=-1).transpose(0, 1)  # (T, B, V)
    per_row = torch.nn.functional.ctc_loss(
        lp, torch.tensor(targets), torch.tensor(in_len), torch.tensor(tgt_len), blank=0,
        reduction="none", zero_infinity=zero_infinity)
    total = torch.nn.functional.ctc_loss(
        lp, torch.tensor(targets), torch.tensor(in_len), torch.tensor(tgt_len), blank=0,
        reduction="sum", zero_infinity=zero_infinity)
    total.backward()
    return per_row.detach().numpy(), total.item(), x.grad.numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_and_gradient_match_torch(ops, seed):
    rng = np.random.default_rng(seed)
    B, T, V, L = 5, 30, 11, 7
    in_len = rng.integers(15, T + 1, size=B)
    in_len[0] = T
    tgt_len = rng.integers(0, L + 1, size=B)
    targets = rng.integers(1, V, size=(B, L))
    targets[1, :3] = [4, 4, 4]  # repeats need blanks between them
    tgt_len[1] = max(tgt_len[1], 3)
    logits = 3.0 * rng.normal(size=(B, T, V))  # peaky, as after training
    loss, grad = run(ops, logits, targets, in_len, tgt_len)
    ref_rows, ref_total, ref_grad = torch_reference(logits, targets, in_len, tgt_len)
    np.testing.assert_allclose(loss, ref_rows, rtol=0, atol=1e-9)
    assert loss.sum() == pytest.approx(ref_total, abs=1e-9)
    np.testing.assert_allclose(grad, ref_grad, rtol=0, atol=1e-9)


def test_infeasible_rows_match_torch_zero_infinity(ops):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(3, 4, 6))
    targets = np.array([[1, 2, 3, 4, 5], [2, 2, 2, 0, 0], [3, 0, 0, 0, 0]])
    in_len, tgt_len = [4, 4, 2], [5, 3, 1]
    loss, grad = run(ops, logits, targets, in_len, tgt_len, zero_infinity=True)
    ref_rows, _, ref_grad = torch_reference(logits, targets, in_len, tgt_len, zero_infinity=True)
    np.testing.assert_allclose(loss, ref_rows, atol=1e-9)
    np.testing.assert_allclose(grad, ref_grad, atol=1e-9)


def test_float32_torch_backend_agrees_with_float64():
    pytest.importorskip("torch")
    from seqframe_torch.ops import TorchOps

    rng = np.random.default_rng(6)
    logits = rng.normal(size=(3, 40, 11))
    args = ([[1, 2, 3], [5, 5, 0], [7, 0, 0]], [40, 33, 20], [3, 2, 1])
    low = TorchOps(dtype="float32", device="cpu", fused=False)
    loss32, grad32 = run(low, logits, *args)
    loss64, grad64 = run(NumpyOps(dtype="float64"), logits, *args)
    np.testing.assert_allclose(loss32, loss64, rtol=1e-5)
    np.testing.assert_allclose(grad32, grad64, atol=1e-4)  # float32 log-space sums of ~40 frames


# ---- contract errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("targets, in_len, tgt_len, match", [
    ([[1, 0]], [3], [2], r"never be the blank \(0\)"),
    ([[1, 7]], [3], [2], r"target labels must lie in \[0, 4\)"),
    ([[1, 2]], [4], [2], r"input_lengths must lie in \[1, 3\]"),
    ([[1, 2]], [0], [2], r"input_lengths must lie in \[1, 3\]"),
    ([[1, 2]], [3], [3], r"target_lengths must lie in \[0, 2\]"),
    ([[1, 2], [1, 2]], [3], [2], r"need targets \(B, L\)"),
])
def test_contract_errors(targets, in_len, tgt_len, match):
    with pytest.raises(ShapeError, match=match):
        run(NumpyOps(dtype="float64"), np.zeros((1, 3, 4)), targets, in_len, tgt_len)


def test_evaluation_nll_of_unequal_sequences_matches_torch():
    from seqframe_speech.evaluation import EVAL_ROWS, ctc_nll

    rng = np.random.default_rng(7)
    lengths = rng.integers(5, 40, size=EVAL_ROWS + 3)  # more than one padded chunk
    log_probs = [log_softmax(2.0 * rng.normal(size=(n, 6))) for n in lengths]
    targets = [list(rng.integers(1, 6, size=rng.integers(1, 4))) for _ in lengths]
    T = int(lengths.max())
    padded = np.zeros((len(lengths), T, 6))
    for i, lp in enumerate(log_probs):
        padded[i, : len(lp)] = lp
    flat = np.zeros((len(targets), 3), dtype=np.int64)
    for i, t in enumerate(targets):
        flat[i, : len(t)] = t
    rows, _, _ = torch_reference(padded, flat, lengths, [len(t) for t in targets])
    np.testing.assert_allclose(ctc_nll(log_probs, targets), rows, rtol=0, atol=1e-9)
