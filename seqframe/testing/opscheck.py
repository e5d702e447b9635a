"""The Ops contract as executable checks: every method against NumPy on random inputs.

Each check takes an :class:`~seqframe.ops.Ops` and a NumPy random generator, runs one behaviour of
the contract on backend arrays, brings the result home with ``to_numpy`` and compares it with
plain NumPy on the same host data. ``OPS_CHECKS`` maps a check's name to its function, so a suite
can parametrize over the names and a failure says exactly which behaviour broke.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ..errors import ConfigError
from ..ops import Ops
from ._common import assert_close, host, tolerance

Check = Callable[[Ops, np.random.Generator], None]
OPS_CHECKS: dict[str, Check] = {}


def _check(func: Check) -> Check:
    OPS_CHECKS[func.__name__.removeprefix("check_")] = func
    return func


def _data(rng: np.random.Generator, *shape: int, low: float = -2.0, high: float = 2.0):
    return rng.uniform(low, high, size=shape)  # float64 host data; cast by the Ops


def _same(ops: Ops, what: str, result, expected) -> None:
    """Compare a float result with NumPy, and check it has the Ops' float dtype."""
    got = host(ops, result)
    if got.dtype != np.dtype(ops.dtype):
        raise AssertionError(f"{what}: dtype {got.dtype}, expected the Ops dtype {ops.dtype}")
    assert_close(what, got, np.asarray(expected, dtype=ops.dtype), **tolerance(ops.dtype))


def _cast(ops: Ops, x: np.ndarray) -> np.ndarray:
    """Host data rounded to the Ops' dtype, so the NumPy reference sees the same numbers."""
    return np.asarray(x, dtype=ops.dtype)


# ---- creation and transfer -------------------------------------------------------------------

@_check
def check_asarray_kinds(ops: Ops, rng: np.random.Generator) -> None:
    """Floats take the Ops dtype; integers become int64, booleans stay bool; values survive."""
    x = _data(rng, 3, 4)
    _same(ops, "asarray(float64 data)", ops.asarray(x), x)
    ints = host(ops, ops.asarray(np.arange(5, dtype=np.int32)))
    if ints.dtype != np.int64 or ints.tolist() != [0, 1, 2, 3, 4]:
        raise AssertionError(f"asarray(int32 data) gave {ints!r}; expected int64 0..4")
    flags = host(ops, ops.asarray(np.array([True, False])))
    if flags.dtype != np.bool_ or flags.tolist() != [True, False]:
        raise AssertionError(f"asarray(bool data) gave {flags!r}; expected bool [True, False]")
    as_int = host(ops, ops.asarray([1.0, 2.0], dtype="int64"))
    if as_int.dtype != np.int64:
        raise AssertionError(f"asarray(..., dtype='int64') gave dtype {as_int.dtype}")
    again = ops.asarray(ops.asarray(x))
    _same(ops, "asarray(backend array)", again, x)


@_check
def check_asarray_does_not_alias_writes(ops: Ops, rng: np.random.Generator) -> None:
    """Writing into a copy of an array must leave the original alone."""
    x = _cast(ops, _data(rng, 2, 3))
    a = ops.asarray(x)
    b = ops.copy(a)
    b[:, 0] = ops.zeros((2,))
    _same(ops, "original after writing into its copy", a, x)


@_check
def check_zeros(ops: Ops, rng: np.random.Generator) -> None:
    _same(ops, "zeros((2, 3))", ops.zeros((2, 3)), np.zeros((2, 3)))
    _same(ops, "zeros_like", ops.zeros_like(ops.asarray(_data(rng, 4, 1))), np.zeros((4, 1)))
    for dtype, expected in (("int64", np.int64), ("bool", np.bool_)):
        got = host(ops, ops.zeros((3,), dtype=dtype))
        if got.dtype != expected or got.any():
            raise AssertionError(f"zeros((3,), dtype={dtype!r}) gave {got!r}")


@_check
def check_unknown_dtype_is_a_config_error(ops: Ops, rng: np.random.Generator) -> None:
    try:
        type(ops)(dtype="float16")
    except ConfigError:
        return
    except Exception as exc:
        raise AssertionError(
            f"dtype='float16' raised {type(exc).__name__}, not ConfigError") from exc
    raise AssertionError("constructing with dtype='float16' did not raise ConfigError")


