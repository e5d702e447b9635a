"""The Cell contract: one recurrent step, written once against Ops, its backward beneath it.

Every cell seqframe knows has the same outer shape, the one PyTorch's ``nn.RNN``/``nn.LSTM``/
``nn.GRU`` share::

    xp_t = x_t @ W_ih.T + b_ih          (B, G*H)   all T steps of a window in one GEMM
    hp_t = h_{t-1} @ W_hh.T + b_hh      (B, G*H)   one GEMM per step
    state_t, cache_t = cell.step(ops, xp_t, hp_t, state_{t-1})

A cell only writes the elementwise part, ``step``, and its hand-written derivative,
``step_backward``. The two projections and everything around them (stacking, masks, resets,
readouts, truncation, accumulating the weight gradients with one GEMM per window) live in
:mod:`seqframe.engine.bptt`, so a third-party cell gets all of that, on every backend, for free.

``state`` is a tuple of (B, H) arrays named by ``state_names``; its first entry is always the
hidden state ``h`` the next layer and the readout see. See docs/concepts/bptt.md for the derivation.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..ops import Array, Ops

State = tuple  # tuple[Array, ...], each (B, H)


class Cell(ABC):
    """A recurrent cell: gate count, state layout, init rule, step and its backward.

    Class attributes:
        name: the registered name (``rnn``, ``lstm``, ``gru``, or a plugin's).
        gates: G, the number of H-wide blocks stacked in ``W_ih``/``W_hh`` (PyTorch's order).
        state_names: names of the state tuple's entries, ``h`` first.
    """

    name: ClassVar[str]
    gates: ClassVar[int]
    state_names: ClassVar[tuple[str, ...]] = ("h",)

    def init_params(
        self, rng: np.random.Generator, input_size: int, hidden_size: int
    ) -> dict[str, np.ndarray]:
        """Initial weights on the host, float64, PyTorch's names without the layer suffix.

        The default rule is PyTorch's: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)).

        Returns:
            ``weight_ih`` (G*H, D), ``weight_hh`` (G*H, H), ``bias_ih`` (G*H,), ``bias_hh`` (G*H,).
        """
        bound = 1.0 / math.sqrt(hidden_size)
        gh = self.gates * hidden_size
        shapes = {
            "weight_ih": (gh, input_size),
            "weight_hh": (gh, hidden_size),
            "bias_ih": (gh,),
            "bias_hh": (gh,),
        }
        return {name: rng.uniform(-bound, bound, size=shape) for name, shape in shapes.items()}

    @abstractmethod
    def step(self, ops: Ops, xp: Array, hp: Array, state: State) -> tuple[State, Any]:
        """One time step from the two projections.

        Args:
            ops: the backend.
            xp: input projection ``x_t @ W_ih.T + b_ih``, (B, G*H).
            hp: hidden projection ``h_{t-1} @ W_hh.T + b_hh``, (B, G*H).
            state: the previous state, a tuple of (B, H) arrays in ``state_names`` order.

        Returns:
            The new state (same layout) and a cache holding what ``step_backward`` needs.
        """

    @abstractmethod
    def step_backward(self, ops: Ops, d_state: State, cache: Any) -> tuple[Array, Array, State]:
        """The derivative of :meth:`step`.

        Args:
            d_state: dLoss/d(new state), a tuple like ``state`` (every entry an array).
            cache: what ``step`` returned.

        Returns:
            ``(d_xp, d_hp, d_state_prev)``: dLoss/dxp (B, G*H), dLoss/dhp (B, G*H), and the part
            of dLoss/d(previous state) that does not go through ``hp`` (BPTT adds
            ``d_hp @ W_hh`` to the ``h`` entry itself).
        """

    def zero_state(self, ops: Ops, batch_size: int, hidden_size: int) -> State:
        """The all-zeros state every sequence starts from."""
        return tuple(ops.zeros((batch_size, hidden_size)) for _ in self.state_names)
