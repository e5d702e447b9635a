"""BPTT over windows: parity with torch.nn, masks, resets, truncation, readouts, dropout, errors.

Oracles: torch's own recurrent layers and autograd (loaded with the same weights), and
equivalences that must hold exactly (a masked gap == the row without that step, a reset row ==
a row started from zeros, consecutive windows == one long window).
"""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_numpy import NumpyOps

from seqframe.cells import GRUCell, LSTMCell, RNNCell
from seqframe.engine.bptt import (
    Window,
    dropout_masks,
    forward,
    hidden_grads,
    loss_only,
    to_window,
    window_loss_and_grad,
)
from seqframe.engine.model import Model, ModelConfig
from seqframe.errors import ConfigError, DataError, ShapeError
from seqframe.task import Batch

OPS = NumpyOps("float64")
CELLS = [RNNCell, LSTMCell, GRUCell]
B, T, D, H, CLASSES = 3, 6, 3, 4, 5


def make(cls=LSTMCell, **kw):
    cfg = dict(cell=cls.name, input_size=D, hidden_size=H, output_size=CLASSES)
    cfg.update(kw)
    model = Model(ModelConfig(**cfg), cls())
    return model, model.init_params(0)


def batch(model, seed=1, mask=None, reset=None, steps=T):
    rng = np.random.default_rng(seed)
    cfg = model.config
    lead = (B, steps) if cfg.readout == "every_step" else (B,)
    if cfg.loss == "cross_entropy":
        targets = rng.integers(0, cfg.output_size, size=lead)
    else:
        targets = rng.normal(size=lead + (cfg.output_size,))
    mask = np.ones((B, steps), bool) if mask is None else mask
    reset = np.ones(B, bool) if reset is None else reset
    return Batch(rng.normal(size=(B, steps, D)), targets, mask, reset)


def random_state(model, seed=2):
    rng = np.random.default_rng(seed)
    return tuple(tuple(tuple(rng.normal(size=(B, H)) for _ in model.cell.state_names)
                       for _ in range(model.directions)) for _ in range(model.config.layers))


def flat(state):
    """The arrays of a nested state, in order."""
    return [a for layer in state for cs in layer for a in cs]


def prefix_mask(lengths, steps=T):
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


# ---- parity with torch.nn ----------------------------------------------------------------------

def _torch_net(model, params):
    torch = pytest.importorskip("torch")
    cfg = model.config
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cfg.cell]
    rnn = cls(cfg.input_size, cfg.hidden_size, num_layers=cfg.layers,
              bidirectional=cfg.bidirectional, batch_first=True).double()
    rnn.load_state_dict({k: torch.from_numpy(v) for k, v in params.items() if "readout" not in k})
    lin = torch.nn.Linear(model.feature_size, model.output_size).double()
    lin.load_state_dict({"weight": torch.from_numpy(params["readout.weight"]),
                         "bias": torch.from_numpy(params["readout.bias"])})
    return torch, rnn, lin


def _torch_window(model, params, b, state, lengths=None):
    """Loss sum, grads, outputs and final h of torch.nn on a prefix-masked batch."""
    torch, rnn, lin = _torch_net(model, params)
    x = torch.from_numpy(b.inputs)
    if lengths is not None:
        x = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True,
                                                    enforce_sorted=False)
    h0 = None
    if state is not None:
        stacked = [torch.from_numpy(np.stack([cs[k] for layer in state for cs in layer]))
                   for k in range(len(model.cell.state_names))]
        h0 = tuple(stacked) if model.config.cell == "lstm" else stacked[0]
    out, h_n = rnn(x, h0)
    if lengths is not None:
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    h_last = h_n[0] if isinstance(h_n, tuple) else h_n  # (L*dirs, B, H)
    if model.config.readout == "every_step":
        logits = lin(out)  # (B, T, CLASSES)
        valid = torch.from_numpy(b.mask)
        loss = torch.nn.functional.cross_entropy(logits[valid], torch.from_numpy(b.targets)[valid],
                                                 reduction="sum")
    else:  # last: final h of each direction of the top layer
        dirs = model.directions
        logits = lin(torch.cat(list(h_last[-dirs:]), dim=1))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(b.targets),
                                                 reduction="sum")
    loss.backward()
    grads = {k: v.grad.numpy() for k, v in rnn.named_parameters()}
    grads.update({"readout.weight": lin.weight.grad.numpy(), "readout.bias": lin.bias.grad.numpy()})
    return loss.item(), grads, logits.detach().numpy(), h_last.detach().numpy()


