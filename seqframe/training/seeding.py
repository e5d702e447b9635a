"""Host random streams: every random number seqframe draws comes from one seed, on the host.

Every backend draws from these NumPy generators and moves the result with ``ops.asarray``, so two
backends given one seed start from the same weights and see the same dropout masks and batches.
"""

from __future__ import annotations

import numpy as np


def seed_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent host RNG streams from one seed: ``init`` (weights), ``dropout``, ``data``,
    ``loss`` (the draws of a sampled loss).

    Separate streams keep concerns apart: e.g. switching dropout on does not reshuffle the data.
    The n-th child of a SeedSequence does not depend on how many are spawned, so adding a stream
    leaves the others' numbers as they were.
    """
    init, dropout, data, loss = np.random.SeedSequence(seed).spawn(4)
    return {"init": np.random.default_rng(init), "dropout": np.random.default_rng(dropout),
            "data": np.random.default_rng(data), "loss": np.random.default_rng(loss)}


def data_seed(seed: int) -> int:
    """The integer seed handed to ``task.train_batches`` (drawn from the ``data`` stream)."""
    return int(seed_streams(seed)["data"].integers(0, 2**31 - 1))
