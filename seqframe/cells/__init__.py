"""Recurrent cells: the contract and the three built-ins (Elman ``rnn``, ``lstm``, ``gru``).

Each cell is written once against :class:`seqframe.ops.Ops`, uses PyTorch's parameter names and
gate order, and has its hand-written backward directly beneath its forward step. ``--layer-norm``
swaps the LSTM and GRU for their layer-normalised variants (:mod:`seqframe.cells.layernorm`).
"""

from ..errors import ConfigError
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



def layer_norm_variant(cell_cls: type[Cell]) -> type[Cell]:
    """The layer-normalised variant of a built-in cell class (``--layer-norm``).

    Raises:
        ConfigError: the cell has none (the message lists the cells that have one).
    """
    variant = LAYER_NORM_VARIANTS.get(cell_cls)
    if variant is None:
        have = ", ".join(sorted(c.name for c in LAYER_NORM_VARIANTS)) or "no cell yet"
        raise ConfigError(f"--layer-norm has no layer-normalised variant of cell "
                          f"{cell_cls.name!r}; it exists for {have}.")
    return variant


__all__ = ["Cell", "State", "RNNCell", "LSTMCell", "GRUCell", "LayerNormLSTMCell",
           "LayerNormGRUCell", "LAYER_NORM_VARIANTS", "layer_norm_variant"]
