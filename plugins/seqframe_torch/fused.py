"""The fused recurrence: one layer and direction of a window on torch's native recurrent kernels.

For the built-in cells (:class:`~seqframe.cells.RNNCell`, :class:`~seqframe.cells.LSTMCell`,
:class:`~seqframe.cells.GRUCell`, checked by class, so a plugin cell that happens to be called
``lstm`` is never mistaken for one) the recurrence of a layer and direction runs as one call of
``torch._VF.rnn_tanh``/``lstm``/``gru`` -- cuDNN on NVIDIA GPUs; oneDNN (float32 LSTMs) or
ATen's own loop on the CPU -- and ``torch.autograd.grad`` differentiates it. This is all the
backend supplies: core keeps the rest of the window (resets and the start state, dropout between
layers, the readout, the loss and its gradient; see :mod:`seqframe.engine.recurrence` for the
contract), so the two paths cannot drift apart.

Masks. seqframe's masks mean "a masked step leaves the state unchanged". Core hands this path only
windows with a *prefix* mask (each row real up to its length, padding after), which packed
sequences express exactly, the reverse direction reading each row's real steps back to front;
outputs at padding steps are filled with the state they kept, as the reference does.
``carry_at`` splits the forward run in two kernel calls at that step. Agreement with the generic
path: 1e-7 (float64), tested in tests/plugins/torch/test_fused.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import _VF
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqframe.cells import GRUCell, LSTMCell, RNNCell
from seqframe.engine.recurrence import WEIGHT_NAMES, DirectionRun

# cell class -> (kernel, cuDNN mode number of cudnnRNNMode_t)
KERNELS = {RNNCell: (_VF.rnn_tanh, 1), LSTMCell: (_VF.lstm, 2), GRUCell: (_VF.gru, 3)}


def make_fused_recurrence(ops, cell) -> FusedRecurrence | None:
    """The fused recurrence for ``cell`` on ``ops``, or None when it has no native kernel."""
    if type(cell) not in KERNELS:
        return None
    return FusedRecurrence(ops, cell)


@dataclass
class Lengths:
    """Per-row real steps of a prefix-masked window, on the host and on the device."""

    host: torch.Tensor  # (B,) int64 on the CPU, what pack_padded_sequence wants
    device: torch.Tensor  # (B,) int64 on the window's device


@dataclass
class _Saved:
    """The autograd graph of one forward, for :meth:`FusedRecurrence.backward`."""

    outputs: torch.Tensor  # (T, B, H), attached to the graph
    final: tuple  # attached
    leaves: list  # the four weights, then x when the layer below needs dLoss/dx
    starts: list  # the start state's arrays when dLoss/d(start) is asked for, else empty


class FusedRecurrence:
    """A :class:`seqframe.engine.recurrence.Recurrence` on torch's native kernels.

    Attributes:
        engine: ``cuDNN``, ``oneDNN``, ``ATen CPU``...
        path: one line for the run log, e.g. ``"fused lstm kernels (oneDNN)"``.
        runs_ragged: False on the CPU unless the Ops was made with ``fused=True``
            (``TorchOps.fused_ragged``): there torch's kernels over packed sequences (rows of
            different lengths) are far slower than core's generic BPTT. Measured with torch
            2.13 CPU, one thread, B=32, H=96, forward+backward, packed over unpacked: LSTM 15x
            at T=124 and 27x at T=496, GRU 4.5x and 13x, Elman 3.5x and 13x; a CTC window
            (bidirectional LSTM, T=496) took 3.0 s fused against 0.5 s generic. Windows
            without padding keep the fused kernels everywhere.
    """

    def __init__(self, ops, cell):
        self.ops = ops
        self.kernel, self.cudnn_mode = KERNELS[type(cell)]
        self.is_lstm = type(cell) is LSTMCell
        self.engine = _engine(ops.torch_device, self.is_lstm, ops.float_dtype)
        self.path = f"fused {cell.name} kernels ({self.engine})"
        self.runs_ragged = ops.fused_ragged

    def __repr__(self) -> str:
        return f"FusedRecurrence({self.path})"

    # ---- the seam -----------------------------------------------------------------------------
    def forward(self, weights, x, start, window, *, reverse, carry_at=None, keep=True,
                need_dx=False, need_dstart=False):
        lengths = None
        if window.lengths is not None:
            host = torch.from_numpy(np.asarray(window.lengths, np.int64))
            lengths = Lengths(host, host.to(self.ops.torch_device))
        leaves = self._leaves(weights, keep)
        if need_dx:
            x = x.detach().requires_grad_(True)  # dLoss/dx feeds the layer below
        starts = []
        if need_dstart and keep:  # a decoder's start state comes from the encoder
            start = tuple(s.detach().requires_grad_(True) for s in start)
            starts = list(start)
        grad = torch.enable_grad() if keep else torch.no_grad()
        with grad:
            if reverse:
                out, final = self._reverse(x, start, leaves, lengths)
                carried = final  # the reference carries the reverse direction's final state
            else:
                out, final, carried = self._forward(x, start, leaves, lengths, carry_at)
        saved = _Saved(out, final, [*leaves, x] if need_dx else leaves, starts) if keep \
            else None
        return DirectionRun(out.detach(), _detach(final), _detach(carried), saved)

    def backward(self, run, d_outputs, d_final):
        saved: _Saved = run.saved
        outputs, grad_outputs = [], []
        if d_outputs is not None:
            outputs.append(saved.outputs)
            grad_outputs.append(d_outputs)
        if d_final is not None:
            outputs += list(saved.final)
            grad_outputs += list(d_final)
        leaves = saved.leaves + saved.starts
        grads = torch.autograd.grad(outputs, leaves, grad_outputs, allow_unused=True)
        grads = [g if g is not None else torch.zeros_like(v)
                 for g, v in zip(grads, leaves, strict=True)]
        if saved.starts:
            run.d_start = tuple(grads[len(saved.leaves):])
            grads = grads[:len(saved.leaves)]
        named = dict(zip(WEIGHT_NAMES, grads[:4], strict=True))
        return (grads[4] if len(grads) > 4 else None), named

    # ---- forward ------------------------------------------------------------------------------
    def _forward(self, x, start, weights, lengths, carry_at):
        """The forward direction, split at ``carry_at`` so the state there can be carried."""
        steps = x.shape[0]
        if carry_at is None or carry_at == steps:
            out, final = self._run(x, start, weights, lengths)
            return out, final, final
        first = None if lengths is None else _clamp(lengths, 0, carry_at)
        rest = None if lengths is None else _clamp(lengths, -carry_at, steps - carry_at)
        out_a, mid = self._run(x[:carry_at], start, weights, first)
        out_b, final = self._run(x[carry_at:], mid, weights, rest)
        return torch.cat([out_a, out_b], dim=0), final, mid

    def _reverse(self, x, start, weights, lengths):
        """The reverse direction: each row's real steps back to front, padding left alone."""
        if lengths is None:
            out, final = self._run(x.flip(0), start, weights, None)
            return out.flip(0), final
        index = _reversal_index(lengths.device, x.shape[0])  # (T, B), its own inverse
        flipped = x.gather(0, index[:, :, None].expand(-1, -1, x.shape[2]))
        out, final = self._run(flipped, start, weights, lengths, pad_with_start=True)
        return out.gather(0, index[:, :, None].expand(-1, -1, out.shape[2])), final

    def _run(self, x, start, weights, lengths, pad_with_start=False):
        """One kernel call over (T, B, D) from the cell state ``start``; -> (out, final state)."""
        if self.ops.amp_dtype is not None:
            x = x.contiguous()
        hx = tuple(s[None] for s in start) if self.is_lstm else start[0][None]  # (1, B, H)
        with self.ops.autocast():
            if lengths is None:
                result = self.kernel(x, hx, weights, True, 1, 0.0, True, False, False)
                out, final = result[0], tuple(s[0] for s in result[1:])
            else:
                out, final = self._run_packed(x, hx, weights, lengths)
        out, final = self._to_float(out, final)
        if lengths is not None:
            out, final = _fill_padding(out, final, start, lengths.device, pad_with_start)
        return out, final

    def _run_packed(self, x, hx, weights, lengths: Lengths):
        # pack_padded_sequence refuses empty rows: run them one step, then _fill_padding puts
        # their start state back (so that step gets no gradient).
        packed = pack_padded_sequence(x, lengths.host.clamp(min=1), enforce_sorted=False)
        order, unorder = packed.sorted_indices, packed.unsorted_indices
        hx_sorted = tuple(h.index_select(1, order) for h in hx) if self.is_lstm else \
            hx.index_select(1, order)
        result = self.kernel(packed.data, packed.batch_sizes, hx_sorted, weights, True, 1, 0.0,
                             True, False)
        out_packed = packed._replace(data=result[0])
        out, _ = pad_packed_sequence(out_packed, total_length=x.shape[0])  # (T, B, H)
        final = tuple(s[0].index_select(0, unorder) for s in result[1:])
        return out, final

    def _to_float(self, out, final):
        if out.dtype == self.ops.float_dtype:
            return out, final
        dtype = self.ops.float_dtype  # autocast ran the kernel in bf16/fp16
        return out.to(dtype), tuple(s.to(dtype) for s in final)

    def _leaves(self, weights, keep: bool) -> list[torch.Tensor]:
        """The four weights as the kernel wants them, gradient-tracking when ``keep``.

        On cuDNN the four tensors are first copied into one contiguous buffer, the layout cuDNN
        wants (without it the kernel would repack, and warn, on every call); the leaves are then
        views of that buffer.
        """
        group = [weights[name] for name in WEIGHT_NAMES]
        if self.engine == "cuDNN":
            group = self._cudnn_flat(group)
        return [w.detach().requires_grad_(keep) for w in group]

    def _cudnn_flat(self, group: list) -> list:
        w_ih, w_hh = group[0], group[1]
        with torch.no_grad():
            copies = [w.detach().clone() for w in group]
            try:
                torch._cudnn_rnn_flatten_weight(copies, 4, w_ih.shape[1], self.cudnn_mode,
                                                w_hh.shape[1], 0, 1, False, False)
            except (RuntimeError, AttributeError):  # an older/newer torch: let the kernel repack
                return group
        return copies


