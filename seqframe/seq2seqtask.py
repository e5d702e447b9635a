"""The encoder-decoder half of the Task contract: sentence pairs in, sequences out.

A task whose ``prepare`` returns a :class:`Seq2SeqSpec` hands out :class:`Seq2SeqBatch` pairs and
is evaluated through a :class:`Seq2SeqPredictor`; the engine builds an encoder-decoder with
attention for it (:mod:`seqframe.engine.seq2seq`). Everything here is also importable from
:mod:`seqframe.task`, with the rest of the contract.

Shape letters: B batch, S source positions, T target positions, V target vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np


@dataclass
class Seq2SeqBatch:
    """One mini-batch of (source, target) sequence pairs, host arrays, padded with ``pad_id``.

    Attributes:
        source: (B, S) int64, the source token ids (a task may end each with ``<eos>``).
        source_mask: (B, S) bool, True on real positions; a prefix mask (padding at the end).
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
    def length(self) -> int:
        """T, the target positions (the trainer reads a sentence pair whole, as one window)."""
        return self.target_in.shape[1]

    @property
    def target_tokens(self) -> int:
        """Target positions that count in the loss (the ``<eos>`` of every row included)."""
        return int(self.target_mask.sum())

    def rows(self, start: int, stop: int) -> Seq2SeqBatch:
        """Rows ``start:stop`` (a data-parallel shard or an accumulation micro-batch)."""
        return Seq2SeqBatch(*(a[start:stop] for a in (
            self.source, self.source_mask, self.target_in, self.target_out, self.target_mask)))


@dataclass(frozen=True)
class Seq2SeqSpec:
    """What an encoder-decoder task needs from the model, returned by its ``prepare``.

    A task returning this spec (instead of a :class:`ModelSpec`) is trained with an
    encoder-decoder (:mod:`seqframe.engine.seq2seq`): its batches are :class:`Seq2SeqBatch` and
    its evaluation gets a :class:`Seq2SeqPredictor`.

    Attributes:
        source_vocab: size of the source vocabulary (the encoder's embedding rows).
        target_vocab: V, size of the target vocabulary (the decoder's embeddings and outputs).
        max_len: training pairs have at most this many tokens per side (before specials).
        pad_id, bos_id, eos_id: the padding, start and end ids (the same on both sides).
        loss: the loss over target tokens (a class loss: ``cross_entropy``).
        losses: other losses a run may choose (``sampled_softmax`` for a large vocabulary).
        class_frequencies: each target id's count in the training data (the popularity
            proposal of sampled losses), or None.
    """

    source_vocab: int
    target_vocab: int
    max_len: int
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3
    loss: str = "cross_entropy"
    losses: tuple[str, ...] = ("sampled_softmax",)
    class_frequencies: Any = None
    stateful: ClassVar[bool] = False  # sentence pairs carry no state from batch to batch


@runtime_checkable
class Seq2SeqPredictor(Protocol):
    """What an encoder-decoder task gets for evaluation (eval mode, no dropout)."""

    def logits(self, batch: Seq2SeqBatch) -> np.ndarray:
        """Scores (B, T, V) of the next target token at every position under teacher forcing
        (the decoder reads ``batch.target_in``); raw scores, not probabilities."""
        ...

    def translate(self, source: np.ndarray, source_mask: np.ndarray, *, beam: int,
                  max_len: int | np.ndarray, length_penalty: float = 1.0) -> list[list[int]]:
        """Decode every row of ``source`` (B, S): greedy for ``beam`` 1, beam search otherwise.

        Args:
            source, source_mask: as in :class:`Seq2SeqBatch`.
            beam: K, hypotheses kept per sentence.
            max_len: at most this many tokens per row: one number, or (B,) one per row (a
                budget that grows with the source's length).
            length_penalty: beam search ranks finished hypotheses by ``log p / length **
                length_penalty`` (0: raw log-probability, which favours short outputs).

        Returns:
            One target id list per row, without ``<bos>``, ending in ``<eos>`` unless the row ran
            out of budget.
        """
        ...


@runtime_checkable
class AttentionPredictor(Seq2SeqPredictor, Protocol):
    """A :class:`Seq2SeqPredictor` that can also show where it attends (heat maps)."""

    def attention(self, batch: Seq2SeqBatch) -> np.ndarray:
        """Attention weights (B, T, S) of the decoder reading ``batch.target_in`` (teacher
        forcing); each row sums to 1 over the valid source positions, 0 on padding."""
        ...
