"""A cell plugin that calls NumPy directly instead of `ops`: right on numpy, wrong elsewhere."""

import numpy as np

from seqframe import hookimpl
from seqframe.cells.rnn import RNNCell


class NumpyTanhCell(RNNCell):
    name = "nptanh"

    def step(self, ops, xp, hp, state):
        h = np.tanh(xp + hp)  # (B, H): a NumPy array whatever the backend
        return (h,), h


@hookimpl
def seqframe_register_cells(register):
    register("nptanh", NumpyTanhCell, "an Elman cell that calls np.tanh")
