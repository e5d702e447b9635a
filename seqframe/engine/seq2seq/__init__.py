"""Encoder-decoder models with attention, for tasks whose spec is a ``Seq2SeqSpec``.

* :mod:`.config` -- :class:`Seq2SeqConfig`, the sizes and choices;
* :mod:`.layout` -- parameter names (PyTorch's), shapes and initial values;
* :mod:`.encoder` -- embedding, the encoder stack (the single-stack engine's), the bridge;
* :mod:`.attention` -- additive, general and dot attention over the encoder's outputs;
* :mod:`.decoder` -- the decoder, all positions at once or step by step;
* :mod:`.network` -- one training window: forward, loss and backward by hand;
* :mod:`.decoding` -- greedy and beam search;
* :mod:`.model` -- :class:`Seq2SeqModel`, the model as the trainer sees it;
* :mod:`.predictor` -- :class:`EncoderDecoderPredictor`, the model as a task sees it.
"""

from .config import ATTENTIONS, Seq2SeqConfig
from .model import Seq2SeqModel
from .predictor import EncoderDecoderPredictor

__all__ = ["ATTENTIONS", "EncoderDecoderPredictor", "Seq2SeqConfig", "Seq2SeqModel"]
