"""The Cell contract: one recurrent step, written once against Ops, its backward beneath it.

A cell declares its parameters and the engine computes what it can outside the cell, PyTorch's
way, then hands the cell the rest::

    xp_t = x_t @ W_ih.T + b_ih          (B, G*H)   all T steps of a window in one GEMM
    hp_t = h_{t-1} @ W_hh.T + b_hh      (B, G*H)   one GEMM per step (cells with ``recurrent``)
    state_t, cache_t = cell.step(ops, xp_t, hp_t, state_{t-1} [, params])

* ``weight_ih``/``bias_ih`` (G*H, D)/(G*H,): every cell has the hoisted input projection.
* ``weight_hh``/``bias_hh`` (G*H, H)/(G*H,): only cells with ``recurrent = True`` (the default;
  the Elman cell, LSTM, GRU). A cell without a dense recurrent matrix (IndRNN, minGRU) sets
  ``recurrent = False``: it gets ``hp = None`` and carries no dead matrix.
* A cell with ``bias = False`` (PyTorch's ``nn.LSTM(bias=False)``) has neither ``bias_ih`` nor
  ``bias_hh``: ``xp = x_t @ W_ih.T`` and ``hp = h_{t-1} @ W_hh.T``. The layer-normalised cells
  need that: a bias inside the normalised projection would be normalised with it.
* Anything else the step reads itself (IndRNN's element-wise recurrent weights, layer-norm gains)
  the cell declares in :meth:`Cell.own_param_shapes`; the engine then passes those arrays to
  ``step`` as ``params`` and sums the ``d_params`` that ``step_backward`` returns over the window.

A cell writes only the elementwise part, ``step``, and its hand-written derivative,
``step_backward``. Stacking, masks, resets, readouts, truncation and the weight gradients of the
projections (one GEMM per window) live in the engine (:mod:`seqframe.engine.recurrence`), so a
third-party cell gets all of that, on every backend, for free.

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
    """A recurrent cell: gate count, parameters, state layout, init rule, step and its backward.

    Class attributes:
        name: the registered name (``rnn``, ``lstm``, ``gru``, or a plugin's).
        gates: G, the number of H-wide blocks of the input projection (PyTorch's order).
        recurrent: the cell has a dense recurrent matrix ``W_hh`` (and ``b_hh``); the engine
            computes ``hp`` for it.
        bias: the projections carry the biases ``b_ih`` (and ``b_hh``); PyTorch's ``bias``.
        state_names: names of the state tuple's entries, ``h`` first.
    """

    name: ClassVar[str]
    gates: ClassVar[int]
    recurrent: ClassVar[bool] = True
    bias: ClassVar[bool] = True
    state_names: ClassVar[tuple[str, ...]] = ("h",)

    # ---- parameters --------------------------------------------------------------------------
    def own_param_shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        """Parameters ``step`` reads itself (beyond the projections), by name; none by default."""
        return {}

    def param_shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        """Every parameter of one layer, PyTorch's names without the layer suffix, in the order
        :meth:`init_params` draws them."""
        gh = self.gates * hidden_size
        shapes: dict[str, tuple[int, ...]] = {"weight_ih": (gh, input_size)}
        if self.recurrent:
            shapes["weight_hh"] = (gh, hidden_size)
        if self.bias:
            shapes["bias_ih"] = (gh,)
        if self.recurrent and self.bias:
            shapes["bias_hh"] = (gh,)
        return {**shapes, **self.own_param_shapes(input_size, hidden_size)}

    def init_params(
        self, rng: np.random.Generator, input_size: int, hidden_size: int
    ) -> dict[str, np.ndarray]:
        """Initial weights on the host, float64, shaped as :meth:`param_shapes` says.

        The default rule is PyTorch's: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), drawn
        in :meth:`param_shapes` order. A cell with a different rule overrides this.
        """
        bound = 1.0 / math.sqrt(hidden_size)
        return {name: rng.uniform(-bound, bound, size=shape)
                for name, shape in self.param_shapes(input_size, hidden_size).items()}

    # ---- the step ----------------------------------------------------------------------------
    @abstractmethod
    def step(self, ops: Ops, xp: Array, hp: Array | None, state: State,
             params: dict[str, Array] | None = None) -> tuple[State, Any]:
        """One time step from the projections.

        Args:
            ops: the backend.
            xp: input projection ``x_t @ W_ih.T + b_ih``, (B, G*H).
            hp: hidden projection ``h_{t-1} @ W_hh.T + b_hh``, (B, G*H); None when the cell is
                not ``recurrent``.
            state: the previous state, a tuple of (B, H) arrays in ``state_names`` order.
            params: the cell's own parameters (:meth:`own_param_shapes`), or None when it has
                none. Cells without own parameters may leave this argument out.

        Returns:
            The new state (same layout) and a cache holding what ``step_backward`` needs.
        """

    @abstractmethod
    def step_backward(self, ops: Ops, d_state: State, cache: Any) -> tuple:
        """The derivative of :meth:`step`.

        Args:
            d_state: dLoss/d(new state), a tuple like ``state`` (every entry an array).
            cache: what ``step`` returned.

        Returns:
            ``(d_xp, d_hp, d_state_prev)``, plus a fourth entry ``d_params`` (name -> array) for
            a cell with own parameters: dLoss/dxp (B, G*H), dLoss/dhp (B, G*H; None when not
            ``recurrent``), and the part of dLoss/d(previous state) that does not go through
            ``hp`` (the engine adds ``d_hp @ W_hh`` to the ``h`` entry itself).
        """

    def zero_state(self, ops: Ops, batch_size: int, hidden_size: int) -> State:
        """The all-zeros state every sequence starts from."""
        return tuple(ops.zeros((batch_size, hidden_size)) for _ in self.state_names)


def own_params(cell: Cell, input_size: int = 1, hidden_size: int = 1) -> bool:
    """Whether ``cell`` declares parameters of its own (sizes do not change the answer)."""
    return bool(cell.own_param_shapes(input_size, hidden_size))
