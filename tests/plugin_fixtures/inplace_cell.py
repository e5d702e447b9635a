"""Cell plugins whose maths is right but which write into their inputs, for `seqframe check`."""

from seqframe import hookimpl
from seqframe.cells.rnn import RNNCell


class InPlaceCell(RNNCell):
    name = "inplace"

    def step(self, ops, xp, hp, state):
        xp += hp  # saves an allocation, and overwrites the projection BPTT still holds
        h = ops.tanh(xp)
        return (h,), h


class StateWriterCell(RNNCell):
    name = "statewriter"

    def step(self, ops, xp, hp, state):
        h = state[0]
        h[...] = ops.tanh(xp + hp)  # reuses the previous state's buffer for the new one
        return (h,), h


@hookimpl
def seqframe_register_cells(register):
    register("inplace", InPlaceCell, "an Elman cell that adds hp into xp in place")
    register("statewriter", StateWriterCell, "an Elman cell that overwrites its previous state")
