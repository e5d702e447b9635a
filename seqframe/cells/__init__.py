"""Recurrent cells: the contract and the three built-ins (Elman ``rnn``, ``lstm``, ``gru``).

Each cell is written once against :class:`seqframe.ops.Ops`, uses PyTorch's parameter names and
gate order, and has its hand-written backward directly beneath its forward step. ``--layer-norm``
swaps the LSTM and GRU for their layer-normalised variants (:mod:`seqframe.cells.layernorm`).
"""

from .base import Cell, State
from .gru import GRUCell
from .layernorm import LayerNormGRUCell, LayerNormLSTMCell
from .lstm import LSTMCell
from .rnn import RNNCell

# built-in cell class -> its layer-normalised variant (``--layer-norm``)
LAYER_NORM_VARIANTS: dict[type[Cell], type[Cell]] = {
    LSTMCell: LayerNormLSTMCell,
    GRUCell: LayerNormGRUCell,
}

__all__ = ["Cell", "State", "RNNCell", "LSTMCell", "GRUCell", "LayerNormLSTMCell",
           "LayerNormGRUCell", "LAYER_NORM_VARIANTS"]