def _assert_grads(ours, theirs, rtol=1e-9, atol=1e-11):
    assert set(ours) == set(theirs)
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_full_window_matches_torch(cls, bidirectional):
    model, params = make(cls, layers=2, bidirectional=bidirectional)
    b = batch(model, reset=np.zeros(B, bool))
    state = random_state(model)
    loss, grads, logits, h_last = _torch_window(model, params, b, state)
    res = window_loss_and_grad(model, OPS, params, to_window(OPS, b), state)
    assert float(res.loss_sum) == pytest.approx(loss, rel=1e-12)
    assert res.count == B * T
    np.testing.assert_allclose(res.outputs, logits, rtol=1e-10, atol=1e-12)
    _assert_grads(res.grads, grads)
    ours_h = np.stack([cs[0] for layer in res.state for cs in layer])
    np.testing.assert_allclose(ours_h, h_last, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("readout", ["every_step", "last"])
def test_variable_lengths_match_torch_packed_sequences(cls, bidirectional, readout):
    model, params = make(cls, layers=2, bidirectional=bidirectional, readout=readout)
    lengths = [T, 3, 5]
    b = batch(model, mask=prefix_mask(lengths))
    loss, grads, logits, h_last = _torch_window(model, params, b, None, lengths)
    res = window_loss_and_grad(model, OPS, params, to_window(OPS, b))
    assert float(res.loss_sum) == pytest.approx(loss, rel=1e-12)
    _assert_grads(res.grads, grads)
    ours_h = np.stack([cs[0] for layer in res.state for cs in layer])
    np.testing.assert_allclose(ours_h, h_last, rtol=1e-10, atol=1e-12)
    if readout == "every_step":
        np.testing.assert_allclose(res.outputs[b.mask], logits[b.mask], rtol=1e-10, atol=1e-12)
        assert res.count == sum(lengths)
    else:
        assert res.count == B


# ---- exact equivalences ------------------------------------------------------------------------

@pytest.mark.parametrize("cls", CELLS)
def test_a_masked_gap_equals_the_row_without_that_step(cls):
    model, params = make(cls, layers=2)
    mask = np.ones((B, T), bool)
    mask[:, 2] = False
    gapped = batch(model, mask=mask)
    dense = Batch(np.delete(gapped.inputs, 2, axis=1), np.delete(gapped.targets, 2, axis=1),
                  np.ones((B, T - 1), bool), gapped.reset)
    res_gap = window_loss_and_grad(model, OPS, params, to_window(OPS, gapped))
    res_dense = window_loss_and_grad(model, OPS, params, to_window(OPS, dense))
    assert float(res_gap.loss_sum) == pytest.approx(float(res_dense.loss_sum), rel=1e-13)
    assert res_gap.count == res_dense.count == B * (T - 1)
    _assert_grads(res_gap.grads, res_dense.grads, rtol=1e-12, atol=1e-14)
    for a, b in zip(flat(res_gap.state), flat(res_dense.state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_masked_steps_leave_the_state_unchanged():
    model, params = make(LSTMCell, readout="every_step")
    mask = np.ones((B, T), bool)
    mask[0, 3:] = False
    mask[1, 1] = False
    b = batch(model, mask=mask)
    model_h, params_h = make(LSTMCell)
    # outputs are the readout of h_t; the readout is affine, so equal outputs <=> equal h_t here
    outputs, _ = forward(model, OPS, params, b.inputs, b.mask)
    np.testing.assert_allclose(outputs[0, 3:], np.repeat(outputs[0, 2:3], T - 3, 0), rtol=1e-14)
    np.testing.assert_allclose(outputs[1, 1], outputs[1, 0], rtol=1e-14)
    res = window_loss_and_grad(model, OPS, params, to_window(OPS, b))
    assert res.count == mask.sum()


def test_reset_rows_start_from_zeros_the_others_carry():
    model, params = make(GRUCell, layers=2)
    state = random_state(model)
    b = batch(model, reset=np.array([True, False, True]))
    carried = window_loss_and_grad(model, OPS, params, to_window(OPS, b), state)
    out_zero, _ = forward(model, OPS, params, b.inputs, None, None)
    out_state, _ = forward(model, OPS, params, b.inputs, None, state)
    np.testing.assert_allclose(carried.outputs[[0, 2]], out_zero[[0, 2]], rtol=1e-13)
    np.testing.assert_allclose(carried.outputs[1], out_state[1], rtol=1e-13)
    assert not np.allclose(out_zero[1], out_state[1])


@pytest.mark.parametrize("cls", CELLS)
def test_consecutive_windows_equal_one_long_window(cls):
    model, params = make(cls, layers=2)
    long = batch(model, steps=2 * T)
    whole = window_loss_and_grad(model, OPS, params, to_window(OPS, long))
    state, total = None, 0.0
    for start in (0, T):
        part = Batch(long.inputs[:, start:start + T], long.targets[:, start:start + T],
                     long.mask[:, start:start + T], long.reset if start == 0 else np.zeros(B, bool))
        res = window_loss_and_grad(model, OPS, params, to_window(OPS, part), state)
        np.testing.assert_allclose(res.outputs, whole.outputs[:, start:start + T], rtol=1e-12)
        state, total = res.state, total + float(res.loss_sum)
    assert total == pytest.approx(float(whole.loss_sum), rel=1e-13)
    for a, b in zip(flat(state), flat(whole.state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("cls", CELLS)
def test_truncated_window_matches_torch_with_a_detached_state(cls):
    """TBPTT(k1=2, k2=4) on steps [2, 6): loss on the last 2 steps, backprop 4 steps."""
    torch = pytest.importorskip("torch")
    model, params = make(cls)
    b = batch(model, steps=T)
    k1, k2, start = 2, 4, 2
    _, prefix_state = forward(model, OPS, params, b.inputs[:, :start])
    win = Batch(b.inputs[:, start:], b.targets[:, start:], b.mask[:, start:], np.zeros(B, bool))
    res = window_loss_and_grad(model, OPS, params, to_window(OPS, win, loss_from=k2 - k1),
                               prefix_state, carry_at=k1)
    _, rnn, lin = _torch_net(model, params)
    h0 = [torch.from_numpy(s[None]) for s in prefix_state[0][0]]
    out, _ = rnn(torch.from_numpy(win.inputs), tuple(h0) if cls is LSTMCell else h0[0])
    logits = lin(out[:, k2 - k1:])
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CLASSES),
                                             torch.from_numpy(win.targets[:, k2 - k1:]).reshape(-1),
                                             reduction="sum")
    loss.backward()
    theirs = {k: v.grad.numpy() for k, v in rnn.named_parameters()}
    theirs.update({"readout.weight": lin.weight.grad.numpy(),
                   "readout.bias": lin.bias.grad.numpy()})
    assert float(res.loss_sum) == pytest.approx(loss.item(), rel=1e-12)
    assert res.count == B * k1
    _assert_grads(res.grads, theirs)
    _, after_k1 = forward(model, OPS, params, b.inputs[:, :start + k1])
    for a, b_ in zip(res.state[0][0], after_k1[0][0], strict=True):
        np.testing.assert_allclose(a, b_, rtol=1e-12)


def test_a_truncated_window_covering_the_sequence_is_full_bptt():
    """TBPTT with k1 = k2 = T: no loss dropped, state carried from the end, same as full BPTT."""
    model, params = make(GRUCell, layers=2)
    b = batch(model, mask=prefix_mask([T, 4, 5]))
    full = window_loss_and_grad(model, OPS, params, to_window(OPS, b))
    covering = window_loss_and_grad(model, OPS, params, to_window(OPS, b, loss_from=0), carry_at=T)
    assert float(covering.loss_sum) == float(full.loss_sum)
    _assert_grads(covering.grads, full.grads, rtol=0, atol=0)
    for a, c in zip(flat(covering.state), flat(full.state), strict=True):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("readout", ["last", "mean"])
def test_last_and_mean_readouts_agree_with_every_step_outputs(readout):
    mask = prefix_mask([T, 2, 4])
    every, params = make(GRUCell, layers=2)
    pooled, _ = make(GRUCell, layers=2, readout=readout)
    b = batch(every, mask=mask)
    per_step, _ = forward(every, OPS, params, b.inputs, b.mask)
    got, _ = forward(pooled, OPS, params, b.inputs, b.mask)
    if readout == "last":
        want = per_step[np.arange(B), mask.sum(1) - 1]
    else:  # the readout is affine, so the mean of outputs is the output of the mean
        want = (per_step * mask[..., None]).sum(1) / mask.sum(1)[:, None]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_max_readout_takes_each_feature_s_largest_value_over_the_valid_steps():
    # With an identity readout the every-step outputs ARE the top layer's features.
    mask = prefix_mask([T, 2, 4])
    every, params = make(GRUCell, layers=2, bidirectional=True, output_size=2 * H, loss="mse")
    pooled, _ = make(GRUCell, layers=2, bidirectional=True, output_size=2 * H, loss="mse",
                     readout="max")
    params["readout.weight"], params["readout.bias"] = np.eye(2 * H), np.zeros(2 * H)
    b = batch(every, mask=mask)
    per_step, _ = forward(every, OPS, params, b.inputs, b.mask)
    got, _ = forward(pooled, OPS, params, b.inputs, b.mask)
    want = np.where(mask[..., None], per_step, -np.inf).max(axis=1)
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(want, per_step.max(axis=1))  # padded steps would have won


def test_loss_only_equals_the_training_loss_without_dropout():
    model, params = make(LSTMCell, layers=2, readout="mean", loss="mse")
    b = batch(model, mask=prefix_mask([T, 1, 3]))
    window = to_window(OPS, b, loss_from=1)
    loss, count = loss_only(model, OPS, params, window)
    res = window_loss_and_grad(model, OPS, params, window)
    assert loss.item() == pytest.approx(float(res.loss_sum), rel=1e-14)
    assert count == res.count == 2  # the row of length 1 has no step at or after loss_from


# ---- dropout -----------------------------------------------------------------------------------

def test_dropout_masks_are_inverted_and_reproducible():
    model, _ = make(LSTMCell, layers=2, dropout=0.25, bidirectional=True)
    masks = dropout_masks(model, np.random.default_rng(3), 400, 50)
    assert [m.shape for m in masks] == [(400, 50, 2 * H)] * 2
    assert set(np.unique(masks[0])) == {0.0, 1 / 0.75}
    assert abs((masks[0] == 0).mean() - 0.25) < 0.01
    again = dropout_masks(model, np.random.default_rng(3), 400, 50)
    assert all(np.array_equal(a, b) for a, b in zip(masks, again, strict=True))
    last, _ = make(LSTMCell, layers=2, dropout=0.25, readout="last")
    shapes = [m.shape for m in dropout_masks(last, np.random.default_rng(3), 4, 5)]
    assert shapes == [(4, 5, H), (4, H)]
    assert dropout_masks(make(LSTMCell)[0], np.random.default_rng(3), 4, 5) == []


@pytest.mark.parametrize("cls", CELLS)
def test_dropout_matches_torch_layers_with_the_same_masks(cls):
    torch = pytest.importorskip("torch")
    model, params = make(cls, layers=2, dropout=0.4)
    b = batch(model)
    res = window_loss_and_grad(model, OPS, params, to_window(OPS, b),
                               dropout_rng=np.random.default_rng(9))
    masks = dropout_masks(model, np.random.default_rng(9), B, T)
    layer_cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cls.name]
    x, layers = torch.from_numpy(b.inputs), []
    for k in range(2):
        layer = layer_cls(D if k == 0 else H, H, batch_first=True).double()
        layer.load_state_dict({n.replace(f"_l{k}", "_l0"): torch.from_numpy(v)
                               for n, v in params.items() if n.endswith(f"_l{k}")})
        x = layer(x)[0] * torch.from_numpy(masks[k])
        layers.append(layer)
    logits = x @ torch.from_numpy(params["readout.weight"]).T
    logits = logits + torch.from_numpy(params["readout.bias"])
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, CLASSES), torch.from_numpy(b.targets).reshape(-1), reduction="sum")
    loss.backward()
    assert float(res.loss_sum) == pytest.approx(loss.item(), rel=1e-12)
    for k, layer in enumerate(layers):
        for n, p in layer.named_parameters():
            np.testing.assert_allclose(res.grads[n.replace("_l0", f"_l{k}")], p.grad.numpy(),
                                       rtol=1e-9, atol=1e-11)
    without = window_loss_and_grad(model, OPS, params, to_window(OPS, b))
    assert float(without.loss_sum) != pytest.approx(float(res.loss_sum))


