"""What a sequence-to-sequence model and the translate task exchange: batches, spec, predictor.

Kept self-contained (NumPy and the standard library only) so it can move into the core contract
(``seqframe.task``) unchanged once the engine has an encoder--decoder.

Shape letters: B batch, S source positions, T target positions, V target vocabulary.
Token ids: ``<pad>`` 0, ``<unk>`` 1, ``<bos>`` 2, ``<eos>`` 3 on both sides
(:mod:`seqframe_translate.vocab`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from seqframe.errors import UsageError

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


@dataclass
class Seq2SeqBatch:
    """One mini-batch of sentence pairs, host arrays, padded with ``<pad>`` (id 0).

    Attributes:
        source: (B, S) int64, the source token ids followed by ``<eos>``.
        source_mask: (B, S) bool, True on real positions (``<eos>`` included).
        target_in: (B, T) int64, the decoder's inputs under teacher forcing: ``<bos>`` + y.
        target_out: (B, T) int64, what the decoder must predict at each position: y + ``<eos>``.
        target_mask: (B, T) bool, True on real positions; the loss counts only these.
    """

    source: np.ndarray
    source_mask: np.ndarray
    target_in: np.ndarray
    target_out: np.ndarray
    target_mask: np.ndarray

    @property
    def batch_size(self) -> int:
        return self.source.shape[0]

    @property
    def target_tokens(self) -> int:
        """Target positions that count in the loss (the ``<eos>`` of every row included)."""
        return int(self.target_mask.sum())

    def rows(self, start: int, stop: int) -> Seq2SeqBatch:
        """Rows ``start:stop`` (a data-parallel shard or an accumulation micro-batch)."""
        return Seq2SeqBatch(*(a[start:stop] for a in (
            self.source, self.source_mask, self.target_in, self.target_out, self.target_mask)))


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


class Seq2SeqPredictor(Protocol):
    """What the translate task needs from a trained encoder--decoder (eval mode, no dropout)."""

    def logits(self, batch: Seq2SeqBatch) -> np.ndarray:
        """Scores (B, T, V) of the next target token at every position under teacher forcing
        (the decoder reads ``batch.target_in``); raw scores, not probabilities."""
        ...

    def translate(self, source: np.ndarray, source_mask: np.ndarray, *, beam: int,
                  max_len: int) -> list[list[int]]:
        """Decode every row of ``source`` (B, S): greedy for ``beam`` 1, beam search otherwise,
        at most ``max_len`` tokens. One target id list per row, without ``<bos>``; it may end in
        ``<eos>`` (the task stops reading there)."""
        ...


class AttentionPredictor(Seq2SeqPredictor, Protocol):
    """A predictor that can also show where it attends (for the heat-map artefacts)."""

    def attention(self, batch: Seq2SeqBatch) -> np.ndarray:
        """Attention weights (B, T, S) of the decoder reading ``batch.target_in`` (teacher
        forcing); each row over the valid source positions sums to 1."""
        ...


ENGINE_MISSING = (
    "task 'translate' needs an encoder-decoder model (a source and a target vocabulary, "
    "attention, decoding), which this version of the seqframe engine does not have yet, so "
    "`seqframe run --task translate` cannot train. The task's data, tokenizers, batches, "
    "metrics and baselines work from Python (docs/tasks/translate.md); measure the baselines "
    "with `python benchmarks/translate_baselines.py`."
)


@dataclass(frozen=True)
class Seq2SeqSpec:
    """What the translate task needs from the model, returned by its ``prepare``.

    Attributes:
        source_vocab: size of the source vocabulary (the encoder's embedding rows).
        target_vocab: V, size of the target vocabulary (the decoder's embeddings and outputs).
        max_len: training pairs have at most this many tokens per side (before specials).
    """

    source_vocab: int
    target_vocab: int
    max_len: int
    pad_id: int = PAD_ID
    bos_id: int = BOS_ID
    eos_id: int = EOS_ID

    def __getattr__(self, name: str):
        # The engine reads a single-stack ModelSpec's fields; until it knows this spec, asking
        # for them is where `seqframe run --task translate` stops, with a message, not a trace.
        if name in ("input_size", "output_size", "readout", "loss", "stateful"):
            raise UsageError(ENGINE_MISSING)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
