"""torch's native CTC kernel (``TorchOps.fused_ctc``) against the hand-written recursion."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqframe_numpy.ops import NumpyOps  # noqa: E402
from seqframe_torch.ctc import NativeCTC  # noqa: E402
from seqframe_torch.ops import TorchOps  # noqa: E402

from seqframe.losses import CTC  # noqa: E402
from seqframe.losses.ctc import ctc_loss, min_frames  # noqa: E402

NUMPY = NumpyOps(dtype="float64")


def test_offered_only_with_the_fused_paths_on():
    assert isinstance(TorchOps(dtype="float64", device="cpu", fused=True).fused_ctc(), NativeCTC)
    assert TorchOps(dtype="float64", device="cpu", fused=False).fused_ctc() is None
    assert NUMPY.fused_ctc() is None  # the generic default


def case(seed):
    rng = np.random.default_rng(seed)
    B, T, V, L = 6, 25, 8, 6
    in_len = rng.integers(8, T + 1, size=B)
    in_len[0] = T
    tgt_len = rng.integers(0, L + 1, size=B)
    tgt_len[1], tgt_len[2] = 3, 0
    targets = rng.integers(1, V, size=(B, L))
    targets[1, :3] = [5, 5, 5]  # repeats: five frames at least
    for b in range(B):  # keep every pair feasible (the kernel's contract)
        while min_frames(targets[b, : tgt_len[b]]) > in_len[b]:
            tgt_len[b] -= 1
    return 3.0 * rng.normal(size=(B, T, V)), targets, in_len, tgt_len


@pytest.mark.parametrize("seed", [0, 1])
def test_kernel_matches_the_hand_written_ctc_in_float64(seed):
    logits, targets, in_len, tgt_len = case(seed)
    ops = TorchOps(dtype="float64", device="cpu", fused=True)
    loss, grad = ops.fused_ctc()(ops.asarray(logits), targets, in_len, tgt_len, blank=0,
                                 grad=True)
    ref_loss, ref_grad = ctc_loss(NUMPY, logits, targets, in_len, tgt_len)
    np.testing.assert_allclose(ops.to_numpy(loss), ref_loss, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ops.to_numpy(grad), ref_grad, rtol=0, atol=1e-9)
    alone, none = ops.fused_ctc()(ops.asarray(logits), targets, in_len, tgt_len, blank=0,
                                  grad=False)
    assert none is None
    np.testing.assert_allclose(ops.to_numpy(alone), ref_loss, rtol=0, atol=1e-9)


@pytest.mark.parametrize("blank", [0, 7])
def test_the_ctc_loss_on_the_kernel_matches_it_on_numpy(blank):
    rng = np.random.default_rng(3)
    T, B, V = 12, 3, 8
    mask = np.arange(T)[:, None] < np.array([12, 7, 0])[None, :]  # (T, B), an empty row
    labels = [k for k in range(V) if k != blank]
    targets = np.full((B, 4), blank)
    targets[0, :4] = [labels[0], labels[0], labels[3], labels[5]]
    targets[1, :2] = [labels[2], labels[1]]
    logits = rng.normal(size=(T, B, V))
    loss = CTC(blank=blank)
    ops = TorchOps(dtype="float64", device="cpu", fused=True)
    got = loss.loss_and_grad(ops, ops.asarray(logits), ops.asarray(targets),
                             ops.asarray(mask.astype(float)))
    ref = loss.loss_and_grad(NUMPY, logits, targets, mask.astype(float))
    assert got.count == ref.count == 2
    assert float(got.loss_sum) == pytest.approx(float(ref.loss_sum), abs=1e-9)
    np.testing.assert_allclose(ops.to_numpy(got.d_outputs), ref.d_outputs, rtol=0, atol=1e-9)


def test_a_row_too_short_for_its_labels_counts_zero_on_the_kernel_too():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(4, 2, 5))  # (T, B, V)
    mask = (np.arange(4)[:, None] < np.array([4, 2])[None, :]).astype(float)
    targets = np.array([[1, 2, 0], [3, 3, 0]])  # the second needs 3 frames, has 2
    ops = TorchOps(dtype="float64", device="cpu", fused=True)
    loss = CTC(zero_infinity=True)
    got = loss.loss_and_grad(ops, ops.asarray(logits), ops.asarray(targets), ops.asarray(mask))
    ref = loss.loss_and_grad(NUMPY, logits, targets, mask)
    assert float(got.loss_sum) == pytest.approx(float(ref.loss_sum), abs=1e-12)
    np.testing.assert_allclose(ops.to_numpy(got.d_outputs), ref.d_outputs, rtol=0, atol=1e-12)
    assert not ref.d_outputs[:, 1].any()
