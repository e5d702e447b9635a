"""The Ops contract: the small, closed array namespace a backend supplies.

Everything in core that touches numbers (cells, BPTT, losses, optimizers, clipping) is written once
against this class, so it runs unchanged on every backend. Names follow the Python Array API
standard where it has them (``concat``, ``permute_dims``, ``matmul``, ``sum(axis=...)``).

Arrays returned by an Ops are *backend arrays* (``numpy.ndarray`` for numpy, ``torch.Tensor`` for
torch). Besides the methods below, core code relies only on what both support natively:
the operators ``+ - * / ** @`` and unary ``-`` between arrays and Python scalars, basic
indexing and slicing (``x[:, t]``, ``x[..., :H]``), slice assignment ``out[:, t] = y`` and the
in-place operators ``+= -= *=`` on arrays created by this Ops (the optimizers update their own
copies of the parameters and their moments in place), ``.shape``, ``.ndim`` and ``.T`` on 2-D
arrays.

Shape letters used across seqframe: B batch, T time, D input features, H hidden, G gates,
O outputs, V vocabulary.

Random numbers never come from a backend: core draws them on the host with NumPy (initial weights,
dropout masks, shuffling) and moves them with :meth:`Ops.asarray`. That is what makes two backends
start from the same weights and a resumed run draw the same masks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

Array = Any  # a backend array; kept loose on purpose, each backend has its own type

DTYPES = ("float32", "float64")


class Ops(ABC):
    """Array operations of one backend, bound to one device and one default float dtype.

    Attributes:
        name: the backend's registered name, e.g. ``"numpy"``.
        dtype: ``"float32"`` or ``"float64"``; every float array this Ops creates has it.
        device: where arrays live, e.g. ``"cpu"`` or ``"cuda:0"``.
    """

    name: str = "abstract"

    def __init__(self, dtype: str = "float32", device: str = "cpu"):
        if dtype not in DTYPES:
            from .errors import ConfigError

            raise ConfigError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}.")
        self.dtype = dtype
        self.device = device

    # ---- creation and transfer ---------------------------------------------------------------
    @abstractmethod
    def asarray(self, x: Any, dtype: str | None = None) -> Array:
        """Host data (NumPy array, list, scalar) or a backend array -> backend array on device.

        ``dtype`` None means this Ops' float dtype for float input; ``"int64"`` and ``"bool"`` are
        also accepted (class targets, masks).
        """

    @abstractmethod
    def to_numpy(self, x: Array) -> np.ndarray:
        """Backend array -> NumPy array on the host (a copy when the device is not the host)."""

    @abstractmethod
    def zeros(self, shape: Sequence[int], dtype: str | None = None) -> Array:
        """A new array of zeros (float dtype of this Ops unless ``dtype`` is given)."""

    def zeros_like(self, x: Array) -> Array:
        """Zeros with the shape (and float dtype) of ``x``."""
        return self.zeros(tuple(x.shape))

    @abstractmethod
    def copy(self, x: Array) -> Array:
        """An independent copy of ``x``."""

    # ---- elementwise -------------------------------------------------------------------------
    @abstractmethod
    def tanh(self, x: Array) -> Array: ...

    @abstractmethod
    def sigmoid(self, x: Array) -> Array:
        """Logistic function, computed without overflow for large ``|x|``."""

    @abstractmethod
    def exp(self, x: Array) -> Array: ...

    @abstractmethod
    def log(self, x: Array) -> Array: ...

    @abstractmethod
    def sqrt(self, x: Array) -> Array: ...

    @abstractmethod
    def abs(self, x: Array) -> Array: ...

    @abstractmethod
    def sign(self, x: Array) -> Array: ...

    @abstractmethod
    def maximum(self, x: Array, y: Array | float) -> Array: ...

    @abstractmethod
    def minimum(self, x: Array, y: Array | float) -> Array: ...

    @abstractmethod
    def clip(self, x: Array, low: float, high: float) -> Array: ...

    @abstractmethod
    def where(self, cond: Array, x: Array | float, y: Array | float) -> Array: ...

    @abstractmethod
    def isfinite(self, x: Array) -> Array:
        """Elementwise bool: neither NaN nor +-Inf."""

    # ---- reductions --------------------------------------------------------------------------
    @abstractmethod
    def sum(
        self, x: Array, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
    ) -> Array: ...

    @abstractmethod
    def max(self, x: Array, axis: int | None = None, keepdims: bool = False) -> Array: ...

    @abstractmethod
    def argmax(self, x: Array, axis: int = -1) -> Array: ...

    # ---- linear algebra and shape ------------------------------------------------------------
    @abstractmethod
    def matmul(self, a: Array, b: Array) -> Array: ...

    @abstractmethod
    def reshape(self, x: Array, shape: Sequence[int]) -> Array: ...

    @abstractmethod
    def permute_dims(self, x: Array, axes: Sequence[int]) -> Array: ...

    @abstractmethod
    def concat(self, xs: Sequence[Array], axis: int = 0) -> Array: ...

    @abstractmethod
    def stack(self, xs: Sequence[Array], axis: int = 0) -> Array: ...

    @abstractmethod
    def split(self, x: Array, sizes: Sequence[int], axis: int = -1) -> list[Array]:
        """Split ``x`` into consecutive pieces of the given sizes along ``axis``."""

    @abstractmethod
    def take(self, x: Array, indices: Array, axis: int) -> Array:
        """Select entries of ``x`` along ``axis`` by integer ``indices`` (like ``numpy.take``)."""

    @abstractmethod
    def take_along_axis(self, x: Array, indices: Array, axis: int) -> Array: ...

    @abstractmethod
    def one_hot(self, indices: Array, depth: int) -> Array:
        """Integer array (...) -> float array (..., depth) with a 1 at each index."""

    def index_add(self, x: Array, indices: Array, values: Array) -> Array:
        """``x`` with each row ``values[i]`` added to row ``indices[i]``; repeated indices add up.

        Shapes: ``x`` (V, ...), ``indices`` (N,) integers in [0, V), ``values`` (N, ...). Returns a
        new array (``x`` is unchanged): the scatter-add an embedding table's gradient needs. The
        default goes through the host with ``numpy.add.at``; backends override it on the device.
        """
        out = np.array(self.to_numpy(x), copy=True)
        np.add.at(out, self.to_numpy(indices).astype(np.int64), self.to_numpy(values))
        return self.asarray(out)

    def put_rows(self, x: Array, rows: Array, values: Array) -> Array:
        """``x`` with rows ``rows`` replaced by ``values``: the write of a row-sparse update.

        Shapes: ``x`` (V, ...), ``rows`` (k,) distinct integers in [0, V), ``values`` (k, ...).
        Unlike the other operations it MAY write into ``x`` and return it (the optimizer hands
        it only arrays it owns, and drops the old reference): writing k rows in place is what
        makes updating a few rows of a large table cheap. The default copies through the host.
        """
        out = np.array(self.to_numpy(x), copy=True)
        out[self.to_numpy(rows).astype(np.int64)] = self.to_numpy(values)
        return self.asarray(out)

    # ---- scalars -----------------------------------------------------------------------------
    def item(self, x: Array) -> float:
        """A 0-d or 1-element array -> Python float (a host sync on accelerators)."""
        return float(self.to_numpy(x).reshape(()))

    # ---- optional capabilities: each has a default that is always correct ----------------
    def fused_recurrence(self, cell: Any) -> Any:
        """A faster recurrence for ``cell``, or None to run core's generic BPTT.

        A backend with native recurrent kernels (cuDNN, oneDNN) returns an object that unrolls
        one layer and direction of a window and backpropagates through it, following
        :class:`seqframe.engine.recurrence.Recurrence` (its module docstring is the contract).
        Core keeps everything else (resets, dropout, readout, loss) and asks it only for windows
        whose mask it can express (prefix masks). It must agree with the generic path within the
        tolerance its parity test states; seqframe.testing checks it against the reference.
        """
        return None

    def fused_ctc(self) -> Any:
        """A native CTC kernel, or None to run core's hand-written forward-backward.

        A backend with one (torch's ``ctc_loss``) returns a callable
        ``kernel(logits, targets, input_lengths, target_lengths, *, blank, grad) -> (loss,
        d_logits)``: backend ``logits`` (B, T, V), host int64 ``targets`` (B, L) and lengths
        (B,) (every input length >= 1), the per-row ``-ln p(l | x)`` (B,) and, when ``grad``,
        its gradient with respect to the logits (B, T, V), zero past each row's length (else
        None); a row too short for its labels gets loss 0 and no gradient: exactly
        ``seqframe.losses.ctc.ctc_loss(..., zero_infinity=True)``'s results. The
        ``ctc`` loss uses it when offered; it must agree with the hand-written recursion within
        1e-9 in float64 (tests/plugins/torch).
        """
        return None

    def fused_update(self, optimizer: str) -> Any:
        """A kernel for the dense update of core's optimizer ``optimizer``, or None (the default:
        the optimizer's own arithmetic through this Ops).

        Asked for ``"adam"`` and ``"adamw"``, and called as ``kernel(params, grads, exp_avgs,
        exp_avg_sqs, *, step, lr, beta1, beta2, eps, weight_decay)`` with lists of arrays, it
        applies the rule of :class:`seqframe.training.optim.Adam` (``AdamW``: decoupled decay)
        for the optimizer's ``step``-th step (1-based), writing the parameters and both moments
        in place. One pass over each array instead of a temporary per operation: over a large
        embedding or readout table that is most of a step's optimizer cost. It must agree with
        core's arithmetic within the tolerance its parity test states.
        """
        return None

    def collective(self, timeout: float) -> Any:
        """Collective operations for data-parallel training, or None (one process only).

        Called by :mod:`seqframe.training.distributed` when ``WORLD_SIZE`` > 1. A backend that
        can train on several processes returns a
        :class:`seqframe.training.distributed.Collective`: ``rank``, ``world_size``,
        ``all_reduce_sum(arrays)``, ``broadcast_object(obj)``, ``all_gather_object(obj)`` and
        ``close()``, failing with a clear error after ``timeout`` seconds rather than hanging;
        see the torch backend's ``collective.py``.
        """
        return None

    #: Mixed-precision modes ``--amp`` may ask of this backend; a backend listing more than
    #: ``"off"`` takes an ``amp=`` argument in its constructor.
    amp_modes: ClassVar[tuple[str, ...]] = ("off",)

    @classmethod
    def num_threads(cls) -> int | None:
        """Intra-op threads this backend computes with, or None when it cannot say (NumPy's BLAS
        reads ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` once at start-up)."""
        return None

    @classmethod
    def set_num_threads(cls, threads: int) -> bool:
        """Set the intra-op thread count; False when this backend cannot change it at run time."""
        return False

    @classmethod
    def reference_stepper(cls, cell: str, work: Any, dtype: str = "float32") -> Any:
        """The same benchmark model written directly in this backend's native library, for
        ``seqframe bench`` to compare with, or None.

        Returns a callable ``step(batch) -> loss`` taking one optimizer step of the char-LM
        workload :class:`seqframe.diagnostics.bench.Workload` (see the torch backend's
        ``reference.py``).
        """
        return None

    @classmethod
    def seq2seq_reference_stepper(cls, work: Any, dtype: str = "float32",
                                  params: Any = None) -> Any:
        """The encoder-decoder benchmark written directly in this backend's native library,
        for ``seqframe bench --seq2seq`` to compare with, or None.

        Returns a callable ``step(batch) -> loss`` taking one optimizer step of the workload
        :class:`seqframe.diagnostics.seq2seq_bench.Seq2SeqBenchWorkload` on a
        :class:`seqframe.task.Seq2SeqBatch`, starting from ``params`` (seqframe's parameter
        names) when given (see the torch backend's ``seq2seq_reference.py``).
        """
        return None

    def describe(self) -> str:
        """One line for the run log, e.g. ``numpy float64 on cpu``."""
        return f"{self.name} {self.dtype} on {self.device}"
