"""Optimizers and learning-rate schedules, written once against Ops.

Every optimizer here follows the update rule of its ``torch.optim`` namesake (default options, no
``amsgrad``/``centered``/``maximize``), so a numpy run and a torch run take the same steps and a
test can use ``torch.optim`` as the oracle. They work on a ``dict[str, Array]`` of parameters;
the per-parameter state ("slots": momentum buffers, moment estimates) lives on the backend and is
serialised to host NumPy arrays for checkpoints. At its first step an optimizer puts its own copy
of each parameter into the dict (the caller's arrays are never written) and from then on updates
it, and its slots, in place (``+=``, ``-=``, ``*=``, or the backend's fused kernel): at a large
vocabulary a fresh array for every intermediate result costs more than the arithmetic.

The learning rate is not part of an optimizer: the trainer asks the :class:`Schedule` for the rate
of each step and passes it to :meth:`Optimizer.step`, which keeps schedules and optimizers
independent and makes the rate a pure function of the step count (exact resume for free).

Row-sparse gradients (:class:`seqframe.rowsparse.RowSparse`, from ``--sparse-grads``) update
lazily: the optimizer applies its own dense rule to the rows the step touched -- those rows of the
parameter and of its slots, bias corrections by the global step count -- and leaves every other
row and its slots as they are (``torch.optim.SparseAdam``'s rule, for every optimizer here). Where
a zero gradient would leave a row unchanged anyway (SGD without momentum or weight decay, Adagrad
without weight decay) this is exactly the dense update; otherwise untouched rows skip the decay
of their moments and the momentum step they would have taken.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..config import RunConfig
from ..errors import ConfigError, UnknownNameError
from ..ops import Array, Ops
from ..rowsparse import RowSparse

Params = dict[str, Array]


class Optimizer(ABC):
    """Base class: slots, L2 weight decay folded into the gradient, state (de)serialisation.

    Attributes:
        name: the registered name (``--optimizer NAME``).
        slots: names of the per-parameter state arrays, each shaped like its parameter.
        steps: optimizer steps taken so far (bias corrections need it).
    """

    name: ClassVar[str]
    slots: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ops: Ops, weight_decay: float = 0.0):
        self.ops = ops
        self.weight_decay = weight_decay
        self.steps = 0
        self.state: dict[str, dict[str, Array]] = {slot: {} for slot in self.slots}
        self._owned: set[str] = set()  # parameters this optimizer copied and updates in place

    def step(self, params: Params, grads: dict[str, Array | RowSparse], lr: float) -> None:
        """Update every entry of ``params`` by ``grads`` at rate ``lr``: a dense gradient
        replaces the entry, a row-sparse one writes the rows it touches (see the module
        docstring)."""
        self.steps += 1
        for name in params:
            for slot in self.slots:
                if name not in self.state[slot]:
                    self.state[slot][name] = self.ops.zeros_like(params[name])
            if name not in self._owned:  # updated in place from now on: never the caller's array
                params[name] = self.ops.copy(params[name])
                self._owned.add(name)
        dense = [name for name in params if not isinstance(grads[name], RowSparse)]
        if dense and not self._fused_step(params, grads, dense, lr):
            for name in dense:
                slots = {slot: self.state[slot][name] for slot in self.slots}
                params[name], new = self._update(params[name], grads[name], lr, slots)
                for slot, value in new.items():
                    self.state[slot][name] = value
        for name in params:
            if isinstance(grads[name], RowSparse):
                self._update_rows(params, name, grads[name], lr)

    def _fused_step(self, params: Params, grads: dict, names: list[str], lr: float) -> bool:
        """Update the dense ``names`` with the backend's fused kernel (:meth:`Ops.fused_update`)
        if it has one for this optimizer; False when it has none."""
        return False

    def _update_rows(self, params: Params, name: str, grad: RowSparse, lr: float) -> None:
        """The dense rule on the touched rows, written into the parameter and its slots."""
        ops = self.ops
        rows = ops.asarray(grad.rows, "int64")
        slots = {slot: ops.take(self.state[slot][name], rows, axis=0) for slot in self.slots}
        param, new = self._update(ops.take(params[name], rows, axis=0), grad.values, lr, slots)
        params[name] = ops.put_rows(params[name], rows, param)
        for slot, value in new.items():
            self.state[slot][name] = ops.put_rows(self.state[slot][name], rows, value)

    def _l2(self, param: Array, grad: Array) -> Array:
        """Classic (coupled) weight decay: the gradient of ``wd/2 * |p|^2`` added to ``grad``."""
        return grad + self.weight_decay * param if self.weight_decay else grad

    @abstractmethod
    def _update(self, param: Array, grad: Array, lr: float,
                slots: dict[str, Array]) -> tuple[Array, dict[str, Array]]:
        """One parameter's update (or the touched rows of one): the new parameter and the new
        values of its slots. ``param`` and ``slots`` belong to the optimizer and may be updated
        in place (what is returned is what counts); ``grad`` must not be written."""

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Host copies of the slots (keys ``SLOT/PARAM``) and JSON metadata (name, step count)."""
        tensors = {
            f"{slot}/{name}": self.ops.to_numpy(value)
            for slot, per_param in self.state.items()
            for name, value in per_param.items()
        }
        return tensors, {"name": self.name, "steps": self.steps}

    def load_state_dict(self, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (possibly written by another backend)."""
        if meta.get("name") != self.name:
            raise ConfigError(
                f"the checkpoint holds {meta.get('name')!r} optimizer state but this run uses "
                f"{self.name!r}; resume with the optimizer the run was started with."
            )
        self.steps = int(meta["steps"])
        self.state = {slot: {} for slot in self.slots}
        self._owned = set()
        for key, value in tensors.items():
            slot, name = key.split("/", 1)
            # a copy: updated in place, and the loaded buffer may be read-only or shared
            self.state[slot][name] = self.ops.copy(self.ops.asarray(value))


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    ``g <- grad + wd*p``; with momentum ``b <- mu*b + g`` and the step uses ``b`` (or
    ``g + mu*b`` for Nesterov); ``p <- p - lr*step``.
    """

    name = "sgd"

    def __init__(self, ops: Ops, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        if nesterov and momentum <= 0:
            raise ConfigError("Nesterov momentum needs --momentum > 0; set one or drop --nesterov.")
        self.slots = ("momentum",) if momentum > 0 else ()
        super().__init__(ops, weight_decay)
        self.momentum, self.nesterov = momentum, nesterov

    def _update(self, param, grad, lr, slots):
        grad = self._l2(param, grad)
        if self.momentum <= 0:
            param -= lr * grad
            return param, {}
        # A zero buffer makes the first step b = g, which is torch's "clone on first step".
        buf = slots["momentum"]
        buf *= self.momentum
        buf += grad
        step = grad + self.momentum * buf if self.nesterov else buf
        param -= lr * step
        return param, {"momentum": buf}


class Adam(Optimizer):
    """Adam with bias correction, as ``torch.optim.Adam`` (L2 weight decay added to the grad)."""

    name = "adam"
    slots = ("exp_avg", "exp_avg_sq")

    def __init__(self, ops: Ops, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(ops, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self._kernel = ops.fused_update(self.name)

    def _fused_step(self, params, grads, names, lr):
        if self._kernel is None:
            return False
        self._kernel([params[n] for n in names], [grads[n] for n in names],
                     [self.state["exp_avg"][n] for n in names],
                     [self.state["exp_avg_sq"][n] for n in names], step=self.steps, lr=lr,
                     beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                     weight_decay=self.weight_decay)
        return True

    def _decay(self, param: Array, grad: Array, lr: float) -> tuple[Array, Array]:
        return param, self._l2(param, grad)

    def _update(self, param, grad, lr, slots):
        param, grad = self._decay(param, grad, lr)
        m, v = slots["exp_avg"], slots["exp_avg_sq"]
        m *= self.beta1
        m += (1.0 - self.beta1) * grad
        square = grad * grad
        square *= 1.0 - self.beta2
        v *= self.beta2
        v += square
        # Bias corrections undo the zero initialisation of m and v in the first steps.
        denom = self.ops.sqrt(v)
        denom /= math.sqrt(1.0 - self.beta2**self.steps)
        denom += self.eps
        step = m / denom
        step *= lr / (1.0 - self.beta1**self.steps)
        param -= step
        return param, {"exp_avg": m, "exp_avg_sq": v}


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``: ``p <- p*(1 - lr*wd)`` first."""

    name = "adamw"

    def _decay(self, param: Array, grad: Array, lr: float) -> tuple[Array, Array]:
        # Decoupled: the decay does not pass through the adaptive scaling (Loshchilov & Hutter).
        if self.weight_decay:
            param *= 1.0 - lr * self.weight_decay
        return param, grad


class RMSprop(Optimizer):
    """RMSprop as ``torch.optim.RMSprop`` (not centered): ``p <- p - lr*g/(sqrt(v)+eps)``.

    ``v <- alpha*v + (1-alpha)*g^2`` with torch's ``alpha = 0.99``.
    """

    name = "rmsprop"
    slots = ("square_avg",)

    def __init__(self, ops: Ops, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(ops, weight_decay)
        self.alpha, self.eps = alpha, eps

    def _update(self, param, grad, lr, slots):
        grad = self._l2(param, grad)
        v = slots["square_avg"]
        v *= self.alpha
        v += (1.0 - self.alpha) * (grad * grad)
        param -= lr * (grad / (self.ops.sqrt(v) + self.eps))
        return param, {"square_avg": v}


class Adagrad(Optimizer):
    """Adagrad as ``torch.optim.Adagrad``: ``s <- s + g^2``; ``p <- p - lr*g/(sqrt(s)+eps)``."""

    name = "adagrad"
    slots = ("sum",)

    def __init__(self, ops: Ops, eps: float = 1e-10, weight_decay: float = 0.0):
        super().__init__(ops, weight_decay)
        self.eps = eps

    def _update(self, param, grad, lr, slots):
        grad = self._l2(param, grad)
        total = slots["sum"]
        total += grad * grad
        param -= lr * (grad / (self.ops.sqrt(total) + self.eps))
        return param, {"sum": total}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)
}


def build_optimizer(config: RunConfig, ops: Ops) -> Optimizer:
    """The optimizer ``config.optimizer`` names, with the config's hyper-parameters.

    Raises:
        UnknownNameError: no optimizer of that name.
        ConfigError: a hyper-parameter out of range.
    """
    name = check_optimizer(config)
    wd = config.weight_decay
    if name == "sgd":
        return SGD(ops, momentum=config.momentum, nesterov=config.nesterov, weight_decay=wd)
    if name in ("adam", "adamw"):
        return OPTIMIZERS[name](ops, beta1=config.beta1, beta2=config.beta2, eps=config.eps,
                                weight_decay=wd)
    return OPTIMIZERS[name](ops, eps=config.eps, weight_decay=wd)


def check_optimizer(config: RunConfig) -> str:
    """Check the optimizer's name and hyper-parameters (no backend needed); its lowercase name.

    Raises:
        UnknownNameError: no optimizer of that name.
        ConfigError: a hyper-parameter out of range.
    """
    name = config.optimizer.lower()
    if name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", config.optimizer, OPTIMIZERS)
    _check_range("--weight-decay", config.weight_decay, 0.0, math.inf)
    if name == "sgd":
        _check_range("--momentum", config.momentum, 0.0, 1.0)
        if config.nesterov and not config.momentum > 0:
            raise ConfigError("Nesterov momentum needs --momentum > 0; set one or drop --nesterov.")
        return name
    if name in ("adam", "adamw"):
        _check_range("--beta1", config.beta1, 0.0, 1.0)
        _check_range("--beta2", config.beta2, 0.0, 1.0)
    # eps keeps the update's denominator away from zero: 0 or less divides by zero (or flips
    # the sign of the update) wherever a squared-gradient average is 0
    if not (config.eps > 0 and math.isfinite(config.eps)):
        raise ConfigError(f"eps must be a small positive number (default {RunConfig.eps:g}); got "
                          f"{config.eps:g}.")
    return name


def _check_range(flag: str, value: float, low: float, high: float) -> None:
    """``low <= value < high`` or a ConfigError naming the flag."""
    if not low <= value < high:
        upper = "" if math.isinf(high) else f" and below {high:g}"
        raise ConfigError(f"{flag} must be at least {low:g}{upper}; got {value:g}.")


# ---- learning-rate schedules ---------------------------------------------------------------

SCHEDULES = ("constant", "step", "exponential", "cosine")


class Schedule:
    """The learning rate of each optimizer step: linear warmup, then a decay rule.

    With ``W = warmup`` the rate of step ``s`` (0-based) is ``lr * (s+1)/W`` for ``s < W``; after
    that, with ``u = s - W``:

    * ``constant``: ``lr``
    * ``step``: ``lr * rate ** floor(u / every)``
    * ``exponential``: ``lr * rate ** (u / every)`` (the smooth version of ``step``)
    * ``cosine``: ``min_lr + (lr - min_lr) * (1 + cos(pi * min(u, N) / N)) / 2`` with
      ``N = total - W``, i.e. from ``lr`` down to ``min_lr`` at the last step.
    """

    def __init__(self, kind: str, lr: float, *, warmup: int = 0, every: int = 1000,
                 rate: float = 0.5, min_lr: float = 0.0, total: int | None = None):
        if kind not in SCHEDULES:
            raise UnknownNameError("schedule", kind, SCHEDULES)
        if not lr > 0 or not math.isfinite(lr):
            raise ConfigError(f"--lr must be a positive number; got {lr:g}.")
        if warmup < 0 or every < 1 or not rate > 0:
            raise ConfigError(
                f"schedule settings out of range: warmup_steps={warmup} (>= 0), "
                f"decay_every={every} (>= 1), decay_rate={rate:g} (> 0)."
            )
        self.kind, self.lr, self.warmup = kind, lr, warmup
        self.every, self.rate, self.min_lr, self.total = every, rate, min_lr, total

    def __call__(self, step: int) -> float:
        """The rate for 0-based optimizer step ``step``."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        u = step - self.warmup
        if self.kind == "step":
            return self.lr * self.rate ** (u // self.every)
        if self.kind == "exponential":
            return self.lr * self.rate ** (u / self.every)
        if self.kind == "cosine":
            span = max(1, (self.total or 1) - self.warmup)
            return self.min_lr + (self.lr - self.min_lr) * 0.5 * (
                1.0 + math.cos(math.pi * min(u, span) / span)
            )
        return self.lr


def build_schedule(config: RunConfig, total_steps: int | None) -> Schedule:
    """The schedule ``config.schedule`` names; ``total_steps`` is where cosine reaches min_lr.

    Raises:
        UnknownNameError: no schedule of that name.
        ConfigError: settings out of range (see :class:`Schedule`).
    """
    return Schedule(config.schedule.lower(), config.lr, warmup=config.warmup_steps,
                    every=config.decay_every, rate=config.decay_rate, min_lr=config.min_lr,
                    total=total_steps)
