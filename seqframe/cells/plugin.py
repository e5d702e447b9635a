"""Registers the built-in cells through the same entry-point door as any third-party plugin."""

from ..hookspecs import hookimpl
from .gru import GRUCell
from .lstm import LSTMCell
from .rnn import RNNCell


@hookimpl
def seqframe_register_cells(register):
    register("rnn", RNNCell, "Elman (vanilla tanh) RNN, as torch.nn.RNN")
    register("lstm", LSTMCell, "LSTM, gates i, f, g, o, as torch.nn.LSTM")
    register("gru", GRUCell, "GRU, gates r, z, n, as torch.nn.GRU")
