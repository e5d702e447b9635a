"""What this distribution adds to seqframe: one cell."""

from seqframe import hookimpl

from .cell import IndRNNCell


@hookimpl
def seqframe_register_cells(register):
    register("indrnn", IndRNNCell, "IndRNN (Li et al. 2018): ReLU, element-wise recurrent weights")
