"""The encoder-decoder as the trainer sees it: a :class:`~seqframe.engine.topology.Topology`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ConfigError
from ...ops import Array, Ops
from ...task import Seq2SeqBatch
from ..bptt import WindowResult
from ..recurrence import Recurrence
from . import network
from .layout import Seq2SeqLayout
from .predictor import EncoderDecoderPredictor, make_predictor


class Seq2SeqModel(Seq2SeqLayout):
    """An encoder-decoder with attention (see :mod:`seqframe.engine.seq2seq`).

    Args:
        config: a :class:`~seqframe.engine.seq2seq.config.Seq2SeqConfig`.
        cell: the cell instance of both stacks.
        loss: the loss over target tokens (default: the built-in ``config.loss``).
    """

    reads_whole = True  # a sentence pair is one window

    def zero_state(self, ops: Ops, batch_size: int) -> None:
        """None: nothing is carried from one batch of sentence pairs to the next."""
        return None

    def fused_recurrence(self, ops: Ops) -> Recurrence | None:
        """The backend's fused kernels for the cell: they run the encoder, and the decoder
        when it runs all positions at once."""
        return ops.fused_recurrence(self.cell)

    def window_loss_and_grad(self, ops: Ops, params: dict[str, Array], batch: Seq2SeqBatch,
                             state: Any = None, *, loss_from: int = 0,
                             carry_at: int | None = None,
                             dropout_rng: np.random.Generator | None = None,
                             loss_rng: np.random.Generator | None = None,
                             fused: Recurrence | None = None) -> WindowResult:
        """Forward, loss and backward of one batch of pairs (:mod:`.network`)."""
        if loss_from or carry_at or state is not None:
            raise ConfigError("an encoder-decoder reads each sentence pair whole, from no "
                              "carried state: truncated BPTT (--bptt) does not apply to it.")
        result = network.window_loss_and_grad(self, ops, params, batch, dropout_rng=dropout_rng,
                                              loss_rng=loss_rng, fused=fused)
        return WindowResult(result.loss_sum, result.count, result.grads, None, None,
                            result.path)

    def timesteps(self, batch: Seq2SeqBatch, loss_from: int = 0) -> float:
        """Target tokens: the positions the loss counts."""
        return float(np.asarray(batch.target_mask, bool).sum())

    def skip_draws(self, rng: Any, batch: Seq2SeqBatch) -> None:
        network.host_drops(self, rng, 0, batch.source.shape[1], batch.length)
        network.draw_coins(self, rng, 0, batch.length)

    def predictor(self, ops: Ops, params: dict[str, Array]) -> EncoderDecoderPredictor:
        return make_predictor(self, ops, params)