@_check
def check_item(ops: Ops, rng: np.random.Generator) -> None:
    x = _cast(ops, _data(rng, 1))
    for arr in (ops.asarray(x), ops.sum(ops.asarray(x))):
        value = ops.item(arr)
        if not isinstance(value, float) or not np.isclose(value, x[0], **tolerance(ops.dtype)):
            raise AssertionError(f"item gave {value!r}; expected the float {x[0]!r}")


# ---- elementwise -----------------------------------------------------------------------------

_UNARY = {
    "tanh": (np.tanh, -3.0, 3.0),
    "sigmoid": (lambda v: 1.0 / (1.0 + np.exp(-v)), -6.0, 6.0),
    "exp": (np.exp, -3.0, 3.0),
    "log": (np.log, 0.1, 5.0),
    "sqrt": (np.sqrt, 0.0, 5.0),
    "abs": (np.abs, -2.0, 2.0),
}


@_check
def check_unary_functions(ops: Ops, rng: np.random.Generator) -> None:
    for name, (reference, low, high) in _UNARY.items():
        x = _cast(ops, _data(rng, 3, 5, low=low, high=high))
        _same(ops, f"{name}(x)", getattr(ops, name)(ops.asarray(x)), reference(x.astype(float)))


@_check
def check_sign(ops: Ops, rng: np.random.Generator) -> None:
    x = _cast(ops, np.array([-2.5, -0.0, 0.0, 1e-3, 7.0]))
    _same(ops, "sign(x)", ops.sign(ops.asarray(x)), np.sign(x))


