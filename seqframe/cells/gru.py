"""The GRU cell, PyTorch's ``nn.GRU``: gates r, z, n."""

from __future__ import annotations

from ..ops import Array, Ops
from .base import Cell, State


class GRUCell(Cell):
    """Gated recurrent unit exactly as ``torch.nn.GRU`` computes it, gate order r, z, n.

    With ``xp`` and ``hp`` split into three H-wide blocks (``hp`` includes ``b_hh``)::

        r = sigmoid(xp_r + hp_r)
        z = sigmoid(xp_z + hp_z)
        n = tanh(xp_n + r * hp_n)          # r scales W_hn h_{t-1} + b_hn, bias included
        h_t = (1 - z) * n + z * h_{t-1}

    That placement of ``r`` (after the hidden projection, not before it) is PyTorch's and cuDNN's
    and differs from the original paper; it is also why the n blocks of ``d_xp`` and ``d_hp``
    differ, unlike the other cells.

    Shapes (G = 3): ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih``/``bias_hh`` (3H,);
    ``xp``/``hp`` (B, 3H); the state is ``(h,)`` with ``h`` (B, H).

    Init: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), PyTorch's rule.

    The direct path ``dL/dh_{t-1} += dL/dh_t * z`` has no weight matrix in it, which lets the
    GRU, like the LSTM, carry gradients over long spans. See docs/concepts/bptt.md.
    """

    name = "gru"
    gates = 3
    state_names = ("h",)

    def step(self, ops: Ops, xp: Array, hp: Array, state: State) -> tuple[State, tuple]:
        h_prev = state[0]
        hidden = h_prev.shape[-1]
        rz = ops.sigmoid(xp[:, : 2 * hidden] + hp[:, : 2 * hidden])  # (B, 2H): r then z
        r, z = rz[:, :hidden], rz[:, hidden:]
        hp_n = hp[:, 2 * hidden :]  # (B, H)
        n = ops.tanh(xp[:, 2 * hidden :] + r * hp_n)  # (B, H)
        h = n + z * (h_prev - n)  # == (1 - z) * n + z * h_prev
        return (h,), (rz, n, hp_n, h_prev)

    def step_backward(self, ops: Ops, d_state: State, cache: tuple) -> tuple[Array, Array, State]:
        rz, n, hp_n, h_prev = cache
        d_h = d_state[0]
        hidden = n.shape[-1]
        r, z = rz[:, :hidden], rz[:, hidden:]
        d_a_n = d_h * (1.0 - z) * (1.0 - n * n)  # dL/d(xp_n + r * hp_n), (B, H)
        d_r = d_a_n * hp_n
        d_z = d_h * (h_prev - n)
        d_a_rz = ops.concat([d_r, d_z], axis=1) * (rz * (1.0 - rz))  # (B, 2H) pre-sigmoid
        d_xp = ops.concat([d_a_rz, d_a_n], axis=1)  # (B, 3H)
        d_hp = ops.concat([d_a_rz, d_a_n * r], axis=1)  # (B, 3H)
        return d_xp, d_hp, (d_h * z,)
