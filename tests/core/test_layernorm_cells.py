"""The layer-normalised LSTM and GRU (``--layer-norm``) against PyTorch's autograd as the oracle.

The forward is rebuilt here from the paper's equations with ``torch.nn.functional.layer_norm``
(one call per gate block), and autograd differentiates it: the hand-written backward must give
the same numbers. The conformance suite (tests/testing/test_builtin_conformance.py) adds finite
differences, neutrality and parity with the torch backend.
"""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_numpy.ops import NumpyOps

from seqframe.cells import (
    LAYER_NORM_VARIANTS,
    GRUCell,
    LayerNormGRUCell,
    LayerNormLSTMCell,
    LSTMCell,
    RNNCell,
)
from seqframe.cells.layernorm import EPS, layer_norm

try:
    import torch
except ImportError:  # the autograd oracles and torch runs skip; the numpy tests still run
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
OPS = NumpyOps(dtype="float64")
B, H = 3, 5


def _ln(z, gain, bias, blocks):
    """Paper LN per H-wide block with torch's own layer_norm."""
    parts = torch.split(z, z.shape[1] // blocks, dim=1)
    normed = [torch.nn.functional.layer_norm(p, (p.shape[1],), eps=EPS) for p in parts]
    return torch.cat(normed, dim=1) * gain + bias


def _torch_lstm(xp, hp, h, c, p):
    z = _ln(xp, p["ln_weight_ih"], p["ln_bias_ih"], 4) + _ln(hp, p["ln_weight_hh"],
                                                             p["ln_bias_hh"], 4)
    i, f, g, o = torch.split(z, H, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(_ln(c_new, p["ln_weight_c"], p["ln_bias_c"], 1))
    return h_new, c_new


def _torch_gru(xp, hp, h, p):
    ax = _ln(xp, p["ln_weight_ih"], p["ln_bias_ih"], 3)
    ah = _ln(hp, p["ln_weight_hh"], p["ln_bias_hh"], 3)
    r = torch.sigmoid(ax[:, :H] + ah[:, :H])
    z = torch.sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = torch.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    return ((1 - z) * n + z * h,)


@needs_torch
@pytest.mark.parametrize("cell_cls,oracle", [(LayerNormLSTMCell, _torch_lstm),
                                             (LayerNormGRUCell, _torch_gru)])
def test_step_and_its_backward_match_torch_autograd(cell_cls, oracle):
    cell = cell_cls()
    rng = np.random.default_rng(0)
    width = cell.gates * H
    host = {"xp": rng.normal(size=(B, width)), "hp": rng.normal(size=(B, width))}
    state = [rng.normal(size=(B, H)) for _ in cell.state_names]
    own = {k: rng.normal(size=s) for k, s in cell.own_param_shapes(4, H).items()}
    weights = [rng.normal(size=(B, H)) for _ in cell.state_names]  # the loss: sum(w * state)

    new, cache = cell.step(OPS, host["xp"], host["hp"], tuple(state), own)
    d_xp, d_hp, d_prev, d_own = cell.step_backward(OPS, tuple(weights), cache)

    t = {k: torch.tensor(v, requires_grad=True) for k, v in {**host, **own}.items()}
    t_state = [torch.tensor(s, requires_grad=True) for s in state]
    expected = oracle(t["xp"], t["hp"], *t_state, t)
    loss = sum((e * torch.from_numpy(w)).sum() for e, w in zip(expected, weights, strict=True))
    loss.backward()
    for got, want in zip(new, expected, strict=True):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d_xp, t["xp"].grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(d_hp, t["hp"].grad.numpy(), rtol=1e-10, atol=1e-12)
    # the h entry of d_prev excludes the path through hp (the engine adds d_hp @ W_hh)
    np.testing.assert_allclose(d_prev[1:], [s.grad.numpy() for s in t_state[1:]], rtol=1e-10,
                               atol=1e-12)
    for name in own:
        np.testing.assert_allclose(d_own[name], t[name].grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_layer_norm_of_each_block_has_mean_zero_and_unit_variance():
    z = np.random.default_rng(1).normal(loc=3.0, scale=2.0, size=(B, 4 * H))  # (B, 4H)
    out, _ = layer_norm(OPS, z, np.ones(4 * H), np.zeros(4 * H), 4)
    blocks = out.reshape(B, 4, H)
    np.testing.assert_allclose(blocks.mean(axis=2), 0.0, atol=1e-12)
    np.testing.assert_allclose(blocks.var(axis=2), 1.0, rtol=1e-4)  # eps shaves a little


@pytest.mark.parametrize("plain,variant", [(LSTMCell, LayerNormLSTMCell),
                                           (GRUCell, LayerNormGRUCell)])
def test_layer_norm_variants_keep_the_weights_and_drop_the_biases_inside_the_norm(plain, variant):
    assert LAYER_NORM_VARIANTS[plain] is variant
    shapes = variant().param_shapes(7, H)
    g = plain.gates * H
    assert shapes["weight_ih"] == (g, 7) and shapes["weight_hh"] == (g, H)
    assert "bias_ih" not in shapes and "bias_hh" not in shapes
    init = variant().init_params(np.random.default_rng(0), 7, H)
    assert all((init[k] == 1).all() for k in init if k.startswith("ln_weight_"))
    assert not any(init[k].any() for k in init if k.startswith("ln_bias_"))
    assert np.abs(init["weight_hh"]).max() <= 1 / np.sqrt(H)  # PyTorch's rule, as the plain cell


def test_a_zero_state_gives_the_ln_bias_and_no_gradient_blow_up():
    # hp = 0 @ W_hh = 0 at a reset: LN of a constant block is its bias, finite, with no weight
    # gradient through it (this is why the projections carry no bias inside the norm)
    cell = LayerNormGRUCell()
    own = {k: np.random.default_rng(2).normal(size=s) for k, s in
           cell.own_param_shapes(4, H).items()}
    xp = np.random.default_rng(3).normal(size=(B, 3 * H))
    new, cache = cell.step(OPS, xp, np.zeros((B, 3 * H)), (np.zeros((B, H)),), own)
    assert np.isfinite(new[0]).all()
    np.testing.assert_allclose(cache[2], np.broadcast_to(own["ln_bias_hh"][2 * H:], (B, H)))


@needs_torch
def test_torch_never_hands_a_layer_normalised_cell_to_its_fused_kernels():
    ops = pytest.importorskip("seqframe_torch.ops").TorchOps(dtype="float64")
    assert ops.fused_recurrence(LSTMCell()) is not None  # the kernels exist ...
    assert ops.fused_recurrence(LayerNormLSTMCell()) is None  # ... not for the LN variants
    assert ops.fused_recurrence(LayerNormGRUCell()) is None


def test_layer_norm_on_a_cell_without_a_variant_is_a_usage_error(sf, tmp_path):
    code, _, err = sf("run", "--task", "adding", "--cell", "rnn", "--layer-norm", "--steps", "1",
                      "--out", str(tmp_path / "r"), "--quiet")
    assert code == 2
    assert "--layer-norm has no layer-normalised variant of cell 'rnn'" in err
    assert "gru, lstm" in err
    assert RNNCell not in LAYER_NORM_VARIANTS


@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=needs_torch)])
def test_a_layer_normalised_run_trains_and_evaluates_on_numpy(sf, tmp_path, backend):
    run = tmp_path / "r"
    args = ("--backend", backend, "--task", "adding", "-o", "length=8", "-o", "train_size=48",
            "-o", "val_size=16", "-o", "test_size=16", "--batch-size", "16", "--hidden", "6",
            "--cell", "gru", "--layer-norm", "--quiet")
    code, _, err = sf("run", *args, "--steps", "4", "--out", str(run))
    assert code == 0, err
    config = (run / "config.toml").read_text()
    assert "layer_norm = true" in config and 'cell = "gru"' in config
    summary = (run / "summary.json").read_text()
    assert '"path": "generic BPTT"' in summary  # never a fused kernel, on either backend
    code, out, err = sf("eval", str(run), "--backend", "numpy")
    assert code == 0 and "mse" in out, err
