"""An encoder-decoder's parameters: names, shapes, initial values; no arrays held.

Names follow PyTorch's modules (``nn.Embedding``, ``nn.GRU``/``nn.LSTM``, ``nn.Linear``), so a
state dict maps onto a hand-written torch model one to one. With E the embedding width, H the
hidden size, F = H * directions the encoder's output width, G the cell's gate count and V_s / V
the vocabularies::

    encoder.embedding.weight                 (V_s, E)   padding row zero, never learns
    encoder.rnn.weight_ih_l{k}[_reverse]     (G*H, E or F)   the encoder stack (nn.GRU's names)
    encoder.rnn.weight_hh_l{k}[_reverse] ... the rest of each layer, as the cell declares it
    bridge.{k}.weight, bridge.{k}.bias       (H, F), (H,)   decoder layer k's start state
    decoder.embedding.weight                 (V, E)
    decoder.rnn.weight_ih_l{k} ...           (G*H, E [+ H with input feeding], or H)
    attention.query.weight                   (H, H)     additive: W_q
    attention.key.weight, attention.key.bias (H, F), (H,)   additive: W_k, b_k; general: W_a
    attention.v.weight                       (1, H)     additive
    attention.combine.weight, .bias          (H, F + H), (H,)   attentional vector (not none)
    output.weight, output.bias               (V, H), (V,)   weight absent with tie_weights

The stacks are two single-stack :class:`~seqframe.engine.model.Model` shapes with dense inputs
(the embeddings are looked up here), so :mod:`seqframe.engine.stack` runs them, with a backend's
fused kernels where it has them.
"""

from __future__ import annotations

import math

import numpy as np

from ...cells.base import Cell
from ...errors import ConfigError, ShapeError
from ...losses import Loss
from ..model import Model, ModelConfig, builtin_loss
from .config import Seq2SeqConfig

ENCODER, DECODER = "encoder.rnn.", "decoder.rnn."


