"""What this distribution adds to seqframe: one cell."""

from seqframe import hookimpl

from .cell import MGUCell


@hookimpl
def seqframe_register_cells(register):
    # The class itself: cell.py imports nothing heavy, so there is no need for a lazy string.
    register("mgu", MGUCell, "minimal gated unit (Zhou et al. 2016), PyTorch-GRU style")
