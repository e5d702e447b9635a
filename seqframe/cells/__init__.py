"""Recurrent cells: the contract and the three built-ins (Elman ``rnn``, ``lstm``, ``gru``).

Each cell is written once against :class:`seqframe.ops.Ops`, uses PyTorch's parameter names and
gate order, and has its hand-written backward directly beneath its forward step.
"""

from .base import Cell, State
from .gru import GRUCell
from .lstm import LSTMCell
from .rnn import RNNCell

# built-in cell class -> its layer-normalised variant (``--layer-norm``)
LAYER_NORM_VARIANTS: dict[type[Cell], type[Cell]] = {}

__all__ = ["Cell", "State", "RNNCell", "LSTMCell", "GRUCell", "LAYER_NORM_VARIANTS"]
