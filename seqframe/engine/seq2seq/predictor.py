"""The encoder-decoder as a task sees it: NumPy in, NumPy out, eval mode.

:class:`EncoderDecoderPredictor` implements :class:`seqframe.task.Seq2SeqPredictor`:
teacher-forced scores, greedy and beam-search translations; :class:`AttendingPredictor`, the
predictor of a model with attention, is also an :class:`~seqframe.task.AttentionPredictor`
(attention weights for heat maps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ShapeError
from ...ops import Array, Ops
from ...task import Seq2SeqBatch
from . import decoding, network


class EncoderDecoderPredictor:
    """Eval-mode use of an encoder-decoder ``model`` with ``params`` on ``ops``.

    Args:
        model: a :class:`~seqframe.engine.seq2seq.Seq2SeqModel` (or its layout).
        ops: the backend.
        params: parameter dict of backend arrays.
    """

    def __init__(self, model: Any, ops: Ops, params: dict[str, Array]):
        self.model, self.ops, self.params = model, ops, params
        self.fused = ops.fused_recurrence(model.cell)

    def logits(self, batch: Seq2SeqBatch) -> np.ndarray:
        """See :meth:`seqframe.task.Seq2SeqPredictor.logits`."""
        scores, _ = network.teacher_forced(self.model, self.ops, self.params, batch, self.fused)
        return self.ops.to_numpy(scores)

    def translate(self, source: np.ndarray, source_mask: np.ndarray, *, beam: int = 1,
                  max_len: int | np.ndarray = 50,
                  length_penalty: float = 1.0) -> list[list[int]]:
        """See :meth:`seqframe.task.Seq2SeqPredictor.translate`."""
        source = np.asarray(source, dtype=np.int64)
        source_mask = np.asarray(source_mask, bool)
        if source.ndim != 2 or source_mask.shape != source.shape:
            raise ShapeError(f"translate expects source ids and their mask shaped (B, S); got "
                             f"{source.shape} and {source_mask.shape}.")
        if source.size and (source.min() < 0 or source.max() >= self.model.config.source_vocab):
            raise ShapeError(f"a source id lies outside the source vocabulary [0, "
                             f"{self.model.config.source_vocab}).")
        if beam == 1:
            return decoding.greedy(self.model, self.ops, self.params, source, source_mask,
                                   max_len, self.fused)
        return decoding.beam_search(self.model, self.ops, self.params, source, source_mask, beam,
                                    max_len, length_penalty, self.fused)


class AttendingPredictor(EncoderDecoderPredictor):
    """An :class:`EncoderDecoderPredictor` of a model with attention, which can show it
    (:class:`seqframe.task.AttentionPredictor`)."""

    def attention(self, batch: Seq2SeqBatch) -> np.ndarray:
        """See :meth:`seqframe.task.AttentionPredictor.attention`."""
        _, weights = network.teacher_forced(self.model, self.ops, self.params, batch, self.fused)
        return self.ops.to_numpy(weights)


def make_predictor(model: Any, ops: Ops, params: dict[str, Array]) -> EncoderDecoderPredictor:
    """The predictor of ``model``: one that shows its attention when it has any."""
    cls = EncoderDecoderPredictor if model.config.attention == "none" else AttendingPredictor
    return cls(model, ops, params)
