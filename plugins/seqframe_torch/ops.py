"""TorchOps: the Ops contract on torch tensors (CPU, CUDA, MPS), plus the fused fast path.

Everything core does on a backend goes through these methods, so a run keeps its tensors on the
device from the first ``asarray`` of a batch to the optimizer update; the only host round trips
are the ones core asks for (:meth:`TorchOps.item` when the trainer logs, ``to_numpy`` for
checkpoints and predictions).

Two knobs beyond ``dtype``/``device``:

* ``amp``: ``off`` | ``bf16`` | ``fp16`` -- matrix products run under CUDA autocast (the fused
  kernels and the readout in the fast path, ``matmul`` in the generic path); parameters,
  gradients and states stay float32.
* ``fused``: use torch's native recurrent kernels for the built-in cells (see
  :mod:`seqframe_torch.fused`). ``None`` reads the environment variable ``SEQFRAME_TORCH_FUSED``
  (``0`` forces the generic hand-written BPTT, e.g. for exact parity checks); default on. On
  the CPU the default leaves windows whose rows differ in length (padding) to the generic BPTT,
  which is several times faster there than torch's packed-sequence kernels (see
  :class:`seqframe_torch.fused.FusedRecurrence`); ``fused=True`` runs the kernels on them too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch  # without torch this raises ModuleNotFoundError, which the registry turns into exit 3

from seqframe.errors import ConfigError
from seqframe.ops import Array, Ops

from .collective import rank_device
from .device import resolve_amp, resolve_device

_TORCH_DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "int64": torch.int64,
    "bool": torch.bool,
}
FUSED_ENV = "SEQFRAME_TORCH_FUSED"


def fused_from_env(value: bool | None) -> bool:
    """The ``fused`` switch: an explicit bool wins, else ``SEQFRAME_TORCH_FUSED`` (default on)."""
    if value is not None:
        return bool(value)
    raw = os.environ.get(FUSED_ENV, "1").strip().lower()
    if raw in ("1", "true", "yes", "on", ""):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(
        f"{FUSED_ENV}={raw!r} is not understood; use 1 (fused kernels) or 0 (generic)."
    )


class TorchOps(Ops):
    """Ops on torch tensors bound to one device and float dtype.

    Args:
        dtype: ``float32`` (default) or ``float64``.
        device: ``auto`` (CUDA, else MPS, else CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``;
            under torchrun with several processes ``auto``/``cuda`` mean ``cuda:LOCAL_RANK``.
        amp: ``off``, ``bf16`` or ``fp16``; autocast on CUDA only.
        fused: True/False to force the fast path on/off (True: on padded windows too, even on
            the CPU); None reads ``SEQFRAME_TORCH_FUSED``.

    Attributes:
        torch_device: the resolved :class:`torch.device`.
        float_dtype: the :class:`torch.dtype` of every float tensor this Ops creates.
        amp_dtype: the autocast dtype, or None.
        fused: whether :meth:`fused_recurrence` offers the fast path.
        fused_ragged: whether the fast path also runs windows with padding (off on the CPU
            unless ``fused=True``).

    Raises:
        ConfigError: an unknown or unavailable device, or an amp mode the device cannot run.
    """

    name = "torch"

    amp_modes = ("off", "bf16", "fp16")

    # ---- declared capabilities (see seqframe.ops.Ops) -------------------------------------------
    @classmethod
    def reference_stepper(cls, cell: str, work, dtype: str = "float32"):
        """The same benchmark model written by hand with ``torch.nn`` (see reference.py)."""
        from .reference import reference_stepper

        return reference_stepper(cell, work, dtype)

    @classmethod
    def seq2seq_reference_stepper(cls, work, dtype: str = "float32", params=None):
        """The encoder-decoder benchmark written by hand with ``torch.nn`` (see
        seq2seq_reference.py)."""
        from .seq2seq_reference import seq2seq_reference_stepper

        return seq2seq_reference_stepper(work, dtype, params)

    @classmethod
    def num_threads(cls) -> int:
        return torch.get_num_threads()

    @classmethod
    def set_num_threads(cls, threads: int) -> bool:
        torch.set_num_threads(threads)
        return True

    def __init__(
        self,
        dtype: str = "float32",
        device: str = "auto",
        amp: str = "off",
        fused: bool | None = None,
    ):
        super().__init__(dtype=dtype, device=device)
        self.torch_device = resolve_device(rank_device(device), dtype)
        self.device = str(self.torch_device)
        self.float_dtype = _TORCH_DTYPES[dtype]
        self.amp_dtype = resolve_amp(amp, self.torch_device, dtype)
        self.amp = amp or "off"
        self.fused = fused_from_env(fused)
        self.fused_ragged = fused is True or self.torch_device.type != "cpu"
        self.fused_path: str | None = None  # set by fused_recurrence: "fused lstm kernels ..."

    # ---- helpers -----------------------------------------------------------------------------
    def _dtype(self, dtype: str | None) -> torch.dtype:
        if dtype is None:
            return self.float_dtype
        try:
            return _TORCH_DTYPES[dtype]
        except KeyError:
            raise ConfigError(
                f"unknown array dtype {dtype!r}; expected one of {', '.join(_TORCH_DTYPES)}."
            ) from None

    def _tensor(self, x: Any) -> torch.Tensor:
        """Scalars and host data met inside an operation -> a tensor of this Ops' float dtype."""
        if isinstance(x, torch.Tensor):
            return x
        return torch.as_tensor(x, dtype=self.float_dtype, device=self.torch_device)

    def autocast(self):
        """The autocast context of this Ops (a no-op unless ``amp`` is on)."""
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.torch_device.type, dtype=self.amp_dtype)

    # ---- creation and transfer ---------------------------------------------------------------
    def asarray(self, x: Any, dtype: str | None = None) -> Array:
        """Host data or a tensor -> a tensor on this device.

        With ``dtype=None`` float input becomes this Ops' float dtype, integer input ``int64`` and
        boolean input ``bool``, as in the numpy backend. Host arrays are always copied (never
        aliased), so an in-place update of a parameter cannot write into the caller's NumPy array,
        and read-only buffers (memory maps, safetensors) are fine.
        """
        if isinstance(x, torch.Tensor):
            target = self._dtype(dtype) if dtype is not None else self._kind_dtype(x.dtype)
            return x.to(device=self.torch_device, dtype=target)
        host = np.asarray(x)
        if host.dtype == object:
            raise ConfigError(f"cannot turn {type(x).__name__} into a tensor: not numeric data.")
        if dtype is not None:
            target = self._dtype(dtype)
        elif host.dtype == np.bool_:
            target = torch.bool
        elif np.issubdtype(host.dtype, np.integer):
            target = torch.int64
        else:
            target = self.float_dtype
        return torch.tensor(host, dtype=target, device=self.torch_device)

    def _kind_dtype(self, dtype: torch.dtype) -> torch.dtype:
        if dtype == torch.bool:
            return dtype
        return self.float_dtype if dtype.is_floating_point else torch.int64

    def to_numpy(self, x: Array) -> np.ndarray:
        if not isinstance(x, torch.Tensor):
            return np.asarray(x)
        x = x.detach()
        if x.dtype in (torch.bfloat16, torch.float16):
            x = x.float()  # NumPy has no bfloat16
        return x.to("cpu", copy=True).numpy()

    def zeros(self, shape: Sequence[int], dtype: str | None = None) -> Array:
        return torch.zeros(tuple(shape), dtype=self._dtype(dtype), device=self.torch_device)

    def zeros_like(self, x: Array) -> Array:
        return torch.zeros(tuple(x.shape), dtype=self.float_dtype, device=self.torch_device)

    def copy(self, x: Array) -> Array:
        return x.clone()

    # ---- elementwise -------------------------------------------------------------------------
    def tanh(self, x: Array) -> Array:
        return torch.tanh(x)

    def sigmoid(self, x: Array) -> Array:
        return torch.sigmoid(x)  # torch's kernel is already overflow-safe for large |x|

    def exp(self, x: Array) -> Array:
        return torch.exp(x)

    def log(self, x: Array) -> Array:
        return torch.log(x)

    def sqrt(self, x: Array) -> Array:
        return torch.sqrt(x)

    def abs(self, x: Array) -> Array:
        return torch.abs(x)

    def sign(self, x: Array) -> Array:
        return torch.sign(x)

    def maximum(self, x: Array, y: Array | float) -> Array:
        if isinstance(y, torch.Tensor):
            return torch.maximum(self._tensor(x), y)
        return torch.clamp(self._tensor(x), min=y)

    def minimum(self, x: Array, y: Array | float) -> Array:
        if isinstance(y, torch.Tensor):
            return torch.minimum(self._tensor(x), y)
        return torch.clamp(self._tensor(x), max=y)

    def clip(self, x: Array, low: float, high: float) -> Array:
        return torch.clamp(x, min=low, max=high)

    def where(self, cond: Array, x: Array | float, y: Array | float) -> Array:
        cond = self._tensor(cond)
        if cond.dtype != torch.bool:
            cond = cond != 0  # NumPy's rule: any nonzero value is true
        if not isinstance(x, torch.Tensor) and not isinstance(y, torch.Tensor):
            x = self._tensor(x)  # two Python scalars would otherwise give torch's default dtype
        return torch.where(cond, x, y)

    def isfinite(self, x: Array) -> Array:
        return torch.isfinite(x)

    # ---- reductions --------------------------------------------------------------------------
    def sum(
        self, x: Array, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
    ) -> Array:
        dims = tuple(range(x.ndim)) if axis is None else axis
        if dims == ():
            return x.clone()
        return torch.sum(x, dim=dims, keepdim=keepdims)

    def max(self, x: Array, axis: int | None = None, keepdims: bool = False) -> Array:
        dims = tuple(range(x.ndim)) if axis is None else axis
        if dims == ():
            return x.clone()
        return torch.amax(x, dim=dims, keepdim=keepdims)

    def argmax(self, x: Array, axis: int = -1) -> Array:
        return torch.argmax(x, dim=axis)

    # ---- linear algebra and shape ------------------------------------------------------------
    def matmul(self, a: Array, b: Array) -> Array:
        if self.amp_dtype is None:
            return torch.matmul(a, b)
        with self.autocast():
            out = torch.matmul(a, b)
        return out.to(self.float_dtype)  # keep everything outside the GEMM in float32

    def reshape(self, x: Array, shape: Sequence[int]) -> Array:
        return x.reshape(tuple(shape))

    def permute_dims(self, x: Array, axes: Sequence[int]) -> Array:
        return x.permute(tuple(axes))

    def concat(self, xs: Sequence[Array], axis: int = 0) -> Array:
        return torch.cat(list(xs), dim=axis)

    def stack(self, xs: Sequence[Array], axis: int = 0) -> Array:
        return torch.stack(list(xs), dim=axis)

    def split(self, x: Array, sizes: Sequence[int], axis: int = -1) -> list[Array]:
        return list(torch.split(x, [int(s) for s in sizes], dim=axis))

    def _indices(self, indices: Any) -> torch.Tensor:
        if isinstance(indices, torch.Tensor):
            return indices.to(device=self.torch_device, dtype=torch.int64)
        return torch.as_tensor(np.asarray(indices), dtype=torch.int64, device=self.torch_device)

    def take(self, x: Array, indices: Array, axis: int) -> Array:
        idx = self._indices(indices)
        axis = axis % x.ndim
        picked = torch.index_select(x, axis, idx.reshape(-1))
        # NumPy's take puts the indices' own shape where the axis was
        return picked.reshape(x.shape[:axis] + idx.shape + x.shape[axis + 1 :])

    def take_along_axis(self, x: Array, indices: Array, axis: int) -> Array:
        return torch.take_along_dim(x, self._indices(indices), dim=axis)

    def one_hot(self, indices: Array, depth: int) -> Array:
        idx = self._indices(indices)
        out = torch.zeros((*idx.shape, depth), dtype=self.float_dtype, device=self.torch_device)
        return out.scatter_(-1, idx.unsqueeze(-1), 1.0)

    def index_add(self, x: Array, indices: Array, values: Array) -> Array:
        return torch.index_add(x, 0, self._indices(indices).reshape(-1), values)

    def put_rows(self, x: Array, rows: Array, values: Array) -> Array:
        # in place: k rows, not the whole table
        return x.index_copy_(0, self._indices(rows).reshape(-1), values.to(x.dtype))

    # ---- scalars -----------------------------------------------------------------------------
    def item(self, x: Array) -> float:
        if isinstance(x, torch.Tensor):
            return float(x.detach().reshape(()).item())
        return float(x)

    # ---- fused fast paths and the run log ----------------------------------------------------
    def fused_recurrence(self, cell: Any) -> Any:
        """torch's native recurrent kernels for the built-in cells, or None (generic BPTT).

        See :mod:`seqframe_torch.fused` for what it runs and :mod:`seqframe.engine.recurrence`
        for the contract.
        """
        if not self.fused:
            return None
        from .fused import make_fused_recurrence

        fused = make_fused_recurrence(self, cell)
        self.fused_path = fused.path if fused is not None else "generic BPTT (no kernel for " \
            "this cell)"
        return fused

    def fused_ctc(self):
        """torch's native ``ctc_loss`` (and its backward) for the ``ctc`` loss, or None when the
        fused paths are off (see :mod:`seqframe_torch.ctc`)."""
        if not self.fused:
            return None
        from .ctc import NativeCTC

        return NativeCTC(self)

    def fused_update(self, optimizer: str):
        """torch's fused Adam/AdamW kernel, or None when the fused paths are off (see
        :mod:`seqframe_torch.optim`)."""
        if not self.fused:
            return None
        from .optim import fused_kernel

        return fused_kernel(optimizer, self.torch_device)

    def collective(self, timeout: float):
        """The collective operations of data-parallel training over torch.distributed (joins
        the process group torchrun set up; see :mod:`seqframe_torch.collective`)."""
        from .collective import TorchCollective

        return TorchCollective(self.torch_device, timeout)

    def describe(self) -> str:
        """E.g. ``torch float32 on cpu (torch 2.3.1, 8 threads, fused lstm kernels (oneDNN), amp
        off)``."""
        where = f"{torch.get_num_threads()} threads" if self.torch_device.type == "cpu" else ""
        if self.torch_device.type == "cuda":
            where = torch.cuda.get_device_name(self.torch_device)
        fused = "fused kernels off (generic BPTT)"
        if self.fused:
            fused = self.fused_path or "fused kernels on"
        parts = [f"torch {torch.__version__}", where, fused, f"amp {self.amp}"]
        return f"{self.name} {self.dtype} on {self.device} ({', '.join(p for p in parts if p)})"
