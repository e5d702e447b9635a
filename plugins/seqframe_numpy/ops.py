"""The NumPy backend: every :class:`seqframe.ops.Ops` method as a thin, copy-free NumPy call.

This is the reference backend: readable, float64-capable, and the one the gradient checks run on.
It is also meant to be quick on a CPU, so nothing here copies an array it does not have to:
:meth:`NumpyOps.asarray` returns its input unchanged when it already has the right dtype, and the
sigmoid works in place on the one array it allocates.

One process-wide setting: a training window allocates and frees some megabytes of temporaries
(input projections, stashed gradients, logits). By default glibc hands large freed blocks back to
the kernel and the next window faults every page in again, which cost about a fifth of a char-LM
step in our measurements. The first NumpyOps therefore asks glibc (``mallopt``) to keep freed
memory for reuse. Set ``SEQFRAME_NUMPY_MALLOPT=0`` to leave the allocator alone; on other C
libraries nothing happens.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqframe.errors import ConfigError
from seqframe.ops import Ops

# dtype names Ops.asarray / Ops.zeros accept besides the float dtype of the Ops itself
_EXTRA_DTYPES = {"int64": np.int64, "bool": np.bool_, "float32": np.float32, "float64": np.float64}

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
_allocator_tuned = False


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed blocks up to 32 MB in the heap instead of unmapping them."""
    global _allocator_tuned
    if _allocator_tuned or os.environ.get("SEQFRAME_NUMPY_MALLOPT", "1") == "0":
        return
    _allocator_tuned = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 * 1024 * 1024)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


class NumpyOps(Ops):
    """Array operations on host NumPy arrays (``device`` is always ``"cpu"``).

    Args:
        dtype: ``"float32"`` (fast) or ``"float64"`` (gradient checks).
        device: ``"cpu"``; ``"auto"`` is accepted and means ``"cpu"``.

    Raises:
        ConfigError: an unknown dtype, or a device other than the host CPU.
    """

    name = "numpy"

    def __init__(self, dtype: str = "float32", device: str = "cpu"):
        if device in ("auto", None):
            device = "cpu"
        if device != "cpu":
            raise ConfigError(
                f"the numpy backend runs on the host CPU only; got device {device!r}. "
                "Use --device cpu, or --backend torch for a GPU."
            )
        super().__init__(dtype=dtype, device=device)
        self._float = np.dtype(dtype)
        _keep_freed_memory()

    def _dtype(self, dtype: str | None) -> np.dtype:
        if dtype is None:
            return self._float
        try:
            return np.dtype(_EXTRA_DTYPES[dtype])
        except KeyError:
            raise ConfigError(
                f"unknown dtype {dtype!r}; expected one of {', '.join(_EXTRA_DTYPES)}."
            ) from None

    # ---- creation and transfer ---------------------------------------------------------------
    def asarray(self, x: Any, dtype: str | None = None) -> np.ndarray:
        """Host data -> NumPy array, sharing memory with ``x`` when no conversion is needed.

        With ``dtype=None`` float input becomes this Ops' float dtype, integer input ``int64``
        and boolean input ``bool`` (Python scalars and lists are inferred the same way).
        """
        if dtype is not None:
            return np.asarray(x, dtype=self._dtype(dtype))
        arr = np.asarray(x)
        if arr.dtype == np.bool_:
            return arr
        if np.issubdtype(arr.dtype, np.integer):
            return arr.astype(np.int64, copy=False)
        return arr.astype(self._float, copy=False)

    def to_numpy(self, x: np.ndarray) -> np.ndarray:
        """The array itself: it already lives on the host (no copy)."""
        return np.asarray(x)

    def zeros(self, shape: Sequence[int], dtype: str | None = None) -> np.ndarray:
        return np.zeros(tuple(shape), dtype=self._dtype(dtype))

    def copy(self, x: np.ndarray) -> np.ndarray:
        """An independent, C-contiguous copy (so a copied transpose is GEMM-friendly)."""
        return np.array(x, copy=True, order="C")

    # ---- elementwise -------------------------------------------------------------------------
    def tanh(self, x):
        return np.tanh(x)

    def sigmoid(self, x):
        """``0.5 * tanh(x / 2) + 0.5``: equal to the logistic function, and it cannot overflow.

        ``1 / (1 + exp(-x))`` overflows ``exp`` for x below about -88 (float32); the tanh form
        is bounded for every input and costs one transcendental pass, done in place.
        """
        out = np.multiply(x, 0.5, dtype=np.result_type(x, self._float))
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5
        return out

    def exp(self, x):
        return np.exp(x)

    def log(self, x):
        return np.log(x)

    def sqrt(self, x):
        return np.sqrt(x)

    def abs(self, x):
        return np.abs(x)

    def sign(self, x):
        return np.sign(x)

    def maximum(self, x, y):
        return np.maximum(x, y)

    def minimum(self, x, y):
        return np.minimum(x, y)

    def clip(self, x, low: float, high: float):
        return np.clip(x, low, high)

    def where(self, cond, x, y):
        out = np.where(cond, x, y)
        # Two Python floats would give float64; every float array of this Ops has its dtype.
        return out if out.dtype.kind != "f" else out.astype(self._float, copy=False)

    def isfinite(self, x):
        return np.isfinite(x)

    # ---- reductions --------------------------------------------------------------------------
    def sum(self, x, axis=None, keepdims: bool = False):
        return np.sum(x, axis=axis, keepdims=keepdims)

    def max(self, x, axis=None, keepdims: bool = False):
        return np.max(x, axis=axis, keepdims=keepdims)

    def argmax(self, x, axis: int = -1):
        return np.argmax(x, axis=axis)

    # ---- linear algebra and shape ------------------------------------------------------------
    def matmul(self, a, b):
        return np.matmul(a, b)

    def reshape(self, x, shape: Sequence[int]):
        return np.reshape(x, tuple(shape))

    def permute_dims(self, x, axes: Sequence[int]):
        return np.transpose(x, tuple(axes))

    def concat(self, xs, axis: int = 0):
        return np.concatenate(xs, axis=axis)

    def stack(self, xs, axis: int = 0):
        return np.stack(xs, axis=axis)

    def split(self, x, sizes: Sequence[int], axis: int = -1) -> list:
        cuts = np.cumsum(sizes)[:-1]
        if int(np.sum(sizes)) != x.shape[axis]:
            raise ValueError(f"split sizes {list(sizes)} do not add up to {x.shape[axis]}")
        return np.split(x, cuts, axis=axis)

    def take(self, x, indices, axis: int):
        return np.take(x, indices, axis=axis)

    def take_along_axis(self, x, indices, axis: int):
        return np.take_along_axis(x, indices, axis=axis)

    def one_hot(self, indices, depth: int):
        indices = np.asarray(indices)
        out = np.zeros(indices.shape + (depth,), dtype=self._float)
        np.put_along_axis(out, indices[..., None], 1.0, axis=-1)
        return out

    def index_add(self, x, indices, values):
        out = np.array(x, copy=True)
        np.add.at(out, np.asarray(indices, dtype=np.int64), values)  # repeated rows add up
        return out

    def put_rows(self, x, rows, values):
        if not x.flags.writeable:  # e.g. a table read from a checkpoint's buffer
            x = np.array(x, copy=True)
        x[np.asarray(rows, dtype=np.int64)] = values  # in place: k rows, not the whole table
        return x
