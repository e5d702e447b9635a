"""The minimal gated unit (MGU) of Zhou et al. (2016), in the PyTorch-GRU style.

One gate, ``f``, does the work of the GRU's two: it decides how much of the state to rewrite
and how much of the old state the candidate sees. With ``xp`` and ``hp`` split into two H-wide
blocks, gate order f, n (``hp`` includes ``b_hh``)::

    f = sigmoid(xp_f + hp_f)
    n = tanh(xp_n + f * hp_n)
    h = (1 - f) * h_prev + f * n

Zhou et al. multiply ``f`` into ``h_prev`` *before* its weight matrix, ``W (f * h_prev)``; here,
as in PyTorch's and cuDNN's GRU, ``f`` scales the finished hidden projection ``W h_prev + b``.
That is what lets every hidden projection be computed before the cell runs, as seqframe's BPTT
does for all cells. Shapes (G = 2): ``weight_ih`` (2H, D), ``weight_hh`` (2H, H), biases (2H,).
"""

from __future__ import annotations

from seqframe.cells import Cell


# --8<-- [start:cell]
class MGUCell(Cell):
    """Minimal gated unit, gates f and n (see the module docstring)."""

    name = "mgu"
    gates = 2
    state_names = ("h",)

    def step(self, ops, xp, hp, state):
        h_prev = state[0]
        hidden = h_prev.shape[-1]
        f = ops.sigmoid(xp[:, :hidden] + hp[:, :hidden])  # (B, H) gate
        hp_n = hp[:, hidden:]  # (B, H)
        n = ops.tanh(xp[:, hidden:] + f * hp_n)  # (B, H) candidate
        h = h_prev + f * (n - h_prev)  # == (1 - f) * h_prev + f * n
        return (h,), (f, n, hp_n, h_prev)

    def step_backward(self, ops, d_state, cache):
        f, n, hp_n, h_prev = cache
        d_h = d_state[0]  # (B, H)
        d_a_n = d_h * f * (1.0 - n * n)  # dL/d(xp_n + f * hp_n)
        d_f = d_h * (n - h_prev) + d_a_n * hp_n  # f reaches h directly and through n
        d_a_f = d_f * f * (1.0 - f)  # dL/d(xp_f + hp_f)
        d_xp = ops.concat([d_a_f, d_a_n], axis=1)  # (B, 2H)
        d_hp = ops.concat([d_a_f, d_a_n * f], axis=1)  # (B, 2H)
        return d_xp, d_hp, (d_h * (1.0 - f),)  # h_prev also reaches h directly
# --8<-- [end:cell]
