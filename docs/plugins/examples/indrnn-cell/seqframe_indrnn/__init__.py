"""The independently recurrent neural network (IndRNN) as a seqframe cell with own parameters."""
