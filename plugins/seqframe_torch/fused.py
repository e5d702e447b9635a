"""The fused fast path: a window's forward and backward on torch's native recurrent kernels.

For the built-in cells (:class:`~seqframe.cells.RNNCell`, :class:`~seqframe.cells.LSTMCell`,
:class:`~seqframe.cells.GRUCell`, checked by class, so a plugin cell that happens to be called
``lstm`` is never mistaken for one) the recurrence of each layer and direction runs as one call
of ``torch._VF.rnn_tanh``/``lstm``/``gru`` -- cuDNN on NVIDIA GPUs; oneDNN (float32 LSTMs) or
ATen's own loop on the CPU -- and torch.autograd differentiates it. Everything around the
recurrence is core's own code, so it cannot drift from the reference: the reset and start state
(:func:`seqframe.engine.bptt._start_state`), the dropout masks (drawn on the host by
:func:`seqframe.engine.bptt.dropout_masks`, applied between layers here), and the readout, loss and
their hand-written gradient (:func:`seqframe.engine.unroll.readout_loss`), whose gradient w.r.t. the
top layer is then pushed through the kernels with one ``torch.autograd.backward``.

Exactness. Masks in seqframe mean "a masked step leaves the state unchanged". A *prefix* mask
(each row real up to its length, padding after) is handled exactly with packed sequences, the
reverse direction reading each row's real steps back to front; outputs at padding steps are
filled with the state they kept, as the reference does. Any other mask (a gap in the middle of a
row) cannot be expressed to the kernels, so that window runs the generic BPTT instead. ``carry_at``
splits the forward run in two kernel calls at that step. Agreement with the generic path: 1e-7
(float64), tested in tests/plugins/torch/test_fused.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import _VF
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqframe.cells import GRUCell, LSTMCell, RNNCell
from seqframe.engine import bptt, unroll

# cell class -> (kernel, cuDNN mode number of cudnnRNNMode_t)
KERNELS = {RNNCell: (_VF.rnn_tanh, 1), LSTMCell: (_VF.lstm, 2), GRUCell: (_VF.gru, 3)}
WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def make_fused_window(ops, model) -> FusedWindow | None:
    """The fused callable for ``model`` on ``ops``, or None when its cell has no native kernel."""
    if type(model.cell) not in KERNELS:
        return None
    return FusedWindow(ops, model)


@dataclass
class Lengths:
    """Per-row real steps of a prefix-masked window, on the host and on the device."""

    host: torch.Tensor  # (B,) int64 on the CPU, what pack_padded_sequence wants
    device: torch.Tensor  # (B,) int64 on the window's device


class FusedWindow:
    """``(params, window, state, dropout_rng=None, carry_at=None) -> WindowResult`` on kernels.

    Attributes:
        kernel_name: e.g. ``"lstm"``; ``engine``: ``cuDNN``, ``oneDNN``, ``ATen CPU``...
        path: one line for the run log, e.g. ``"fused lstm kernels (oneDNN)"``.
        last_path: ``"fused"`` or ``"generic (non-prefix mask)"`` for the latest window.
    """

    def __init__(self, ops, model):
        self.ops, self.model = ops, model
        self.kernel, self.cudnn_mode = KERNELS[type(model.cell)]
        self.kernel_name = model.cell.name
        self.is_lstm = type(model.cell) is LSTMCell
        self.engine = _engine(ops.torch_device, self.is_lstm, ops.float_dtype)
        self.path = f"fused {self.kernel_name} kernels ({self.engine})"
        self.last_path = ""

    def __repr__(self) -> str:
        return f"FusedWindow({self.path})"

    def __call__(self, params, window, state=None, dropout_rng=None, carry_at=None):
        lengths = self._lengths(window)
        if lengths is False:
            return self._generic(params, window, state, dropout_rng, carry_at, "non-prefix mask")
        model, ops = self.model, self.ops
        bptt._check_window(model, params, window)
        if carry_at is not None and not 0 < carry_at <= window.length:  # the reference's error
            return bptt.window_loss_and_grad(model, ops, params, window, state, carry_at=carry_at)
        leaves = self._leaves(params)
        drop = bptt._device_dropout(model, ops, dropout_rng, window)
        start = bptt._start_state(model, ops, window, state)
        with torch.enable_grad():
            top, finals, carried = self._stack(leaves, window, start, lengths, drop, carry_at)
        out = unroll.readout_loss(model, ops, params, window, _detach(top),
                                  _detach(finals), drop)
        self._backward(top, finals, out)
        grads = {k: (v.grad if v.grad is not None else torch.zeros_like(v))
                 for k, v in leaves.items()}
        grads.update(out.grads)
        ops.count_path(f"fused:{self.kernel_name}")
        self.last_path = "fused"
        state_out = carried if carry_at is not None else finals
        count = bptt._count(model, window)
        return bptt.WindowResult(out.loss_sum, count, grads, _detach(state_out), out.outputs)

    def forward(self, params, inputs, mask=None, state=None, reset=None):
        """Eval-mode forward with :func:`seqframe.engine.bptt.forward`'s signature, on the kernels.

        Anything the kernels cannot express exactly (a gap in a mask) or that is malformed
        (which the reference reports) goes to :func:`seqframe.engine.bptt.forward`.
        """
        model, ops = self.model, self.ops
        generic = (model, ops, params, inputs, mask, state, reset)
        host_mask = None if mask is None else ops.to_numpy(mask).astype(bool)
        host_reset = None if reset is None else ops.to_numpy(reset).astype(bool)
        batch = inputs.shape[0] if inputs.ndim == 3 else -1
        steps = inputs.shape[1] if inputs.ndim == 3 else -1
        well_formed = (inputs.ndim == 3 and inputs.shape[2] == model.config.input_size
                       and (host_mask is None or host_mask.shape == (batch, steps))
                       and (host_reset is None or host_reset.shape == (batch,)))
        lengths = _host_lengths(host_mask, ops.torch_device) if well_formed else False
        if lengths is False:
            return bptt.forward(*generic)
        model.check_params(params)
        host_mask = np.ones((batch, steps), bool) if host_mask is None else host_mask
        host_reset = np.zeros(batch, bool) if host_reset is None else host_reset
        window = bptt._host_window(ops, inputs, None, host_mask, host_mask, host_reset)
        start = bptt._start_state(model, ops, window, state)
        with torch.no_grad():
            top, finals, _ = self._stack(self._leaves(params), window, start, lengths, [], None)
            outputs = unroll.readout_outputs(model, ops, params, window, top, finals)
        return outputs, _detach(finals)

    # ---- masks --------------------------------------------------------------------------------
    def _lengths(self, window) -> Lengths | None | bool:
        """None: every step is real; Lengths: a prefix mask; False: anything else."""
        if not window.masked_steps:
            return None
        mask = window.mask > 0.5  # (B, T) bool
        steps = mask.shape[1]
        length = mask.sum(dim=1)  # (B,)
        arange = torch.arange(steps, device=mask.device)
        prefix = (mask == (arange[None, :] < length[:, None])).all()
        # One small device->host copy per masked window: packing needs lengths on the host.
        host = torch.cat([length, prefix.reshape(1).to(length.dtype)]).cpu()
        if not bool(host[-1]):
            return False
        return Lengths(host[:-1].to(torch.int64), length.to(torch.int64))

    def _generic(self, params, window, state, dropout_rng, carry_at, why: str):
        self.ops.count_path(f"generic:{why}")
        self.last_path = f"generic ({why})"
        return bptt.window_loss_and_grad(self.model, self.ops, params, window, state,
                                         dropout_rng=dropout_rng, carry_at=carry_at)

    # ---- forward ------------------------------------------------------------------------------
    def _stack(self, leaves, window, start, lengths, drop, carry_at):
        """Every layer and direction; returns top (T, B, F), finals and carried states."""
        model = self.model
        x = window.inputs.permute(1, 0, 2)  # (T, B, D) time-major, like the reference
        if self.ops.amp_dtype is not None:
            x = x.contiguous()
        finals, carried = [], []
        for layer in range(model.config.layers):
            outs, layer_final, layer_carried = [], [], []
            for direction in range(model.directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                weights = [leaves[f"{name}{suffix}"] for name in WEIGHT_NAMES]
                cell_start = start[layer][direction]
                if direction == 0:
                    out, final, carry = self._forward(x, cell_start, weights, lengths, carry_at)
                else:
                    out, final = self._reverse(x, cell_start, weights, lengths)
                    carry = final  # the reference carries the reverse direction's final state
                outs.append(out)
                layer_final.append(final)
                layer_carried.append(carry)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)  # (T, B, F)
            if drop and drop[layer].ndim == 3:
                x = x * drop[layer]
            finals.append(tuple(layer_final))
            carried.append(tuple(layer_carried))
        return x, tuple(finals), tuple(carried)

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

    def _leaves(self, params) -> dict[str, torch.Tensor]:
        """Gradient-tracking leaves of the recurrent weights, sharing memory with ``params``.

        On cuDNN each layer/direction's four tensors are first copied into one contiguous
        buffer, the layout cuDNN wants (without it the kernel would repack, and warn, on every
        call); the leaves are then views of that buffer.
        """
        leaves = {}
        for _, _, suffix in self.model.layer_suffixes():
            group = [params[f"{name}{suffix}"] for name in WEIGHT_NAMES]
            if self.engine == "cuDNN":
                group = self._cudnn_flat(group)
            for name, tensor in zip(WEIGHT_NAMES, group, strict=True):
                leaves[f"{name}{suffix}"] = tensor.detach().requires_grad_(True)
        return leaves

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

    # ---- backward -----------------------------------------------------------------------------
    def _backward(self, top, finals, out) -> None:
        """Push the readout's gradient into the kernels: torch.autograd does the BPTT."""
        if out.d_top is not None:
            torch.autograd.backward([top], [out.d_top])
            return
        ends = [cell[0] for cell in finals[-1]]  # the top layer's final h per direction
        torch.autograd.backward(ends, [seed[0] for seed in out.seeds])


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


def _host_lengths(mask: np.ndarray | None, device: torch.device) -> Lengths | None | bool:
    """Like :meth:`FusedWindow._lengths` for a host mask (no device round trip)."""
    if mask is None or mask.all():
        return None
    length = mask.sum(axis=1)  # (B,)
    if not (mask == (np.arange(mask.shape[1])[None, :] < length[:, None])).all():
        return False
    host = torch.from_numpy(length.astype(np.int64))
    return Lengths(host, host.to(device))


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


__all__ = ["FusedWindow", "make_fused_window", "KERNELS"]
