"""torch's fused Adam and AdamW kernels for core's optimizers (:meth:`Ops.fused_update`).

Core's :class:`seqframe.training.optim.Adam` follows ``torch.optim.Adam``'s rule, so torch's own
fused kernel (``fused=True``: one pass over each parameter, gradient and both moments) applies
it. Measured on one CPU thread over two 100,000 x 256 float32 tables: 64 ms a step against 630 ms
for the same rule written with Ops operations, whose temporaries each cost a fresh 100 MB array.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.adam import adam
from torch.optim.adamw import adamw

RULES = {"adam": adam, "adamw": adamw}


def fused_kernel(optimizer: str, device: torch.device) -> Any:
    """The kernel for ``optimizer`` on ``device``, or None where torch has no fused one."""
    if optimizer not in RULES or device.type not in ("cpu", "cuda"):
        return None
    if device.type == "cpu" and tuple(int(p) for p in torch.__version__.split(".")[:2]) < (2, 4):
        return None  # fused CPU kernels arrived in torch 2.4
    return FusedAdam(RULES[optimizer])


class FusedAdam:
    """Calls torch's functional Adam/AdamW with ``fused=True`` on core's lists of arrays."""

    def __init__(self, rule):
        self.rule = rule

    def __call__(self, params: list, grads: list, exp_avgs: list, exp_avg_sqs: list, *,
                 step: int, lr: float, beta1: float, beta2: float, eps: float,
                 weight_decay: float) -> None:
        # torch counts the step itself (adds 1 to each entry first), so it is handed step - 1
        steps = [torch.tensor(float(step - 1), dtype=torch.float32, device=p.device)
                 for p in params]
        # the kernel wants one dtype and dense strides throughout (no-ops when they already are)
        grads = [g.to(p.dtype).contiguous() for g, p in zip(grads, params, strict=True)]
        self.rule(params, grads, exp_avgs, exp_avg_sqs, [], steps,
                  fused=True, amsgrad=False, beta1=beta1, beta2=beta2, lr=lr,
                  weight_decay=weight_decay, eps=eps, maximize=False)
