"""The minimal GRU (minGRU) as a seqframe cell without a recurrent matrix."""
