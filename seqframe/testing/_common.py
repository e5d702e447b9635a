"""Shared helpers of the conformance suites: getting an Ops, comparing arrays, failing clearly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import MissingDependencyError, SeqframeError
from ..ops import Ops

OpsFactory = Callable[[str], Ops]  # dtype -> Ops


class Unavailable(Exception):
    """A backend (or a dtype on it) cannot run here; suites turn this into a pytest skip."""


def registered(kind: str) -> list[str]:
    """The names of ``kind`` the installed plugins registered (a fresh look at entry points)."""
    from ..plugins import get_registry

    return get_registry().names(kind)


def load(kind: str, name: str) -> Any:
    """``get_registry().load(kind, name)``, with missing optional dependencies as Unavailable."""
    from ..plugins import get_registry

    try:
        return get_registry().load(kind, name)
    except MissingDependencyError as exc:
        raise Unavailable(str(exc)) from exc


def make_ops(backend: str | OpsFactory, dtype: str, device: str | None = None) -> Ops:
    """An Ops from a registered backend name (or a factory), or Unavailable when it cannot run.

    Args:
        backend: a registered name such as ``"numpy"``, or a callable ``dtype -> Ops``.
        dtype: ``"float32"`` or ``"float64"``.
        device: passed to the backend class; None uses the class's default.
    """
    if callable(backend):
        factory, label = backend, getattr(backend, "__name__", "factory")
    else:
        cls = load("backend", backend)
        kwargs = {"dtype": dtype} if device is None else {"dtype": dtype, "device": device}
        factory, label = (lambda _dtype: cls(**kwargs)), backend
    try:
        return factory(dtype)
    except SeqframeError as exc:  # e.g. float64 on a device without it
        raise Unavailable(f"backend {label!r} cannot run {dtype}: {exc}") from exc


REFERENCE_BACKEND = "numpy"


def reference_ops(dtype: str = "float64") -> Ops:
    """The numpy reference backend every other backend is compared with (from the registry:
    core never imports a plugin)."""
    return load("backend", REFERENCE_BACKEND)(dtype=dtype)


def tolerance(dtype: str) -> dict[str, float]:
    """``rtol``/``atol`` for comparing one elementwise result computed in ``dtype``."""
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-11, "atol": 1e-12}


def host(ops: Ops, x: Any) -> np.ndarray:
    """A backend array (or a Python number) as a NumPy array."""
    if isinstance(x, (int, float, bool, np.ndarray, np.number)):
        return np.asarray(x)
    return np.asarray(ops.to_numpy(x))


def assert_close(what: str, actual: np.ndarray, expected: np.ndarray,
                 rtol: float, atol: float) -> None:
    """``np.testing.assert_allclose`` with a one-line summary of where it differs first."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {actual.shape}, expected {expected.shape}")
    if np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True):
        return
    err = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    worst = np.unravel_index(np.nanargmax(err), err.shape) if err.ndim else ()
    raise AssertionError(
        f"{what}: differs by up to {np.nanmax(err):.3g} (rtol={rtol:g}, atol={atol:g}); "
        f"worst at index {tuple(int(i) for i in worst)}: got {actual[worst]!r}, "
        f"expected {expected[worst]!r}"
    )


def collect(checks: list[tuple[str, Callable[[], None]]]) -> None:
    """Run every check; raise one AssertionError listing all that failed (not just the first)."""
    failures = []
    for name, check in checks:
        try:
            check()
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        raise AssertionError(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