# ---- hidden_grads ------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", CELLS)
def test_hidden_grads_are_total_derivatives(cls):
    """Against torch autograd through a step-by-step loop, where h_t.grad is dLoss/dh_t."""
    torch = pytest.importorskip("torch")
    model, params = make(cls, layers=2)
    b = batch(model)
    window = to_window(OPS, b, loss_from=T - 1)  # only the last step's loss: gradient flow back
    got = hidden_grads(model, OPS, params, window)
    assert got.shape == (2, T, B, H)
    step_cls = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell,
                "gru": torch.nn.GRUCell}[cls.name]
    cells = []
    for k in range(2):
        cell = step_cls(D if k == 0 else H, H).double()
        cell.load_state_dict({n.replace(f"_l{k}", ""): torch.from_numpy(v)
                              for n, v in params.items() if n.endswith(f"_l{k}")})
        cells.append(cell)
    xs, hs = list(torch.from_numpy(b.inputs).unbind(1)), []
    for cell in cells:
        state, outs = None, []
        for x in xs:
            state = cell(x, state)
            h = state[0] if isinstance(state, tuple) else state
            h.retain_grad()
            outs.append(h)
        hs.append(outs)
        xs = outs
    logits = xs[-1] @ torch.from_numpy(params["readout.weight"]).T
    logits = logits + torch.from_numpy(params["readout.bias"])
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(b.targets[:, -1]),
                                             reduction="sum")
    loss.backward()
    want = np.stack([np.stack([h.grad.numpy() for h in outs]) for outs in hs])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    assert np.abs(got[1, 0]).max() > 0  # the gradient does reach the first step


