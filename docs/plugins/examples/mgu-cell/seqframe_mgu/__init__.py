"""The minimal gated unit as a seqframe cell: the cell-plugin tutorial's example."""
