"""Shared helpers of the translate-task tests: tiny corpora on disk and stand-in predictors.

Tests get them through fixtures (pytest runs with ``--import-mode=importlib``, so test modules
cannot import this file by name).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from seqframe_translate.contract import EOS_ID

GERMAN = ["Ein Mann fährt Fahrrad .", "Eine Frau liest ein Buch .", "Der Hund schläft .",
          "Zwei Kinder spielen im Park .", "Die Katze sieht einen Vogel ."]
ENGLISH = ["A man rides a bike.", "A woman reads a book.", "The dog sleeps.",
           "Two children play in the park.", "The cat sees a bird."]


def write_folder(folder: Path, files: dict[str, list[str] | bytes], gz: tuple[str, ...] = ()):
    """Write ``{name: lines or raw bytes}`` into ``folder``; names in ``gz`` are gzipped."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        raw = content if isinstance(content, bytes) else "".join(
            line + "\n" for line in content).encode("utf-8")
        if name in gz:
            with gzip.open(folder / f"{name}.gz", "wb") as fh:
                fh.write(raw)
        else:
            (folder / name).write_bytes(raw)
    return folder


def parallel_folder(folder: Path, src: str = "de", tgt: str = "en", **overrides) -> Path:
    """A complete data folder: every split holds the five pairs above (``overrides`` replace
    files by name, e.g. ``{"val.en": [...]}``; a value of None leaves the file out)."""
    files: dict = {}
    for split in ("train", "val", "test"):
        files[f"{split}.{src}"], files[f"{split}.{tgt}"] = GERMAN, ENGLISH
    files.update({k.replace("__", "."): v for k, v in overrides.items()})
    return write_folder(folder, {k: v for k, v in files.items() if v is not None})


class ReferencePredictor:
    """A stand-in model that 'translates' each source into its reference (looked up by ids),
    with uniform logits (every token has probability 1/V under teacher forcing)."""

    def __init__(self, task, split: str):
        sources, targets = task.encoded[split]
        self.table = {tuple(s): list(t) for s, t in zip(sources, targets, strict=True)}
        self.vocab = task.target.size
        # (beam, {source tokens: budget}, length_penalty) of every translate call
        self.calls: list[tuple[int, dict, float]] = []

    def logits(self, batch):
        return np.zeros((*batch.target_out.shape, self.vocab))  # (B, T, V)

    def translate(self, source, source_mask, *, beam, max_len, length_penalty=1.0):
        tokens = source_mask.sum(axis=1) - 1
        budgets = np.broadcast_to(max_len, tokens.shape)
        self.calls.append((beam, dict(zip(tokens.tolist(), budgets.tolist(), strict=True)),
                           length_penalty))
        return [self.table[tuple(row[mask][:-1].tolist())] + [EOS_ID]
                for row, mask in zip(source, source_mask, strict=True)]


class SourceCopyPredictor(ReferencePredictor):
    """'Translates' by copying the source words into the target vocabulary (word codecs)."""

    def __init__(self, task, split: str):
        super().__init__(task, split)
        self.task = task

    def translate(self, source, source_mask, *, beam, max_len, length_penalty=1.0):
        words = [self.task.source.pieces(row[mask][:-1]) for row, mask in
                 zip(source, source_mask, strict=True)]
        return [self.task.target.vocab.encode(w) for w in words]


class AttendingPredictor(ReferencePredictor):
    """A reference predictor that also shows attention: target step t attends to source
    position t, or to the row's last real position (its <eos>) once past it."""

    def attention(self, batch):
        B, T = batch.target_in.shape
        weights = np.zeros((B, T, batch.source.shape[1]))  # (B, T, S)
        lengths = batch.source_mask.sum(axis=1)
        for b in range(B):
            weights[b, np.arange(T), np.minimum(np.arange(T), lengths[b] - 1)] = 1.0
        return weights


@pytest.fixture
def fakes():
    return SimpleNamespace(Reference=ReferencePredictor, SourceCopy=SourceCopyPredictor,
                           Attending=AttendingPredictor)


@pytest.fixture
def corpus():
    """Helpers that write corpora: ``corpus.folder(path, ...)``, ``corpus.write(path, files)``."""
    return SimpleNamespace(folder=parallel_folder, write=write_folder, german=GERMAN,
                           english=ENGLISH)