# ---- float32 -----------------------------------------------------------------------------------

def test_float32_runs_in_float32_and_agrees_with_float64():
    model, params = make(LSTMCell, layers=2, bidirectional=True)
    b = batch(model, mask=prefix_mask([T, 4, 2]))
    ops32 = NumpyOps("float32")
    p32 = {k: ops32.asarray(v) for k, v in params.items()}
    res32 = window_loss_and_grad(model, ops32, p32, to_window(ops32, b))
    res64 = window_loss_and_grad(model, OPS, params, to_window(OPS, b))
    assert all(g.dtype == np.float32 for g in res32.grads.values())
    assert res32.outputs.dtype == np.float32
    _assert_grads(res32.grads, res64.grads, rtol=1e-3, atol=1e-5)


# ---- errors a user can hit ---------------------------------------------------------------------

def test_batch_shape_errors_say_what_was_expected():
    model, params = make()
    good = batch(model)
    cases = [
        (Batch(good.inputs[0], good.targets, good.mask, good.reset),
         r"batch inputs have shape \(6, 3\) \(float64\); expected \(batch, time, features\)"),
        (Batch(good.inputs, good.targets, good.mask[:, :2], good.reset),
         r"batch mask has shape \(3, 2\); expected \(batch, time\) = \(3, 6\)"),
        (Batch(good.inputs, good.targets, good.mask, good.reset[:2]),
         r"batch reset has shape \(2,\); expected \(batch,\) = \(3,\)"),
        (Batch(good.inputs, good.targets[:2], good.mask, good.reset),
         r"batch targets have shape \(2, 6\); their first axis must be the batch \(3 rows"),
        (Batch(good.inputs, good.targets[:, :4], good.mask, good.reset),
         r"per-step targets have shape \(3, 4\); their first two axes must be \(batch, time\)"),
    ]
    for bad, message in cases:
        with pytest.raises(ShapeError, match=message):
            to_window(OPS, bad)
    negative = Batch(good.inputs, np.full((B, T), -1), good.mask, good.reset)
    with pytest.raises(DataError, match="a class id is -1; class ids must be 0 or more"):
        to_window(OPS, negative)
    with pytest.raises(ConfigError, match=r"loss_from=7 is outside the window of 6 steps"):
        to_window(OPS, good, loss_from=7)


