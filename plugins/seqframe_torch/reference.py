"""The char-LM benchmark written by hand with ``torch.nn``: the bar ``seqframe bench`` compares to.

It lives in the torch plugin so that core never imports torch; ``seqframe.diagnostics.bench``
reaches it
through :meth:`seqframe_torch.ops.TorchOps.reference_stepper`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from seqframe.task import Batch


def reference_stepper(cell: str, work: Any, dtype: str = "float32") -> Callable[[Batch], float]:
    """One optimizer step of ``nn.RNN/LSTM/GRU`` + ``nn.Linear`` + cross-entropy + clip + Adam.

    Args:
        cell: ``rnn``, ``lstm`` or ``gru``.
        work: a :class:`seqframe.diagnostics.bench.Workload` (sizes, seed, learning rate, clip
        norm).
        dtype: ``float32`` or ``float64``.
    """
    torch.manual_seed(work.seed)
    kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    float_dtype = getattr(torch, dtype)
    rnn = kind(work.vocab, work.hidden, num_layers=work.layers, batch_first=True).to(float_dtype)
    head = torch.nn.Linear(work.hidden, work.vocab).to(float_dtype)
    params = list(rnn.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=work.lr)
    zeros = torch.zeros((work.layers, work.batch, work.hidden), dtype=float_dtype)
    carried = [(zeros, zeros.clone()) if cell == "lstm" else zeros]

    def step(batch: Batch) -> float:
        x = torch.from_numpy(batch.inputs).to(float_dtype)  # (B, T, V)
        y = torch.from_numpy(batch.targets)  # (B, T)
        out, state = rnn(x, carried[0])
        logits = head(out)  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, work.vocab), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, work.clip_norm)
        optimizer.step()
        # the state carries into the next batch, but not its gradient (truncated BPTT)
        carried[0] = tuple(s.detach() for s in state) if cell == "lstm" else state.detach()
        return loss.item()

    return step
