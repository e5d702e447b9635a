"""torch's native CTC kernel behind :meth:`seqframe.ops.Ops.fused_ctc`.

The ``ctc`` loss (:mod:`seqframe.losses.ctc`) is written by hand against Ops: a Python loop over
frames of small array operations, each a kernel launch on torch. ``torch.nn.functional.ctc_loss``
runs the same log-space forward-backward recursion in one C++/CUDA kernel (cuDNN's where it
applies). This wraps it in the kernel contract: the log-softmax is folded in, so the gradient is
with respect to the logits, as the hand-written one is. Parity with the hand-written recursion
is tested in float64 (tests/plugins/torch/test_ctc_kernel.py).
"""

from __future__ import annotations

import numpy as np
import torch


class NativeCTC:
    """``kernel(logits, targets, input_lengths, target_lengths, *, blank, grad)`` on torch."""

    def __init__(self, ops):
        self.ops = ops

    def __repr__(self) -> str:
        return f"NativeCTC({self.ops.torch_device})"

    def __call__(self, logits: torch.Tensor, targets: np.ndarray, input_lengths: np.ndarray,
                 target_lengths: np.ndarray, *, blank: int = 0, grad: bool = True):
        x = logits.detach().requires_grad_(grad)
        as_long = [torch.as_tensor(np.asarray(a, dtype=np.int64))
                   for a in (targets, input_lengths, target_lengths)]
        with torch.set_grad_enabled(grad):
            log_probs = torch.log_softmax(x, dim=-1).transpose(0, 1)  # (T, B, V) as torch wants
            loss = torch.nn.functional.ctc_loss(log_probs, *as_long, blank=blank,
                                                reduction="none", zero_infinity=True)  # (B,)
        if not grad:
            return loss.detach(), None
        (d_logits,) = torch.autograd.grad(loss.sum(), x)
        return loss.detach(), d_logits


__all__ = ["NativeCTC"]