def test_padding_targets_are_ignored():
    model, params = make()
    b = batch(model, mask=prefix_mask([T, 2, 3]))
    b.targets[~b.mask] = -100  # a common padding id; masked, so it must not matter
    clean = batch(model, mask=prefix_mask([T, 2, 3]))
    a = window_loss_and_grad(model, OPS, params, to_window(OPS, b))
    c = window_loss_and_grad(model, OPS, params, to_window(OPS, clean))
    assert float(a.loss_sum) == float(c.loss_sum)


def test_window_errors_say_what_to_check():
    model, params = make()
    good = batch(model)
    wide = Batch(np.zeros((B, T, D + 1)), good.targets, good.mask, good.reset)
    with pytest.raises(ShapeError, match=r"window inputs have shape \(3, 6, 4\); the model expects "
                                         r"\(batch, time, 3\)"):
        window_loss_and_grad(model, OPS, params, to_window(OPS, wide))
    last, _ = make(readout="last")
    with pytest.raises(ShapeError, match=r"targets have shape \(3, 6\); readout 'last' with loss "
                       r"'cross_entropy' expects \(3,\) \(class ids per sequence\)"):
        window_loss_and_grad(last, OPS, params, to_window(OPS, good))
    regression, _ = make(loss="mse")
    ints = Batch(good.inputs, np.zeros((B, T, CLASSES), np.int64), good.mask, good.reset)
    with pytest.raises(ShapeError,
                       match="loss 'mse' needs float values as targets; got dtype int64"):
        window_loss_and_grad(regression, OPS, params, to_window(OPS, ints))
    big = Batch(good.inputs, np.full((B, T), 7), good.mask, good.reset)
    with pytest.raises(ShapeError, match=r"a target class id is 7 but the model has 5 classes "
                                         r"\(ids 0..4\)"):
        window_loss_and_grad(model, OPS, params, to_window(OPS, big))
    with pytest.raises(ConfigError, match=r"carry_at=0 is outside the window of 6 steps"):
        window_loss_and_grad(model, OPS, params, to_window(OPS, good), carry_at=0)
    no_reset = to_window(OPS, Batch(good.inputs, good.targets, good.mask, np.zeros(B, bool)))
    with pytest.raises(ShapeError, match="the state passed in does not fit this model"):
        window_loss_and_grad(model, OPS, params, no_reset, model.zero_state(OPS, B + 1))


def test_forward_errors():
    model, params = make()
    x = np.zeros((B, T, D))
    with pytest.raises(ShapeError, match=r"inputs have shape \(6, 3\); the model expects"):
        forward(model, OPS, params, x[0])
    with pytest.raises(ShapeError, match=r"mask has shape \(3, 5\); expected \(batch, time\)"):
        forward(model, OPS, params, x, np.ones((B, T - 1)))
    with pytest.raises(ShapeError, match=r"reset has shape \(2,\); expected \(batch,\) = \(3,\)"):
        forward(model, OPS, params, x, None, None, np.ones(2))


def test_window_has_the_host_facts():
    model, _ = make()
    mask = prefix_mask([T, 2, 4])
    w = to_window(OPS, batch(model, mask=mask, reset=np.array([True, False, False])), loss_from=1)
    assert isinstance(w, Window) and w.masked_steps == (2, 3, 4, 5)
    assert (w.any_reset, w.all_reset) == (True, False)
    assert w.steps_counted == mask[:, 1:].sum() and w.rows_counted == 3
    assert w.loss_mask[:, 0].sum() == 0 and w.mask.dtype == np.float64