@_check
def check_sigmoid_does_not_overflow(ops: Ops, rng: np.random.Generator) -> None:
    """Large |x| gives 0 or 1, finite and without a floating-point warning."""
    x = np.array([-1e4, -800.0, -100.0, 0.0, 100.0, 800.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            got = host(ops, ops.sigmoid(ops.asarray(x)))
        except Warning as exc:
            raise AssertionError(f"sigmoid of {x.tolist()} warned: {exc}") from None
    expected = np.array([0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0])
    assert_close("sigmoid at large |x|", got.astype(float), expected, rtol=0, atol=1e-30)


@_check
def check_binary_functions(ops: Ops, rng: np.random.Generator) -> None:
    x, y = _cast(ops, _data(rng, 3, 4)), _cast(ops, _data(rng, 3, 4))
    a, b = ops.asarray(x), ops.asarray(y)
    _same(ops, "maximum(x, y)", ops.maximum(a, b), np.maximum(x, y))
    _same(ops, "minimum(x, y)", ops.minimum(a, b), np.minimum(x, y))
    _same(ops, "maximum(x, 0.5)", ops.maximum(a, 0.5), np.maximum(x, 0.5))
    _same(ops, "minimum(x, -0.5)", ops.minimum(a, -0.5), np.minimum(x, -0.5))
    _same(ops, "clip(x, -0.7, 0.3)", ops.clip(a, -0.7, 0.3), np.clip(x, -0.7, 0.3))


@_check
def check_where(ops: Ops, rng: np.random.Generator) -> None:
    x, y = _cast(ops, _data(rng, 3, 4)), _cast(ops, _data(rng, 3, 4))
    cond = rng.uniform(size=(3, 4)) < 0.5
    c = ops.asarray(cond)
    _same(ops, "where(c, x, y)", ops.where(c, ops.asarray(x), ops.asarray(y)), np.where(cond, x, y))
    _same(ops, "where(c, x, 0.0)", ops.where(c, ops.asarray(x), 0.0), np.where(cond, x, 0.0))
    _same(ops, "where(c, 1.0, 0.0)", ops.where(c, 1.0, 0.0), np.where(cond, 1.0, 0.0))


@_check
def check_isfinite(ops: Ops, rng: np.random.Generator) -> None:
    x = np.array([0.0, np.nan, np.inf, -np.inf, 3.0])
    got = host(ops, ops.isfinite(ops.asarray(x)))
    if got.dtype != np.bool_ or got.tolist() != [True, False, False, False, True]:
        raise AssertionError(f"isfinite gave {got!r}; expected bool [T, F, F, F, T]")


@_check
def check_operators(ops: Ops, rng: np.random.Generator) -> None:
    """The Python operators core relies on, between arrays and with Python scalars."""
    x, y = _cast(ops, _data(rng, 3, 4)), _cast(ops, _data(rng, 3, 4, low=0.5, high=2.0))
    a, b = ops.asarray(x), ops.asarray(y)
    cases = {
        "x + y": (a + b, x + y), "x - y": (a - b, x - y), "x * y": (a * b, x * y),
        "x / y": (a / b, x / y), "x ** 2": (a**2, x**2), "-x": (-a, -x),
        "1.0 - x": (1.0 - a, 1.0 - x), "2 * x": (2 * a, 2 * x), "x / 4.0": (a / 4.0, x / 4.0),
        "x @ y.T": (a @ b.T, x @ y.T),
    }
    for what, (got, expected) in cases.items():
        _same(ops, what, got, expected)


@_check
def check_indexing_and_slice_assignment(ops: Ops, rng: np.random.Generator) -> None:
    x = _cast(ops, _data(rng, 2, 5, 3))
    a = ops.asarray(x)
    _same(ops, "x[:, 1]", a[:, 1], x[:, 1])
    _same(ops, "x[..., :2]", a[..., :2], x[..., :2])
    if tuple(a.shape) != (2, 5, 3) or a.ndim != 3:
        raise AssertionError(f"shape/ndim gave {tuple(a.shape)}/{a.ndim}; expected (2, 5, 3)/3")
    out = ops.zeros((2, 5, 3))
    out[:, 2] = a[:, 2]
    expected = np.zeros((2, 5, 3))
    expected[:, 2] = x[:, 2]
    _same(ops, "out[:, 2] = x[:, 2]", out, expected)


# ---- reductions ------------------------------------------------------------------------------

@_check
def check_sum(ops: Ops, rng: np.random.Generator) -> None:
    x = _cast(ops, _data(rng, 3, 4, 2))
    a = ops.asarray(x)
    for axis in (None, 0, 1, -1, (0, 1)):
        for keepdims in (False, True):
            _same(ops, f"sum(axis={axis}, keepdims={keepdims})",
                  ops.sum(a, axis=axis, keepdims=keepdims), np.sum(x, axis=axis, keepdims=keepdims))


@_check
def check_max_and_argmax(ops: Ops, rng: np.random.Generator) -> None:
    x = _cast(ops, _data(rng, 3, 6))
    a = ops.asarray(x)
    for axis in (None, 0, 1):
        for keepdims in (False, True):
            _same(ops, f"max(axis={axis}, keepdims={keepdims})",
                  ops.max(a, axis=axis, keepdims=keepdims), np.max(x, axis=axis, keepdims=keepdims))
    for axis in (-1, 0):
        got = host(ops, ops.argmax(a, axis=axis))
        if not np.issubdtype(got.dtype, np.integer) or not np.array_equal(got, x.argmax(axis)):
            raise AssertionError(f"argmax(axis={axis}) gave {got!r}; expected {x.argmax(axis)!r}")


# ---- linear algebra and shape ----------------------------------------------------------------

@_check
def check_matmul(ops: Ops, rng: np.random.Generator) -> None:
    w = _cast(ops, _data(rng, 4, 6))
    for shape in ((5, 4), (2, 3, 4)):  # (B, D) and (B, T, D) against (D, G*H)
        x = _cast(ops, _data(rng, *shape))
        _same(ops, f"matmul({shape}, (4, 6))", ops.matmul(ops.asarray(x), ops.asarray(w)),
              x.astype(float) @ w.astype(float))


@_check
def check_reshape_and_permute(ops: Ops, rng: np.random.Generator) -> None:
    x = _cast(ops, _data(rng, 2, 3, 4))
    a = ops.asarray(x)
    _same(ops, "reshape((6, 4))", ops.reshape(a, (6, 4)), x.reshape(6, 4))
    _same(ops, "permute_dims((1, 0, 2))", ops.permute_dims(a, (1, 0, 2)), x.transpose(1, 0, 2))
    _same(ops, "x2d.T", ops.reshape(a, (6, 4)).T, x.reshape(6, 4).T)


@_check
def check_concat_stack_split(ops: Ops, rng: np.random.Generator) -> None:
    x, y = _cast(ops, _data(rng, 2, 3)), _cast(ops, _data(rng, 2, 3))
    a, b = ops.asarray(x), ops.asarray(y)
    for axis in (0, 1, -1):
        _same(ops, f"concat(axis={axis})", ops.concat([a, b], axis=axis),
              np.concatenate([x, y], axis=axis))
    for axis in (0, 1):
        _same(ops, f"stack(axis={axis})", ops.stack([a, b], axis=axis), np.stack([x, y], axis=axis))
    z = _cast(ops, _data(rng, 6, 7))
    for sizes, axis in (([2, 4, 1], -1), ([1, 5], 0)):
        parts = ops.split(ops.asarray(z), sizes, axis=axis)
        cuts = np.cumsum(sizes)[:-1]
        expected = np.split(z, cuts, axis=axis)
        if len(parts) != len(expected):
            raise AssertionError(f"split({sizes}) gave {len(parts)} pieces")
        for i, (got, want) in enumerate(zip(parts, expected, strict=True)):
            _same(ops, f"split({sizes}, axis={axis})[{i}]", got, want)


@_check
def check_take(ops: Ops, rng: np.random.Generator) -> None:
    x = _cast(ops, _data(rng, 4, 5))
    a = ops.asarray(x)
    idx = np.array([3, 0, 3])
    for axis in (0, 1):
        _same(ops, f"take(axis={axis})", ops.take(a, ops.asarray(idx), axis=axis),
              np.take(x, idx, axis=axis))
    along = rng.integers(0, 5, size=(4, 1))
    _same(ops, "take_along_axis(axis=1)", ops.take_along_axis(a, ops.asarray(along), axis=1),
          np.take_along_axis(x, along, axis=1))


@_check
def check_index_add(ops: Ops, rng: np.random.Generator) -> None:
    """Rows added at indices, repeated indices summed, the input left unchanged."""
    x = _cast(ops, _data(rng, 5, 3))
    values = _cast(ops, _data(rng, 4, 3))
    idx = np.array([4, 0, 4, 2])
    expected = x.copy()
    np.add.at(expected, idx, values)
    a = ops.asarray(x)
    _same(ops, "index_add(x, [4, 0, 4, 2], values)",
          ops.index_add(a, ops.asarray(idx), ops.asarray(values)), expected)
    _same(ops, "index_add leaves its input unchanged", a, x)


@_check
def check_put_rows(ops: Ops, rng: np.random.Generator) -> None:
    """Rows replaced at distinct indices, the others kept (the input may be written in place)."""
    x = _cast(ops, _data(rng, 5, 3))
    values = _cast(ops, _data(rng, 2, 3))
    expected = x.copy()
    expected[[3, 1]] = values
    _same(ops, "put_rows(x, [3, 1], values)",
          ops.put_rows(ops.asarray(x.copy()), ops.asarray(np.array([3, 1])),
                       ops.asarray(values)), expected)


@_check
def check_one_hot(ops: Ops, rng: np.random.Generator) -> None:
    idx = rng.integers(0, 5, size=(2, 3))
    _same(ops, "one_hot(depth=5)", ops.one_hot(ops.asarray(idx), 5), np.eye(5)[idx])


@_check
def check_describe(ops: Ops, rng: np.random.Generator) -> None:
    text = ops.describe()
    if not isinstance(text, str) or ops.name not in text or ops.name == "abstract":
        raise AssertionError(f"describe() gave {text!r}; expected one line naming the backend")


def check_ops(ops: Ops, seed: int = 0, only: list[str] | None = None) -> None:
    """Run every Ops check (or ``only`` those) and raise one AssertionError listing failures.

    Example::

        from seqframe.testing import check_ops
        check_ops(MyOps(dtype="float64"))
    """
    from ._common import collect

    names = only or list(OPS_CHECKS)
    collect([(n, lambda n=n: OPS_CHECKS[n](ops, np.random.default_rng(seed))) for n in names])
