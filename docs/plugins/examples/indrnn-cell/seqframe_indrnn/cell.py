"""The independently recurrent neural network (IndRNN) of Li et al. (2018).

Every unit has one recurrent weight of its own, ``u`` (H,), instead of a row of a dense matrix::

    h_t = relu(W_ih x_t + b_ih + u * h_{t-1})

so the units of a layer do not talk to each other within the layer (stacking layers mixes them).
``W_ih x_t + b_ih`` is seqframe's hoisted input projection ``xp``; ``u`` is the cell's own
parameter ``weight_hh_diag``. The cell sets ``recurrent = False``: there is no ``W_hh`` to store,
multiply or differentiate.

Optional bound: a subclass sets ``recurrent_bound = B`` and the step uses ``clip(u, -B, B)``.
For ReLU, Li et al. keep ``|u| <= 2 ** (1 / T)`` (T the number of steps gradients travel) so that
``u ** T`` can neither vanish below nor explode above what the task needs.

Init (Li et al.'s recommendation for ReLU): ``u ~ U(0, 1)`` (capped at the bound), so units start
with different memory lengths; ``W_ih ~ U(-sqrt(6 / D), sqrt(6 / D))`` (He uniform, ReLU gain);
``b_ih = 0``. Shapes (G = 1): ``weight_ih`` (H, D), ``bias_ih`` (H,), ``weight_hh_diag`` (H,).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from seqframe.cells import Cell


# --8<-- [start:cell]
class IndRNNCell(Cell):
    """IndRNN: ``h = relu(xp + u * h_prev)``, ``u`` one weight per unit (module docstring)."""

    name = "indrnn"
    gates = 1
    recurrent = False  # no W_hh: the engine passes hp = None
    state_names = ("h",)
    recurrent_bound: ClassVar[float | None] = None  # a subclass may bound |u|

    def own_param_shapes(self, input_size, hidden_size):
        return {"weight_hh_diag": (hidden_size,)}  # u, read by step itself

    def init_params(self, rng, input_size, hidden_size):
        he = math.sqrt(6.0 / input_size)  # He uniform: keeps the ReLU's output variance
        u_max = min(1.0, self.recurrent_bound or 1.0)
        return {"weight_ih": rng.uniform(-he, he, size=(hidden_size, input_size)),
                "bias_ih": np.zeros(hidden_size),
                "weight_hh_diag": rng.uniform(0.0, u_max, size=hidden_size)}

    def step(self, ops, xp, hp, state, params):
        h_prev = state[0]  # (B, H)
        u = params["weight_hh_diag"]  # (H,)
        inside = None
        if self.recurrent_bound is not None:
            bound = self.recurrent_bound
            inside = 1.0 - ops.sign(ops.maximum(ops.abs(u) - bound, 0.0))  # 1 where |u| <= B
            u = ops.clip(u, -bound, bound)
        h = ops.maximum(xp + u * h_prev, 0.0)  # (B, H)
        return (h,), (h, h_prev, u, inside)

    def step_backward(self, ops, d_state, cache):
        h, h_prev, u, inside = cache
        d_a = d_state[0] * ops.sign(h)  # relu'(a) is 1 where h > 0, else 0
        d_u = ops.sum(d_a * h_prev, axis=0)  # (H,): summed over the batch
        if inside is not None:
            d_u = d_u * inside  # a clipped weight does not move the output
        return d_a, None, (d_a * u,), {"weight_hh_diag": d_u}
# --8<-- [end:cell]
