"""The model: a stack of recurrent layers (optionally bidirectional) under one linear readout.

Parameter names are PyTorch's, so a state dict moves between seqframe and ``torch.nn`` as is::

    weight_ih_l{k}[_reverse]  (G*H, D_k)     D_0 = D, D_k = H * directions for k > 0
    weight_hh_l{k}[_reverse]  (G*H, H)
    bias_ih_l{k}[_reverse]    (G*H,)
    bias_hh_l{k}[_reverse]    (G*H,)
    readout.weight            (O', H * directions)
    readout.bias              (O',)

where O' is the model's output size: O, or 2*O for ``gaussian_nll`` (a mean and a log-variance
per target value). The maths of one window lives in :mod:`seqframe.engine.bptt`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..cells.base import Cell, State
from ..errors import ConfigError, ShapeError
from ..ops import Ops

READOUTS = ("every_step", "last", "mean", "max")
LOSSES = ("cross_entropy", "mse", "gaussian_nll")


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a model.

    Attributes:
        cell: the cell's registered name (``rnn``, ``lstm``, ``gru`` or a plugin's).
        input_size: D, features per step.
        hidden_size: H, per layer and direction.
        output_size: O, classes for ``cross_entropy``, target values otherwise.
        layers: stacked recurrent layers.
        readout: ``every_step`` (an output per step), ``last`` (the final state of each
            direction of the top layer, i.e. the last valid step of a forward pass), ``mean``
            (top-layer outputs averaged over valid steps) or ``max`` (each top-layer feature's
            largest value over valid steps).
        loss: ``cross_entropy``, ``mse`` or ``gaussian_nll``.
        dropout: inverted-dropout probability on every layer's output (between layers and
            before the readout), training only.
        bidirectional: add a second direction reading each window back to front.
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

    def __post_init__(self):
        for field in ("input_size", "hidden_size", "output_size", "layers"):
            value = getattr(self, field)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"model {field} must be a positive integer; got {value!r}.")
        if self.readout not in READOUTS:
            raise ConfigError(
                f"unknown readout {self.readout!r}; expected one of {', '.join(READOUTS)}."
            )
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; expected one of {', '.join(LOSSES)}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(
                f"dropout must be in [0, 1); got {self.dropout!r}. Use 0 to switch it off."
            )


class Model:
    """A configured stack of one cell type plus the readout; holds no arrays itself.

    Args:
        config: the model's shape.
        cell: the cell instance every layer uses.

    Attributes:
        config, cell: as given.
        directions: 1, or 2 when bidirectional.
        output_size: O', the width of the readout (2*O for ``gaussian_nll``).
        feature_size: H * directions, the width the readout sees.
    """

    def __init__(self, config: ModelConfig, cell: Cell):
        if not isinstance(cell, Cell):
            raise ConfigError(
                f"Model needs a Cell instance; got {cell!r}. Pass e.g. LSTMCell(), not the class."
            )
        self.config = config
        self.cell = cell
        self.directions = 2 if config.bidirectional else 1
        self.output_size = config.output_size * (2 if config.loss == "gaussian_nll" else 1)
        self.feature_size = config.hidden_size * self.directions

    def __repr__(self) -> str:
        return f"Model({self.config!r})"

    # ---- names and shapes --------------------------------------------------------------------
    def layer_suffixes(self) -> list[tuple[int, int, str]]:
        """``(layer, direction, suffix)`` for every recurrent layer, in parameter order."""
        out = []
        for layer in range(self.config.layers):
            for direction in range(self.directions):
                out.append((layer, direction, f"_l{layer}" + ("_reverse" if direction else "")))
        return out

    def layer_input_size(self, layer: int) -> int:
        """D for the first layer, H * directions above it."""
        return self.config.input_size if layer == 0 else self.feature_size

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's name and shape, in the order :meth:`init_params` draws them."""
        gh = self.cell.gates * self.config.hidden_size
        shapes: dict[str, tuple[int, ...]] = {}
        for layer, _, suffix in self.layer_suffixes():
            shapes[f"weight_ih{suffix}"] = (gh, self.layer_input_size(layer))
            shapes[f"weight_hh{suffix}"] = (gh, self.config.hidden_size)
            shapes[f"bias_ih{suffix}"] = (gh,)
            shapes[f"bias_hh{suffix}"] = (gh,)
        shapes["readout.weight"] = (self.output_size, self.feature_size)
        shapes["readout.bias"] = (self.output_size,)
        return shapes

    # ---- initial values and state ------------------------------------------------------------
    def init_params(self, seed_or_rng: int | np.random.Generator) -> dict[str, np.ndarray]:
        """Initial parameters on the host, float64, deterministic in the seed.

        Recurrent layers use their cell's rule (PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for the
        built-ins), drawn layer by layer, forward direction before reverse. The readout uses
        ``torch.nn.Linear``'s default, U(-1/sqrt(F), 1/sqrt(F)) for weight and bias, F = H *
        directions. Move the result to a backend with ``ops.asarray``.
        """
        rng = np.random.default_rng(seed_or_rng)
        params: dict[str, np.ndarray] = {}
        for layer, _, suffix in self.layer_suffixes():
            size_in, hidden = self.layer_input_size(layer), self.config.hidden_size
            drawn = self.cell.init_params(rng, size_in, hidden)
            params.update({f"{k}{suffix}": np.asarray(v, np.float64) for k, v in drawn.items()})
        bound = 1.0 / math.sqrt(self.feature_size)
        params["readout.weight"] = rng.uniform(-bound, bound, (self.output_size, self.feature_size))
        params["readout.bias"] = rng.uniform(-bound, bound, (self.output_size,))
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
