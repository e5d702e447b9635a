"""The backend-neutrality rule of the Cell contract, as an executable check.

A cell is written once against :class:`seqframe.ops.Ops` and must run unchanged on every backend.
A direct NumPy call in ``step`` works on the numpy backend (its arrays *are* NumPy arrays) and
breaks, or silently copies to the host, everywhere else; so the check looks for the call itself,
not for its consequences:

* while the cell's ``zero_state``, ``step`` and ``step_backward`` run, the public functions of
  ``numpy`` (and of ``numpy.linalg`` and ``numpy.random``) are swapped for watchers, as are NumPy
  functions bound in the cell's own modules (``from numpy import tanh``). A watched call counts
  when no method of the Ops object is on the stack between it and the cell (the numpy backend's
  ``ops.tanh`` calls ``np.tanh``; that is the backend's business) and NumPy did not call itself;
* everything those methods return as state or gradient must be the backend's array type, which
  catches what the watchers cannot see (a NumPy array built by another library) on a backend
  whose arrays are not NumPy's.

``init_params`` is not watched: initial weights are drawn on the host with NumPy by design.
The watchers are global while the cell runs, so the check is not thread-safe; everything is put
back afterwards, also when the cell raises.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..cells.base import Cell
from ..ops import Ops

NEUTRALITY_RULE = (
    "a cell computes only through `ops`: zero_state, step and step_backward use the `ops` they "
    "are given (its methods and the array operators), never NumPy directly, so the same cell "
    "runs on every backend"
)

_WATCHED_MODULES = (np, np.linalg, np.random)


class _Watch:
    """The NumPy calls the cell made itself, as ``(name, 'file:line')``, in order."""

    def __init__(self, ops: Ops, boundary: types.FrameType):
        self.ops_codes = _method_codes(type(ops))
        self.boundary = boundary  # the frame that calls the cell; the walk stops there
        self.calls: list[tuple[str, str]] = []

    def saw(self, name: str, caller: types.FrameType) -> None:
        if caller is self.boundary or caller.f_globals.get("__name__", "").startswith("numpy."):
            return  # the check itself, or numpy calling its own functions
        frame: types.FrameType | None = caller
        while frame is not None and frame is not self.boundary:
            if frame.f_code in self.ops_codes:
                return  # inside an Ops method: the backend may use NumPy
            frame = frame.f_back
        if frame is None:
            return  # another thread, or code outside the cell's call
        where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        if (name, where) not in self.calls:
            self.calls.append((name, where))


class _Watcher:
    """Stands in for one NumPy function: notes the caller, then calls the real one."""

    __slots__ = ("_fn", "_name", "_watch")

    def __init__(self, fn: Callable, name: str, watch: _Watch):
        self._fn, self._name, self._watch = fn, name, watch

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._watch.saw(self._name, sys._getframe(1))
        return self._fn(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._fn, attr)  # np.add.reduce and the like still work


def _method_codes(cls: type) -> set[types.CodeType]:
    """The code objects of every method an Ops class has (own and inherited)."""
    codes = set()
    for klass in cls.__mro__:
        for value in vars(klass).values():
            fn = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
            if hasattr(fn, "__code__"):
                codes.add(fn.__code__)
    return codes


def _numpy_functions() -> dict[int, tuple[types.ModuleType, str, Callable]]:
    """``id(function) -> (module, attribute, function)`` for the watched NumPy namespaces."""
    found = {}
    for module in _WATCHED_MODULES:
        for attr, value in vars(module).items():
            if callable(value) and not isinstance(value, type) and not attr.startswith("_"):
                found.setdefault(id(value), (module, attr, value))
    return found


@contextmanager
def _watching(cell: Cell, ops: Ops, boundary: types.FrameType) -> Iterator[_Watch]:
    """Swap NumPy's functions (and the cell modules' NumPy names) for watchers; restore after."""
    watch = _Watch(ops, boundary)
    functions = _numpy_functions()
    namespaces = [vars(module) for module in _WATCHED_MODULES]
    namespaces += [vars(sys.modules[k.__module__]) for k in type(cell).__mro__
                   if k.__module__ in sys.modules and k.__module__ != "builtins"]
    saved: list[tuple[dict, str, Any]] = []
    try:
        for namespace in namespaces:
            for attr, value in list(namespace.items()):
                if id(value) in functions and functions[id(value)][2] is value:
                    module, name, _ = functions[id(value)]
                    saved.append((namespace, attr, value))
                    namespace[attr] = _Watcher(value, f"{module.__name__}.{name}", watch)
        yield watch
    finally:
        for namespace, attr, value in reversed(saved):
            namespace[attr] = value


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, (tuple, list)):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    else:
        yield value


def _foreign(ops: Ops, returned: dict[str, Any]) -> list[str]:
    """What the cell returned that is not the backend's array type, as ``what: type``."""
    array_type = type(ops.zeros((1,)))
    found = []
    for what, value in returned.items():
        for leaf in _leaves(value):
            numpy_in_cache = what == "cache" and isinstance(leaf, np.ndarray)
            if (what != "cache" or numpy_in_cache) and not isinstance(leaf, array_type):
                found.append(f"{what} holds a {type(leaf).__module__}.{type(leaf).__name__}")
                break
    return found


