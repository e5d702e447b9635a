"""The hand-written CTC loss: hand-computed cases, finite differences and torch's ctc_loss; the
registered ``ctc`` loss (time-major outputs, step mask, blank-padded labels); ``seqframe check
--loss``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqframe_numpy import NumpyOps

from seqframe.diagnostics.checks import loss_gradcheck
from seqframe.errors import ConfigError, DataError, ShapeError
from seqframe.losses import CTC
from seqframe.losses.ctc import ctc_loss, min_frames
from seqframe.plugins import get_registry
from seqframe.task import ModelSpec


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


# ---- the registered loss: time-major outputs, the step mask, blank-padded labels ----------------

def padded_case(rng, blank=0, V=6, T=20):
    """Rows of 20, 13, 0 and 9 frames; labels (never the blank) padded at the end with it."""
    frames = np.array([T, 13, 0, 9])
    labels = [[1, 1, 4, 2], [3], [], [2, 5, 2]]
    ids = [k for k in range(V) if k != blank]
    targets = np.full((4, 4), blank, dtype=np.int64)  # (B, L)
    for b, row in enumerate(labels):
        targets[b, : len(row)] = [ids[k - 1] for k in row]
    mask = np.arange(T)[:, None] < frames[None, :]  # (T, B)
    return 2.0 * rng.normal(size=(T, 4, V)), targets, mask, frames, [len(r) for r in labels]


@pytest.mark.parametrize("blank", [0, 5])
def test_registered_loss_matches_torch_time_major(ops, blank):
    torch = pytest.importorskip("torch")
    logits, targets, mask, frames, lengths = padded_case(np.random.default_rng(8), blank)
    loss = get_registry().load("loss", "ctc")(blank=blank)
    loss.prepare(ModelSpec(input_size=3, output_size=6, readout="every_step", loss="ctc"))
    res = loss.loss_and_grad(ops, ops.asarray(logits), ops.asarray(targets),
                             ops.asarray(mask.astype(float)))
    kept = frames > 0  # the empty row neither counts nor gets a gradient
    x = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.ctc_loss(
        torch.log_softmax(x[:, kept], -1), torch.tensor(targets[kept]),
        torch.tensor(frames[kept]), torch.tensor(np.array(lengths)[kept]), blank=blank,
        reduction="sum")
    ref.backward()
    assert float(ops.to_numpy(res.loss_sum)) == pytest.approx(ref.item(), abs=1e-9)
    assert res.count == 3
    np.testing.assert_allclose(ops.to_numpy(res.d_outputs), x.grad.numpy(), rtol=0, atol=1e-9)
    assert not ops.to_numpy(res.d_outputs)[:, 2].any()
    alone = loss.loss_and_grad(ops, ops.asarray(logits), ops.asarray(targets),
                               ops.asarray(mask.astype(float)), grad=False)
    assert alone.d_outputs is None and float(ops.to_numpy(alone.loss_sum)) == pytest.approx(
        ref.item(), abs=1e-9)


def test_the_loss_contract():
    assert CTC.name == "ctc" and CTC.targets == "sequences" and CTC.per_sequence
    assert get_registry().load("loss", "ctc") is CTC
    with pytest.raises(ConfigError, match="blank=4 must be a class id of the model's 4 outputs"):
        CTC(blank=4).prepare(ModelSpec(3, 4, "every_step", "ctc"))
    with pytest.raises(ConfigError, match="unknown option 'blnk' for loss 'ctc'"):
        CTC(blnk=1)


def call(loss, logits, targets, mask):
    return loss.loss_and_grad(OPS, logits, np.asarray(targets), mask.astype(float))


OPS = NumpyOps(dtype="float64")


def test_a_gap_in_the_mask_is_a_shape_error():
    mask = np.ones((5, 2), bool)
    mask[2, 1] = False
    with pytest.raises(ShapeError, match="row 1 of the batch has a masked step before a valid"):
        call(CTC(), np.zeros((5, 2, 3)), [[1], [2]], mask)


@pytest.mark.parametrize("targets, row", [([[1, 0, 2], [1, 2, 0]], 0),
                                         ([[1, 2, 0], [-1, 0, 0]], 1)])
def test_labels_after_the_padding_are_a_data_error(targets, row):
    with pytest.raises(DataError, match=f"label sequence {row} of the batch is .*followed only "
                                        "by the blank as padding"):
        call(CTC(), np.zeros((5, 2, 3)), targets, np.ones((5, 2), bool))


def test_a_sequence_too_short_for_its_labels():
    mask = np.arange(4)[:, None] < np.array([4, 2])[None, :]  # (T, B): 4 and 2 frames
    logits = np.random.default_rng(9).normal(size=(4, 2, 3))
    targets = [[1, 2, 0], [2, 2, 0]]  # the second needs 3 frames (a blank between the twos)
    with pytest.raises(DataError, match=r"sequence 1 of the batch has 2 frames but its 2 labels "
                                        r"\[2, 2\] need at least 3"):
        call(CTC(), logits, targets, mask)
    res = call(CTC(zero_infinity=True), logits, targets, mask)
    first = call(CTC(), logits[:, :1], [[1, 2]], mask[:, :1])
    assert float(res.loss_sum) == pytest.approx(float(first.loss_sum), abs=1e-12)
    assert res.count == 2 and not res.d_outputs[:, 1].any()


# ---- gradient checks: the loss alone, and through a whole model ---------------------------------

@pytest.mark.parametrize("name", ["ctc", "cross_entropy", "mse", "gaussian_nll",
                                  "sampled_softmax"])
def test_loss_gradcheck_passes_for_the_builtin_losses(name):
    outcome = loss_gradcheck(OPS, get_registry().load("loss", name)())
    assert outcome.passed, outcome.text


def test_loss_gradcheck_catches_a_wrong_gradient():
    class Off(CTC):  # the classic slip: the softmax term without the occupancy's last frame
        def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
            res = super().loss_and_grad(ops, outputs, targets, weights, grad=grad, rng=rng)
            if grad:
                res.d_outputs[-1] = 0.0
            return res

    outcome = loss_gradcheck(OPS, Off())
    assert not outcome.passed and "FAILED (outputs)" in outcome.text


def test_seqframe_check_loss(sf):
    code, out, err = sf("check", "--loss", "ctc")
    assert code == 0, err
    assert "loss gradient check: CTC(blank=0, zero_infinity=False) on numpy float64" in out
    assert out.splitlines()[-1].startswith("passed: max relative error")
    code, _, err = sf("check", "--loss", "ctc", "--grad-flow")
    assert code == 2 and "do not combine with --parity or --grad-flow" in err
    code, _, err = sf("check", "--loss", "ctx")
    assert code == 2 and "ctx" in err
    code, _, err = sf("check", "--loss", "ctc", "--embed", "4")
    assert code == 2 and "loss 'ctc' does not score one class per step" in err


def test_seqframe_check_loss_of_a_class_per_step_checks_the_loss_and_the_model(sf):
    code, out, err = sf("check", "--loss", "sampled_softmax", "--cell", "rnn")
    assert code == 0, err
    assert "loss gradient check: " in out and "numpy model gradients (2 layers" in out


def test_whole_model_gradients_with_ctc_match_finite_differences():
    from seqframe.cells import LSTMCell
    from seqframe.engine.bptt import loss_only, window_loss_and_grad
    from seqframe.engine.model import Model, ModelConfig
    from seqframe.engine.window import to_window
    from seqframe.task import Batch

    rng = np.random.default_rng(10)
    model = Model(ModelConfig("lstm", 3, 4, 4, readout="every_step", loss="ctc",
                              bidirectional=True), LSTMCell())
    host = model.init_params(rng)
    params = {k: OPS.asarray(v) for k, v in host.items()}
    mask = np.arange(6)[None, :] < np.array([6, 4])[:, None]  # (B, T)
    batch = Batch(rng.normal(size=(2, 6, 3)), np.array([[1, 1, 3], [2, 0, 0]]), mask,
                  np.ones(2, bool))
    window = to_window(OPS, batch, sequences=True)
    grads = window_loss_and_grad(model, OPS, params, window, None).grads
    eps = 1e-4
    for name, value in host.items():
        flat = value.reshape(-1)
        for i in np.random.default_rng(11).choice(flat.size, min(4, flat.size), replace=False):
            f = []
            for k in (1, -1):
                moved = value.copy()
                moved.reshape(-1)[i] += k * eps
                f.append(float(loss_only(model, OPS, {**params, name: moved}, window, None)[0]))
            numeric = (f[0] - f[1]) / (2 * eps)
            assert OPS.to_numpy(grads[name]).reshape(-1)[i] == pytest.approx(
                numeric, rel=1e-5, abs=1e-8), name
