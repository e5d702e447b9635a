"""The encoder-decoder written by hand with ``torch.nn``: the bar ``seqframe bench --seq2seq``
compares with, and an independent oracle for seqframe's hand-written backward.

The same model as :mod:`seqframe.engine.seq2seq` with ``nn.GRU`` stacks, general attention and
no dropout: ``nn.Embedding`` -> bidirectional ``nn.GRU`` over packed sources -> a bridge ``tanh(
Linear([h_fwd; h_bwd]))`` -> ``nn.GRU`` over the embedded ``target_in`` -> scores ``s_t . (W_a
h_j)`` masked to the real source positions -> ``h~ = tanh(W_c [c; s] + b)`` -> ``nn.Linear`` ->
``cross_entropy`` summed over real target tokens / their count -> ``clip_grad_norm_`` -> Adam.
Its parameters are named as seqframe's, so it starts from seqframe's own initial values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from seqframe.task import Seq2SeqBatch


class Seq2SeqGRU(nn.Module):
    """GRU encoder-decoder with general attention (see the module docstring).

    Args:
        source_vocab, target_vocab: V_s and V.
        hidden: H; embed: E; layers: L (of each stack); bidirectional: the encoder's directions.
    """

    def __init__(self, source_vocab: int, target_vocab: int, hidden: int, embed: int,
                 layers: int = 1, bidirectional: bool = True):
        super().__init__()
        width = hidden * (2 if bidirectional else 1)  # F
        self.encoder = nn.Module()
        self.encoder.embedding = nn.Embedding(source_vocab, embed, padding_idx=0)
        self.encoder.rnn = nn.GRU(embed, hidden, layers, bidirectional=bidirectional)
        self.bridge = nn.ModuleList(nn.Linear(width, hidden) for _ in range(layers))
        self.decoder = nn.Module()
        self.decoder.embedding = nn.Embedding(target_vocab, embed, padding_idx=0)
        self.decoder.rnn = nn.GRU(embed, hidden, layers)
        self.attention = nn.Module()
        self.attention.key = nn.Linear(width, hidden, bias=False)
        self.attention.combine = nn.Linear(width + hidden, hidden)
        self.output = nn.Linear(hidden, target_vocab)
        self.layers, self.directions = layers, 2 if bidirectional else 1

    def forward(self, source, source_mask, target_in):
        """Scores (T, B, V) from source (B, S), its bool mask and target_in (B, T)."""
        lengths = source_mask.sum(dim=1).cpu()
        packed = pack_padded_sequence(self.encoder.embedding(source.T), lengths,
                                      enforce_sorted=False)
        memory, final = self.encoder.rnn(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(memory, total_length=source.shape[1])
        memory = memory.transpose(0, 1)  # (B, S, F)
        top = final.view(self.layers, self.directions, *final.shape[1:])[-1]  # (dirs, B, H)
        finals = torch.cat(list(top), dim=1)  # (B, F)
        h0 = torch.stack([torch.tanh(b(finals)) for b in self.bridge])  # (L, B, H)
        states, _ = self.decoder.rnn(self.decoder.embedding(target_in.T), h0)  # (T, B, H)
        q = states.transpose(0, 1)  # (B, T, H)
        scores = torch.bmm(q, self.attention.key(memory).transpose(1, 2))  # (B, T, S)
        scores = scores.masked_fill(~source_mask[:, None, :], float("-inf"))
        context = torch.bmm(torch.softmax(scores, dim=2), memory)  # (B, T, F)
        h_tilde = torch.tanh(self.attention.combine(torch.cat([context, q], dim=2)))
        return self.output(h_tilde).transpose(0, 1)  # (T, B, V)

    def loss(self, batch: Seq2SeqBatch, device) -> torch.Tensor:
        """Mean cross-entropy over the batch's real target tokens."""
        def tensor(a):
            return torch.as_tensor(np.asarray(a), device=device)
        scores = self(tensor(batch.source), tensor(batch.source_mask), tensor(batch.target_in))
        mask = tensor(batch.target_mask).T.reshape(-1)
        targets = tensor(batch.target_out).T.reshape(-1)
        flat = scores.reshape(-1, scores.shape[-1])
        return F.cross_entropy(flat[mask], targets[mask], reduction="sum") / mask.sum()


def seq2seq_reference_stepper(work: Any, dtype: str = "float32",
                              params: dict[str, np.ndarray] | None = None,
                              ) -> Callable[[Seq2SeqBatch], float]:
    """One optimizer step of :class:`Seq2SeqGRU` (loss, backward, clip, Adam) per call.

    Args:
        work: a :class:`seqframe.diagnostics.seq2seq_bench.Seq2SeqBenchWorkload` (sizes, lr,
            clip norm, seed).
        dtype: ``float32`` or ``float64``.
        params: initial values by seqframe's names (default: torch's own initialisation).
    """
    torch.manual_seed(work.seed)
    model = Seq2SeqGRU(work.source_vocab, work.target_vocab, work.hidden, work.embed,
                       work.layers).to(getattr(torch, dtype))
    if params is not None:
        with torch.no_grad():
            for name, value in model.named_parameters():
                value.copy_(torch.as_tensor(params[name]))
    optimizer = torch.optim.Adam(model.parameters(), lr=work.lr)

    def step(batch: Seq2SeqBatch) -> float:
        loss = model.loss(batch, "cpu")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), work.clip_norm)
        optimizer.step()
        return loss.item()

    step.model = model  # type: ignore[attr-defined]
    return step
