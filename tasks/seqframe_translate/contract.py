"""What the translate task and the encoder--decoder exchange: the core's contract, and padding.

The batch, spec and predictor types are the core's (:mod:`seqframe.task`); this module adds the
task's special ids and :func:`make_batch`, which pads id lists with them.

Shape letters: B batch, S source positions, T target positions, V target vocabulary.
Token ids: ``<pad>`` 0, ``<unk>`` 1, ``<bos>`` 2, ``<eos>`` 3 on both sides
(:mod:`seqframe_translate.vocab`).
"""

from __future__ import annotations

import numpy as np

from seqframe.task import AttentionPredictor, Seq2SeqBatch, Seq2SeqPredictor, Seq2SeqSpec

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

__all__ = ["AttentionPredictor", "BOS_ID", "EOS_ID", "PAD_ID", "Seq2SeqBatch",
           "Seq2SeqPredictor", "Seq2SeqSpec", "UNK_ID", "make_batch"]


def make_batch(sources: list[list[int]], targets: list[list[int]]) -> Seq2SeqBatch:
    """Pad token-id lists (no specials) into a :class:`Seq2SeqBatch`."""
    B = len(sources)
    S = max(len(s) for s in sources) + 1  # + <eos>
    T = max(len(t) for t in targets) + 1  # + <bos> (inputs) or <eos> (outputs)
    source = np.full((B, S), PAD_ID, dtype=np.int64)  # (B, S)
    target_in = np.full((B, T), PAD_ID, dtype=np.int64)  # (B, T)
    target_out = np.full((B, T), PAD_ID, dtype=np.int64)  # (B, T)
    for i, (s, t) in enumerate(zip(sources, targets, strict=True)):
        source[i, : len(s) + 1] = [*s, EOS_ID]
        target_in[i, : len(t) + 1] = [BOS_ID, *t]
        target_out[i, : len(t) + 1] = [*t, EOS_ID]
    source_lengths = np.array([len(s) + 1 for s in sources])
    target_lengths = np.array([len(t) + 1 for t in targets])
    source_mask = np.arange(S)[None, :] < source_lengths[:, None]  # (B, S)
    target_mask = np.arange(T)[None, :] < target_lengths[:, None]  # (B, T)
    return Seq2SeqBatch(source, source_mask, target_in, target_out, target_mask)