class Seq2SeqLayout:
    """Names, shapes and initial values of an encoder-decoder's parameters.

    Args:
        config: the sizes and choices.
        cell: the cell instance both stacks use.
        loss: the loss over target tokens (default: the built-in named by ``config.loss``).

    Attributes:
        encoder, decoder: the two stacks' single-stack shapes (dense inputs, unused readouts).
        directions: 1, or 2 with a bidirectional encoder.
        feature_size: F = H * directions, the width of an encoder output.
        decoder_input: the decoder's first-layer input width (E, plus H with input feeding).
    """

    def __init__(self, config: Seq2SeqConfig, cell: Cell, loss: Loss | None = None):
        if not isinstance(cell, Cell):
            raise ConfigError(f"an encoder-decoder needs a Cell instance; got {cell!r}.")
        self.config, self.cell = config, cell
        self.loss = loss if loss is not None else builtin_loss(config.loss)
        if self.loss.targets != "classes" or self.loss.per_sequence:
            raise ConfigError(f"loss {self.loss.name!r} does not score one target token per "
                              "position; an encoder-decoder trains with a class loss "
                              "(cross_entropy or sampled_softmax).")
        if self.loss.output_size(config.target_vocab) != config.target_vocab:
            raise ConfigError(f"loss {self.loss.name!r} wants more outputs than classes; an "
                              "encoder-decoder's output layer has one score per target id.")
        self.directions = 2 if config.bidirectional else 1
        self.feature_size = config.hidden_size * self.directions
        feed = config.hidden_size if config.input_feed else 0
        self.decoder_input = config.embed + feed
        self.encoder = Model(ModelConfig(cell.name, config.embed, config.hidden_size, 1,
                                         layers=config.layers,
                                         bidirectional=config.bidirectional), cell)
        self.decoder = Model(ModelConfig(cell.name, self.decoder_input, config.hidden_size, 1,
                                         layers=config.layers), cell)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    # ---- names and shapes --------------------------------------------------------------------
    def stack_shapes(self, prefix: str) -> dict[str, tuple[int, ...]]:
        stack = self.encoder if prefix == ENCODER else self.decoder
        return {f"{prefix}{name}{suffix}": shape
                for layer, _, suffix in stack.layer_suffixes()
                for name, shape in stack.layer_params(layer).items()}

    def attention_shapes(self) -> dict[str, tuple[int, ...]]:
        cfg, H, F = self.config, self.config.hidden_size, self.feature_size
        shapes: dict[str, tuple[int, ...]] = {}
        if cfg.attention == "additive":
            shapes = {"attention.query.weight": (H, H), "attention.key.weight": (H, F),
                      "attention.key.bias": (H,), "attention.v.weight": (1, H)}
        elif cfg.attention == "general":
            shapes = {"attention.key.weight": (H, F)}
        if cfg.attention != "none":
            shapes.update({"attention.combine.weight": (H, F + H),
                           "attention.combine.bias": (H,)})
        return shapes

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's name and shape, in the order :meth:`init_params` draws them."""
        cfg, H, V = self.config, self.config.hidden_size, self.config.target_vocab
        shapes = {"encoder.embedding.weight": (cfg.source_vocab, cfg.embed),
                  **self.stack_shapes(ENCODER)}
        for k in range(cfg.layers):
            shapes.update({f"bridge.{k}.weight": (H, self.feature_size),
                           f"bridge.{k}.bias": (H,)})
        shapes["decoder.embedding.weight"] = (V, cfg.embed)
        shapes.update(self.stack_shapes(DECODER))
        shapes.update(self.attention_shapes())
        if not cfg.tie_weights:
            shapes["output.weight"] = (V, H)
        shapes["output.bias"] = (V,)
        return shapes

    # ---- initial values ----------------------------------------------------------------------
    def init_params(self, seed_or_rng: int | np.random.Generator) -> dict[str, np.ndarray]:
        """Initial parameters on the host, float64, deterministic in the seed.

        Drawn in :meth:`param_shapes` order: embeddings N(0, 1) with the padding row zero
        (``nn.Embedding``); the stacks by their cell's rule, layer by layer, forward direction
        first; every other weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), ``nn.Linear``'s
        default (fan_in: the weight's second dimension).
        """
        rng = np.random.default_rng(seed_or_rng)
        params: dict[str, np.ndarray] = {}
        for name, shape in self.param_shapes().items():
            if name in params:
                continue
            if name.endswith("embedding.weight"):
                table = rng.standard_normal(shape)
                table[self.config.padding_id] = 0.0
                params[name] = table
            elif name.startswith((ENCODER, DECODER)):
                params.update(self._draw_stack(rng, name))
            else:
                params[name] = rng.uniform(-1, 1, shape) / math.sqrt(self._fan_in(name, shape))
        return params

    def _draw_stack(self, rng: np.random.Generator, first: str) -> dict[str, np.ndarray]:
        """All of one stack's layers, drawn by the cell (``first`` is its first name)."""
        prefix = ENCODER if first.startswith(ENCODER) else DECODER
        stack = self.encoder if prefix == ENCODER else self.decoder
        out = {}
        for layer, _, suffix in stack.layer_suffixes():
            drawn = self.cell.init_params(rng, stack.layer_input_size(layer),
                                          self.config.hidden_size)
            out.update({f"{prefix}{k}{suffix}": np.asarray(v, np.float64)
                        for k, v in drawn.items()})
        return out

    def _fan_in(self, name: str, shape: tuple[int, ...]) -> int:
        """A weight's input width; a bias takes its weight's (the output layer's is H, tied or
        not)."""
        if len(shape) == 2:
            return shape[1]
        if name == "output.bias":
            return self.config.hidden_size
        return self.param_shapes()[name.replace(".bias", ".weight")][1]

    # ---- views and checks --------------------------------------------------------------------
    def stack_view(self, params: dict, prefix: str) -> dict:
        """One stack's parameters under the names its single-stack shape uses."""
        return {name[len(prefix):]: value for name, value in params.items()
                if name.startswith(prefix)}

    def output_weight(self, params: dict):
        """(V, H): the output layer's weight, or the target embedding when tied."""
        return params["decoder.embedding.weight" if self.config.tie_weights else "output.weight"]

    def check_params(self, params: dict) -> None:
        """Raise ShapeError unless ``params`` has every parameter, right-shaped."""
        for name, shape in self.param_shapes().items():
            if name not in params:
                raise ShapeError(f"parameter {name!r} is missing; this encoder-decoder needs "
                                 f"{', '.join(self.param_shapes())}. Make the parameters with "
                                 "init_params for this config.")
            got = tuple(params[name].shape)
            if got != shape:
                raise ShapeError(f"parameter {name!r} has shape {got} but this encoder-decoder "
                                 f"expects {shape}. Were the parameters made for another "
                                 "config?")
