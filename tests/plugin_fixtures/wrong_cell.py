"""A cell plugin whose hand-written backward has a bug (a missing factor), for `seqframe check`."""

from seqframe import hookimpl
from seqframe.cells.rnn import RNNCell


class SloppyCell(RNNCell):
    name = "sloppy"

    def step_backward(self, ops, d_state, cache):
        d_a = d_state[0]  # forgot the tanh derivative (1 - h**2)
        return d_a, d_a, (ops.zeros_like(cache),)


@hookimpl
def seqframe_register_cells(register):
    register("sloppy", SloppyCell, "an Elman cell with a wrong backward")