def _engine(device: torch.device, lstm: bool, dtype: torch.dtype) -> str:
    """Which library runs the kernels, as far as torch's dispatch rules say (for the run log)."""
    if device.type == "cuda":
        cudnn = torch.backends.cudnn.is_available() and torch.backends.cudnn.enabled
        return "cuDNN" if cudnn else "native CUDA"
    if device.type == "cpu":
        # ATen hands only float32 LSTMs to oneDNN; GRU and Elman run ATen's own CPU loop.
        onednn = torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
        return "oneDNN" if lstm and onednn and dtype == torch.float32 else "ATen CPU"
    return f"native {device.type}"


def _clamp(lengths: Lengths, shift: int, high: int) -> Lengths:
    """Lengths of a time slice: ``clip(lengths + shift, 0, high)``."""
    return Lengths((lengths.host + shift).clamp(0, high), (lengths.device + shift).clamp(0, high))


def _reversal_index(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """(T, B): ``L_b - 1 - t`` on a row's real steps, ``t`` on its padding."""
    t = torch.arange(steps, device=lengths.device)[:, None]  # (T, 1)
    return torch.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def _fill_padding(out, final, start, lengths: torch.Tensor, pad_with_start: bool):
    """Padding steps output the state they kept; empty rows keep their start state."""
    steps = out.shape[0]
    real = torch.arange(steps, device=out.device)[:, None] < lengths[None, :]  # (T, B)
    empty = (lengths == 0)[:, None]  # (B, 1)
    final = tuple(torch.where(empty, s0, s) for s, s0 in zip(final, start, strict=True))
    fill = start[0] if pad_with_start else final[0]  # (B, H)
    return torch.where(real[:, :, None], out, fill[None]), final


def _detach(tree: Any) -> Any:
    if isinstance(tree, torch.Tensor):
        return tree.detach()
    return tuple(_detach(t) for t in tree)


__all__ = ["FusedRecurrence", "make_fused_recurrence", "KERNELS"]
