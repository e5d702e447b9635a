"""The model: optional token embedding, a stack of recurrent layers, one linear readout, a loss.

Parameter names are PyTorch's, so a state dict moves between seqframe and ``torch.nn`` as is::

    embedding.weight          (V, E)          token inputs with --embed E (nn.Embedding)
    weight_ih_l{k}[_reverse]  (G*H, D_k)      D_0 = E, V (one-hot ids) or D; D_k = H * dirs
    weight_hh_l{k}[_reverse]  (G*H, H)        recurrent cells only
    bias_ih_l{k}[_reverse]    (G*H,)
    bias_hh_l{k}[_reverse]    (G*H,)          recurrent cells only
    ...                                       a cell's own parameters, with the same suffix
    readout.weight            (O', H * dirs)  absent with tie_weights: embedding.weight instead
    readout.bias              (O',)

where O' is the loss's output size (O, or 2*O for ``gaussian_nll``). The maths of one window
lives in :mod:`seqframe.engine.bptt`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..cells.base import Cell, State
from ..errors import ConfigError, ShapeError
from ..losses import BUILTIN, Loss
from ..ops import Ops

READOUTS = ("every_step", "last", "mean", "max")


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a model.

    Attributes:
        cell: the cell's registered name (``rnn``, ``lstm``, ``gru`` or a plugin's).
        input_size: D, features per step; for token inputs V, the input vocabulary.
        hidden_size: H, per layer and direction.
        output_size: O, classes for class losses, target values otherwise.
        layers: stacked recurrent layers.
        readout: ``every_step`` (an output per step), ``last`` (the final state of each
            direction of the top layer, i.e. the last valid step of a forward pass), ``mean``
            (top-layer outputs averaged over valid steps) or ``max`` (each top-layer feature's
            largest value over valid steps).
        loss: the loss's registered name (``cross_entropy``, ``mse``, ``gaussian_nll``, ...).
        dropout: inverted-dropout probability on every layer's output (between layers and
            before the readout), training only.
        bidirectional: add a second direction reading each window back to front.
        tokens: inputs are integer ids in ``[0, input_size)``, shaped (B, T).
        embed: E, the width of the embedding table of token inputs; 0 feeds them one-hot.
        padding_id: a token id that is padding: its embedding row starts at zero and never
            learns (``nn.Embedding(padding_idx=...)``).
        tie_weights: the readout uses the embedding table as its weight (needs O' = V and
            E = H * directions).
        sparse_grads: the embedding table's gradient, and a readout's gradient from a loss that
            scores a few classes (sampled softmax), stay row-sparse
            (:class:`~seqframe.rowsparse.RowSparse`), and the optimizer updates only the rows a
            step touched.
    """

    cell: str
    input_size: int
    hidden_size: int
    output_size: int
    layers: int = 1
    readout: str = "every_step"
    loss: str = "cross_entropy"
    dropout: float = 0.0
    bidirectional: bool = False
    tokens: bool = False
    embed: int = 0
    padding_id: int | None = None
    tie_weights: bool = False
    sparse_grads: bool = False

    def __post_init__(self):
        for field in ("input_size", "hidden_size", "output_size", "layers"):
            value = getattr(self, field)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"model {field} must be a positive integer; got {value!r}.")
        if self.readout not in READOUTS:
            raise ConfigError(
                f"unknown readout {self.readout!r}; expected one of {', '.join(READOUTS)}."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(
                f"dropout must be in [0, 1); got {self.dropout!r}. Use 0 to switch it off."
            )
        self._check_inputs()

    def _check_inputs(self) -> None:
        if not isinstance(self.embed, (int, np.integer)) or self.embed < 0:
            raise ConfigError(f"--embed must be 0 (no embedding) or a positive width; got "
                              f"{self.embed!r}.")
        if self.embed and not self.tokens:
            raise ConfigError(f"--embed {self.embed} needs token inputs, but this task gives "
                              f"dense features ({self.input_size} per step); drop --embed.")
        if self.padding_id is not None and not 0 <= self.padding_id < self.input_size:
            raise ConfigError(f"padding_id {self.padding_id} is outside the input vocabulary "
                              f"[0, {self.input_size}).")
        if self.tie_weights and not self.embed:
            raise ConfigError("--tie-weights shares the embedding table with the readout, so it "
                              "needs token inputs and --embed E.")


def builtin_loss(name: str) -> Loss:
    """A built-in loss by name (a model made outside a run, e.g. in a gradient check)."""
    if name not in BUILTIN:
        raise ConfigError(f"loss {name!r} is not built in; pass its Loss instance to Model "
                          f"(`seqframe plugins` lists the registered losses).")
    return BUILTIN[name]()


class Model:
    """A configured model: optional embedding, a stack of one cell type, the readout, the loss.

    Holds no arrays itself.

    Args:
        config: the model's shape.
        cell: the cell instance every layer uses.
        loss: the loss instance (default: the built-in named by ``config.loss``).

    Attributes:
        config, cell, loss: as given.
        directions: 1, or 2 when bidirectional.
        output_size: O', the width of the readout (2*O for ``gaussian_nll``).
        feature_size: H * directions, the width the readout sees.
        embedded: the model starts with an embedding table.
    """

    def __init__(self, config: ModelConfig, cell: Cell, loss: Loss | None = None):
        if not isinstance(cell, Cell):
            raise ConfigError(
                f"Model needs a Cell instance; got {cell!r}. Pass e.g. LSTMCell(), not the class."
            )
        self.config = config
        self.cell = cell
        self.loss = loss if loss is not None else builtin_loss(config.loss)
        self.directions = 2 if config.bidirectional else 1
        self.output_size = self.loss.output_size(config.output_size)
        self.feature_size = config.hidden_size * self.directions
        self.embedded = config.tokens and config.embed > 0
        if config.tie_weights:
            self._check_tying()
        if config.sparse_grads and not (self.embedded or self.loss.needs == "features"):
            raise ConfigError(
                f"--sparse-grads keeps the gradients of an embedding table (--embed E) and of a "
                f"readout scored on a few classes (--loss sampled_softmax) row-sparse; this model "
                f"has neither (loss {self.loss.name!r}, embed {config.embed}). Add one, or drop "
                f"--sparse-grads.")

    def __repr__(self) -> str:
        return f"Model({self.config!r})"

    def _check_tying(self) -> None:
        """The readout can use the embedding table (V, E) as its weight (O', H * directions)."""
        cfg = self.config
        if self.output_size != cfg.input_size:
            raise ConfigError(
                f"--tie-weights uses the embedding table of {cfg.input_size} input ids as the "
                f"readout's weight, but the readout has {self.output_size} outputs; tie only "
                "when the task predicts the vocabulary it reads (a language model).")
        if cfg.embed != self.feature_size:
            hint = f" or --hidden {cfg.embed // self.directions}" \
                if cfg.embed % self.directions == 0 else ""
            raise ConfigError(
                f"--tie-weights needs --embed equal to the readout's input, hidden x directions "
                f"= {cfg.hidden_size} x {self.directions} = {self.feature_size}; got --embed "
                f"{cfg.embed}. Use --embed {self.feature_size}{hint}.")

    # ---- names and shapes --------------------------------------------------------------------
    def layer_suffixes(self) -> list[tuple[int, int, str]]:
        """``(layer, direction, suffix)`` for every recurrent layer, in parameter order."""
        out = []
        for layer in range(self.config.layers):
            for direction in range(self.directions):
                out.append((layer, direction, f"_l{layer}" + ("_reverse" if direction else "")))
        return out

    def layer_input_size(self, layer: int) -> int:
        """E, V (one-hot ids) or D for the first layer; H * directions above it."""
        if layer > 0:
            return self.feature_size
        return self.config.embed if self.embedded else self.config.input_size

    def layer_params(self, layer: int) -> dict[str, tuple[int, ...]]:
        """One layer's parameters as its cell declares them (names without the suffix)."""
        return self.cell.param_shapes(self.layer_input_size(layer), self.config.hidden_size)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's name and shape."""
        shapes: dict[str, tuple[int, ...]] = {}
        if self.embedded:
            shapes["embedding.weight"] = (self.config.input_size, self.config.embed)
        for layer, _, suffix in self.layer_suffixes():
            shapes.update({f"{k}{suffix}": v for k, v in self.layer_params(layer).items()})
        if not self.config.tie_weights:
            shapes["readout.weight"] = (self.output_size, self.feature_size)
        shapes["readout.bias"] = (self.output_size,)
        return shapes

    # ---- initial values and state ------------------------------------------------------------
    def init_params(self, seed_or_rng: int | np.random.Generator) -> dict[str, np.ndarray]:
        """Initial parameters on the host, float64, deterministic in the seed.

        Recurrent layers use their cell's rule (PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for the
        built-ins), drawn layer by layer, forward direction before reverse. The readout uses
        ``torch.nn.Linear``'s default, U(-1/sqrt(F), 1/sqrt(F)) for weight and bias, F = H *
        directions. The embedding is drawn last, N(0, 1) as ``nn.Embedding``, with the padding
        row zero (so models without one draw exactly what they always drew). Move the result to a
        backend with ``ops.asarray``.
        """
        rng = np.random.default_rng(seed_or_rng)
        params: dict[str, np.ndarray] = {}
        for layer, _, suffix in self.layer_suffixes():
            size_in, hidden = self.layer_input_size(layer), self.config.hidden_size
            drawn = self.cell.init_params(rng, size_in, hidden)
            params.update({f"{k}{suffix}": np.asarray(v, np.float64) for k, v in drawn.items()})
        bound = 1.0 / math.sqrt(self.feature_size)
        if not self.config.tie_weights:
            params["readout.weight"] = rng.uniform(-bound, bound,
                                                   (self.output_size, self.feature_size))
        params["readout.bias"] = rng.uniform(-bound, bound, (self.output_size,))
        if self.embedded:
            table = rng.standard_normal((self.config.input_size, self.config.embed))
            if self.config.padding_id is not None:
                table[self.config.padding_id] = 0.0
            params = {"embedding.weight": table, **params}
        return params

    def zero_state(self, ops: Ops, batch_size: int) -> State:
        """The all-zeros state: a tuple over layers of a tuple over directions of cell states."""
        return tuple(
            tuple(
                self.cell.zero_state(ops, batch_size, self.config.hidden_size)
                for _ in range(self.directions)
            )
            for _ in range(self.config.layers)
        )

    # ---- checks of what callers hand in ------------------------------------------------------
    def check_params(self, params: dict) -> None:
        """Raise ShapeError unless ``params`` has every parameter of this model, right-shaped."""
        for name, shape in self.param_shapes().items():
            if name not in params:
                raise ShapeError(
                    f"parameter {name!r} is missing; a {self.config.cell} model with "
                    f"{self.config.layers} layer(s) needs {', '.join(self.param_shapes())}. "
                    "Make the parameters with Model.init_params for this config."
                )
            got = tuple(params[name].shape)
            if got != shape:
                raise ShapeError(
                    f"parameter {name!r} has shape {got} but this model expects {shape} "
                    f"(cell {self.config.cell}, hidden {self.config.hidden_size}, input "
                    f"{self.config.input_size}, output {self.output_size}). Were the parameters "
                    "made for another model config?"
                )

    def check_state(self, state, batch_size: int) -> None:
        """Raise ShapeError unless ``state`` is laid out like :meth:`zero_state`."""
        cfg, names = self.config, self.cell.state_names
        expected = (batch_size, cfg.hidden_size)
        ok = isinstance(state, tuple) and len(state) == cfg.layers and all(
            isinstance(layer, tuple) and len(layer) == self.directions
            and all(isinstance(cs, tuple) and len(cs) == len(names)
                    and all(tuple(a.shape) == expected for a in cs) for cs in layer)
            for layer in state
        )
        if not ok:
            raise ShapeError(
                f"the state passed in does not fit this model: expected {cfg.layers} layer(s) x "
                f"{self.directions} direction(s) x {len(names)} array(s) ({', '.join(names)}) of "
                f"shape {expected}. Pass None to start from zeros, or the state returned for "
                "the same model and batch size."
            )
