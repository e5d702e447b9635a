"""The Elman cell (vanilla tanh RNN), PyTorch's ``nn.RNN(nonlinearity="tanh")``."""

from __future__ import annotations

from ..ops import Array, Ops
from .base import Cell, State


class RNNCell(Cell):
    """Elman recurrence ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Shapes (G = 1): ``weight_ih`` (H, D), ``weight_hh`` (H, H), ``bias_ih`` and ``bias_hh`` (H,);
    ``xp`` and ``hp`` are (B, H); the state is ``(h,)`` with ``h`` (B, H).

    Init: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), PyTorch's rule.

    Backward: with ``a = xp + hp`` and ``h = tanh(a)``, ``dL/da = dL/dh * (1 - h**2)``, and
    ``a`` depends on both projections with slope one, so ``d_xp = d_hp = dL/da``. The previous
    hidden state reaches ``h`` only through ``hp``, which BPTT handles (``d_hp @ W_hh``).
    Multiplying ``(1 - h**2) W_hh`` over many steps is what makes this cell's gradients vanish or
    explode; see docs/concepts/bptt.md.
    """

    name = "rnn"
    gates = 1
    state_names = ("h",)

    def step(self, ops: Ops, xp: Array, hp: Array, state: State) -> tuple[State, Array]:
        h = ops.tanh(xp + hp)  # (B, H)
        return (h,), h

    def step_backward(self, ops: Ops, d_state: State, cache: Array) -> tuple[Array, Array, State]:
        h = cache
        d_a = d_state[0] * (1.0 - h * h)  # (B, H)
        # h_{t-1} only enters through hp, so nothing flows to the previous state directly.
        return d_a, d_a, (ops.zeros_like(h),)
