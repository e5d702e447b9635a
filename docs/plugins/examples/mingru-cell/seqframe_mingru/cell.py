"""The minimal GRU (minGRU) of Feng et al. (2024), sequential mode.

The gate and the candidate depend on the input only -- no hidden-to-hidden matrix at all::

    z_t  = sigmoid(Linear_z(x_t))
    h~_t = Linear_h(x_t)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t

Both linear maps are seqframe's hoisted input projection ``xp = x_t @ W_ih.T + b_ih``, gate order
z, h~ (G = 2), computed for a whole window in one matrix product. The cell sets
``recurrent = False``, so the model has no ``W_hh``/``b_hh``: a minGRU layer holds ``2H(D + 1)``
parameters where a cell forced into the GRU's layout would carry ``2H(H + 1)`` more that never
get a gradient. Because ``h_t`` is linear in ``h_{t-1}``, Feng et al. also train it with a
parallel scan; the equations are the same.

Init: ``torch.nn.Linear``'s rule, which Feng et al.'s layers use: ``W_ih`` and ``b_ih`` ~
U(-1/sqrt(D), 1/sqrt(D)). Shapes: ``weight_ih`` (2H, D), ``bias_ih`` (2H,).
"""

from __future__ import annotations

import math

from seqframe.cells import Cell


# --8<-- [start:cell]
class MinGRUCell(Cell):
    """minGRU: ``h = h_prev + z * (h~ - h_prev)`` with ``z``, ``h~`` from ``x`` alone."""

    name = "mingru"
    gates = 2
    recurrent = False  # no W_hh: the engine passes hp = None
    state_names = ("h",)

    def init_params(self, rng, input_size, hidden_size):
        bound = 1.0 / math.sqrt(input_size)  # nn.Linear(D, 2H)
        return {"weight_ih": rng.uniform(-bound, bound, size=(2 * hidden_size, input_size)),
                "bias_ih": rng.uniform(-bound, bound, size=2 * hidden_size)}

    def step(self, ops, xp, hp, state):
        h_prev = state[0]  # (B, H)
        hidden = h_prev.shape[-1]
        z = ops.sigmoid(xp[:, :hidden])  # (B, H) update gate
        candidate = xp[:, hidden:]  # (B, H) h~, no activation
        h = h_prev + z * (candidate - h_prev)  # == (1 - z) * h_prev + z * h~
        return (h,), (z, candidate, h_prev)

    def step_backward(self, ops, d_state, cache):
        z, candidate, h_prev = cache
        d_h = d_state[0]  # (B, H)
        d_a_z = d_h * (candidate - h_prev) * z * (1.0 - z)  # through z = sigmoid(a_z)
        d_xp = ops.concat([d_a_z, d_h * z], axis=1)  # (B, 2H)
        return d_xp, None, (d_h * (1.0 - z),)  # h_prev reaches h only directly
# --8<-- [end:cell]
