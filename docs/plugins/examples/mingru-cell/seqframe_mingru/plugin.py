"""What this distribution adds to seqframe: one cell."""

from seqframe import hookimpl

from .cell import MinGRUCell


@hookimpl
def seqframe_register_cells(register):
    register("mingru", MinGRUCell, "minGRU (Feng et al. 2024): gates from the input only, no W_hh")