def check_backend_neutrality(cell: Cell, ops: Ops, *, batch: int = 2, hidden: int = 3,
                             seed: int = 0) -> None:
    """Fail when ``cell`` computes with NumPy directly instead of through ``ops``.

    Runs ``zero_state``, ``step`` and ``step_backward`` once on ``ops`` with the watchers of
    this module in place (any dtype; use the backend you want the cell to run on).

    Raises:
        AssertionError: quoting :data:`NEUTRALITY_RULE` and naming each NumPy function the cell
            called (file and line), or what it returned that is not a backend array.
    """
    rng = np.random.default_rng(seed)
    width = cell.gates * hidden
    xp = ops.asarray(rng.normal(size=(batch, width)))  # (B, G*H)
    hp = ops.asarray(rng.normal(size=(batch, width))) if cell.recurrent else None  # (B, G*H)
    state = tuple(ops.asarray(rng.normal(size=(batch, hidden)))
                  for _ in cell.state_names)  # each (B, H)
    own = {name: ops.asarray(rng.normal(size=shape))
           for name, shape in cell.own_param_shapes(3, hidden).items()}
    d_state = tuple(ops.asarray(rng.normal(size=(batch, hidden))) for _ in state)
    returned: dict[str, Any] = {}
    error: Exception | None = None
    with _watching(cell, ops, sys._getframe()) as watch:
        try:
            returned["zero_state"] = cell.zero_state(ops, batch, hidden)
            args = (ops, xp, hp, state, own) if own else (ops, xp, hp, state)
            returned["step's state"], returned["cache"] = cell.step(*args)
            d_xp, d_hp, d_prev, *rest = cell.step_backward(ops, d_state, returned["cache"])
            returned.update({"d_xp": d_xp, "d_state_prev": d_prev})
            if cell.recurrent:
                returned["d_hp"] = d_hp
            if rest:
                returned["d_params"] = rest[0]
        except Exception as exc:  # a NumPy result on a foreign backend often ends in a TypeError
            error = exc
    problems = [f"called {name} ({where})" for name, where in watch.calls]
    problems += _foreign(ops, returned)
    if problems:
        raise AssertionError(
            f"cell {cell.name!r} on {ops.name} {ops.dtype} is not backend-neutral: "
            f"{'; '.join(problems)}. The rule: {NEUTRALITY_RULE}. Use the `ops` method instead "
            f"(ops.tanh, ops.concat, ...); NumPy belongs in init_params only.") from error
    if error is not None:
        raise error
