"""The LSTM cell, PyTorch's ``nn.LSTM``: gates i, f, g, o; state (h, c)."""

from __future__ import annotations

from ..ops import Array, Ops
from .base import Cell, State


class LSTMCell(Cell):
    """Long short-term memory without peepholes, gate order i, f, g, o as in PyTorch.

    With ``z = xp + hp`` split into four H-wide blocks ``z_i, z_f, z_g, z_o``::

        i = sigmoid(z_i)   f = sigmoid(z_f)   g = tanh(z_g)   o = sigmoid(z_o)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    Shapes (G = 4): ``weight_ih`` (4H, D), ``weight_hh`` (4H, H), ``bias_ih``/``bias_hh`` (4H,);
    ``xp``/``hp`` (B, 4H); the state is ``(h, c)``, each (B, H).

    Init: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), PyTorch's rule (no forget-gate bias
    offset, so results match ``nn.LSTM`` from the same numbers).

    The cell state ``c`` carries gradient back through ``dL/dc_{t-1} = dL/dc_t * f``, an
    elementwise product with no weight matrix in it: that is why an LSTM can keep a gradient
    alive over hundreds of steps where the Elman cell cannot. See docs/concepts/bptt.md.
    """

    name = "lstm"
    gates = 4
    state_names = ("h", "c")

    def step(self, ops: Ops, xp: Array, hp: Array, state: State) -> tuple[State, tuple]:
        c_prev = state[1]
        hidden = c_prev.shape[-1]
        z = xp + hp  # (B, 4H) gate pre-activations
        # One sigmoid over the whole gate block is cheaper than three slices; the g block is
        # then overwritten with its tanh.
        act = ops.sigmoid(z)  # (B, 4H): i, f, g, o activations
        act[:, 2 * hidden : 3 * hidden] = ops.tanh(z[:, 2 * hidden : 3 * hidden])
        i, f = act[:, :hidden], act[:, hidden : 2 * hidden]
        g, o = act[:, 2 * hidden : 3 * hidden], act[:, 3 * hidden :]
        c = f * c_prev + i * g  # (B, H)
        tanh_c = ops.tanh(c)
        h = o * tanh_c
        return (h, c), (act, c_prev, tanh_c)

    def step_backward(self, ops: Ops, d_state: State, cache: tuple) -> tuple[Array, Array, State]:
        act, c_prev, tanh_c = cache
        d_h, d_c_next = d_state
        hidden = c_prev.shape[-1]
        i, f = act[:, :hidden], act[:, hidden : 2 * hidden]
        g, o = act[:, 2 * hidden : 3 * hidden], act[:, 3 * hidden :]
        # dL/dc_t: directly from the future cell state, plus through h_t = o * tanh(c_t).
        d_c = d_c_next + d_h * o * (1.0 - tanh_c * tanh_c)  # (B, H)
        # dL/d(activation) for each gate block, then through the activation functions.
        d_act = ops.concat([d_c * g, d_c * c_prev, d_c * i, d_h * tanh_c], axis=1)  # (B, 4H)
        d_z = d_act * (act * (1.0 - act))  # sigmoid' = s(1 - s), right for i, f, o
        d_z[:, 2 * hidden : 3 * hidden] = d_act[:, 2 * hidden : 3 * hidden] * (1.0 - g * g)
        # z = xp + hp, so both projections get the same gradient; h_{t-1} acts only through hp.
        return d_z, d_z, (ops.zeros_like(d_h), d_c * f)
