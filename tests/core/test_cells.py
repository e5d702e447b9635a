"""Cells: one step against the equations and torch, step_backward against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqframe_numpy import NumpyOps

from seqframe.cells import Cell, GRUCell, LSTMCell, RNNCell
from seqframe.cells import plugin as cells_plugin
from seqframe.testing.numerics import numeric_grad

OPS = NumpyOps("float64")
CELLS = [RNNCell, LSTMCell, GRUCell]
B, D, H = 3, 2, 4


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _reference_step(name, xp, hp, state):
    """The equations of each cell's docstring, written out independently of the cell code."""
    h = state[0]
    if name == "rnn":
        return (np.tanh(xp + hp),)
    if name == "lstm":
        z = xp + hp
        i, f = _sig(z[:, :H]), _sig(z[:, H:2 * H])
        g, o = np.tanh(z[:, 2 * H:3 * H]), _sig(z[:, 3 * H:])
        c = f * state[1] + i * g
        return (o * np.tanh(c), c)
    r = _sig(xp[:, :H] + hp[:, :H])
    z = _sig(xp[:, H:2 * H] + hp[:, H:2 * H])
    n = np.tanh(xp[:, 2 * H:] + r * hp[:, 2 * H:])
    return ((1 - z) * n + z * h,)


def _inputs(cell, seed=0):
    rng = np.random.default_rng(seed)
    gh = cell.gates * H
    xp, hp = rng.normal(size=(B, gh)), rng.normal(size=(B, gh))
    state = tuple(rng.normal(size=(B, H)) for _ in cell.state_names)
    return xp, hp, state


@pytest.mark.parametrize("cls", CELLS)
def test_step_follows_the_documented_equations(cls):
    cell = cls()
    xp, hp, state = _inputs(cell)
    new, _ = cell.step(OPS, xp, hp, state)
    for got, want in zip(new, _reference_step(cell.name, xp, hp, state), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("cls", CELLS)
def test_step_does_not_touch_its_inputs(cls):
    cell = cls()
    xp, hp, state = _inputs(cell)
    before = [a.copy() for a in (xp, hp, *state)]
    new, cache = cell.step(OPS, xp, hp, state)
    cell.step_backward(OPS, tuple(np.ones_like(s) for s in new), cache)
    for a, b in zip((xp, hp, *state), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", CELLS)
def test_step_backward_matches_finite_differences(cls):
    cell = cls()
    xp, hp, state = _inputs(cell)
    rng = np.random.default_rng(1)
    weights = tuple(rng.normal(size=(B, H)) for _ in cell.state_names)

    def loss(xp_, hp_, state_):  # a linear functional of the new state
        new, _ = cell.step(OPS, xp_, hp_, state_)
        return sum(float(np.sum(w * s)) for w, s in zip(weights, new, strict=True))

    def numeric(array, f):
        return numeric_grad(f, array, eps=1e-6)

    _, cache = cell.step(OPS, xp, hp, state)
    d_xp, d_hp, d_prev = cell.step_backward(OPS, weights, cache)
    np.testing.assert_allclose(d_xp, numeric(xp, lambda: loss(xp, hp, state)), atol=1e-8)
    np.testing.assert_allclose(d_hp, numeric(hp, lambda: loss(xp, hp, state)), atol=1e-8)
    # d_prev leaves out the path through hp (BPTT adds d_hp @ W_hh itself), so hp stays fixed.
    for k, s in enumerate(state):
        np.testing.assert_allclose(d_prev[k], numeric(s, lambda: loss(xp, hp, state)), atol=1e-8)


@pytest.mark.parametrize("cls", CELLS)
def test_step_matches_torch_cells(cls):
    torch = pytest.importorskip("torch")
    cell = cls()
    rng = np.random.default_rng(2)
    params = cell.init_params(rng, D, H)
    x = rng.normal(size=(B, D))
    state = tuple(rng.normal(size=(B, H)) for _ in cell.state_names)
    xp = x @ params["weight_ih"].T + params["bias_ih"]
    hp = state[0] @ params["weight_hh"].T + params["bias_hh"]
    new, _ = cell.step(OPS, xp, hp, state)
    torch_cls = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}
    ref = torch_cls[cell.name](D, H).double()
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    t_state = tuple(torch.from_numpy(s) for s in state)
    out = ref(torch.from_numpy(x), t_state if cell.name == "lstm" else t_state[0])
    out = out if isinstance(out, tuple) else (out,)
    for got, want in zip(new, out, strict=True):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("cls", CELLS)
def test_init_is_pytorch_uniform_rule(cls):
    cell = cls()
    params = cell.init_params(np.random.default_rng(0), 5, 16)
    gh = cell.gates * 16
    assert {k: v.shape for k, v in params.items()} == {
        "weight_ih": (gh, 5), "weight_hh": (gh, 16), "bias_ih": (gh,), "bias_hh": (gh,)}
    bound = 1 / math.sqrt(16)
    values = np.concatenate([v.ravel() for v in params.values()])
    assert values.min() >= -bound and values.max() <= bound
    assert values.max() > 0.9 * bound and values.min() < -0.9 * bound  # fills the range


@pytest.mark.parametrize("cls", CELLS)
def test_docstrings_state_equations_shapes_and_link_the_derivation(cls):
    doc = cls.__doc__
    assert "docs/concepts/bptt.md" in doc
    assert "U(-1/sqrt(H), 1/sqrt(H))" in doc
    assert f"(G = {cls.gates})" in doc


def test_gate_counts_and_state_layouts():
    assert (RNNCell.gates, LSTMCell.gates, GRUCell.gates) == (1, 4, 3)
    assert LSTMCell.state_names == ("h", "c") and GRUCell.state_names == ("h",)
    state = LSTMCell().zero_state(OPS, 2, 3)
    assert len(state) == 2 and all(s.shape == (2, 3) and not s.any() for s in state)


def test_plugin_registers_the_three_cells():
    registered = {}
    cells_plugin.seqframe_register_cells(
        lambda name, target, desc="": registered.update({name: target}))
    assert registered == {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
    assert all(issubclass(c, Cell) and c.name == n for n, c in registered.items())
