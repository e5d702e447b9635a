"""The shape of an encoder-decoder: what a run config and a task's Seq2SeqSpec decide."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError

ATTENTIONS = ("additive", "general", "dot", "none")


@dataclass(frozen=True)
class Seq2SeqConfig:
    """An encoder-decoder's sizes and choices.

    Attributes:
        cell: the registered cell of both stacks (``gru``, ``lstm``, ``rnn`` or a plugin's).
        source_vocab: V_s, the encoder's input ids.
        target_vocab: V, the decoder's input ids and output classes.
        hidden_size: H, per layer and direction of the encoder, and per layer of the decoder.
        embed: E, the width of both embedding tables.
        layers: L, layers of the encoder and of the decoder.
        bidirectional: the encoder reads the source both ways (its outputs are 2H wide).
        attention: ``additive`` (Bahdanau et al. 2015), ``general`` or ``dot`` (Luong et al.
            2015), or ``none`` (the decoder sees the source only through its start state).
        input_feed: feed the previous step's attentional vector into the decoder's input
            (Luong et al. 2015); the decoder then runs step by step.
        sampling: scheduled sampling (Bengio et al. 2015): the share of decoder inputs, after
            the first, replaced by the model's own previous prediction while training; 0 is
            pure teacher forcing.
        dropout: inverted dropout on the embeddings, every layer's outputs and the attentional
            vector, training only.
        loss: the registered loss over target tokens.
        padding_id, bos_id, eos_id: the special ids (the padding embedding row never learns).
        tie_weights: the output layer uses the target embedding as its weight (needs E = H).
    """

    cell: str
    source_vocab: int
    target_vocab: int
    hidden_size: int
    embed: int
    layers: int = 1
    bidirectional: bool = False
    attention: str = "general"
    input_feed: bool = False
    sampling: float = 0.0
    dropout: float = 0.0
    loss: str = "cross_entropy"
    padding_id: int = 0
    bos_id: int = 2
    eos_id: int = 3
    tie_weights: bool = False

    def __post_init__(self):
        for field in ("source_vocab", "target_vocab", "hidden_size", "layers"):
            value = getattr(self, field)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"encoder-decoder {field} must be a positive integer; got "
                                  f"{value!r}.")
        if not isinstance(self.embed, (int, np.integer)) or self.embed < 1:
            raise ConfigError(f"an encoder-decoder embeds its token ids: --embed must be a "
                              f"positive width (e.g. 256); got {self.embed!r}.")
        if self.attention not in ATTENTIONS:
            raise ConfigError(f"unknown attention {self.attention!r}; expected one of "
                              f"{', '.join(ATTENTIONS)}.")
        if self.input_feed and self.attention == "none":
            raise ConfigError("input_feed feeds the previous attentional vector back into the "
                              "decoder, so it needs attention; set attention to additive, "
                              "general or dot, or input_feed to false.")
        directions = 2 if self.bidirectional else 1
        if self.attention == "dot" and self.hidden_size * directions != self.hidden_size:
            raise ConfigError(
                f"dot attention compares decoder states (H={self.hidden_size}) with encoder "
                f"outputs directly, but a bidirectional encoder's are "
                f"{self.hidden_size * directions} wide; use attention general or additive, "
                "or a unidirectional encoder.")
        if not 0.0 <= self.sampling <= 1.0:
            raise ConfigError(f"sampling (scheduled sampling) is a share of decoder inputs in "
                              f"[0, 1]; got {self.sampling!r}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1); got {self.dropout!r}.")
        if self.tie_weights and self.embed != self.hidden_size:
            raise ConfigError(f"--tie-weights makes the target embedding the output layer's "
                              f"weight, so --embed ({self.embed}) must equal --hidden "
                              f"({self.hidden_size}).")
        for name in ("padding_id", "bos_id", "eos_id"):
            value = getattr(self, name)
            if not 0 <= value < min(self.source_vocab, self.target_vocab):
                raise ConfigError(f"{name} {value} is outside the vocabularies (sizes "
                                  f"{self.source_vocab} and {self.target_vocab}).")
