"""Shared helpers of the gesture-task tests: tiny .ts pairs and a transparent fake predictor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

HEADER = "@problemName Tiny\n@univariate {uni}\n@dimensions {dims}\n@classLabel true a b c\n@data\n"


def _ts_text(cases: list[tuple[list[list[float]], str | None]], labelled: bool = True) -> str:
    """A .ts file from (channels, label) cases; NaN becomes '?'."""
    dims = len(cases[0][0])
    head = HEADER.format(uni=str(dims == 1).lower(), dims=dims)
    if not labelled:
        head = head.replace("@classLabel true a b c", "@classLabel false")
    lines = []
    for channels, label in cases:
        body = ":".join(",".join("?" if np.isnan(v) else repr(float(v)) for v in ch)
                        for ch in channels)
        lines.append(body + (f":{label}" if labelled else ""))
    return head + "\n".join(lines) + "\n"


def _tiny_cases(seed: int = 0, n_per_class: int = 4, dims: int = 2):
    """Three classes of random walks of lengths 3..9, class-dependent offsets."""
    rng = np.random.default_rng(seed)
    cases = []
    for c, label in enumerate("abc"):
        for _ in range(n_per_class):
            length = int(rng.integers(3, 10))
            cases.append(([list(c + rng.normal(size=length).cumsum()) for _ in range(dims)], label))
    return cases


@pytest.fixture
def tiny_pair(tmp_path) -> Path:
    """``Tiny_TRAIN.ts`` (12 cases) and ``Tiny_TEST.ts`` (6 cases) in ``tmp_path``."""
    (tmp_path / "Tiny_TRAIN.ts").write_text(_ts_text(_tiny_cases(0)))
    (tmp_path / "Tiny_TEST.ts").write_text(_ts_text(_tiny_cases(1, n_per_class=2)))
    return tmp_path / "Tiny_TRAIN.ts"


class MeanLinearPredictor:
    """logits = masked mean of the inputs @ W + b: independent of padding when masks are right."""

    def __init__(self, input_size: int, output_size: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.W = rng.normal(size=(input_size, output_size))
        self.b = rng.normal(size=output_size)
        self.calls = 0

    def logits_of(self, series: np.ndarray) -> np.ndarray:
        return series.mean(axis=0) @ self.W + self.b

    def predict(self, inputs, mask=None, state=None):
        self.calls += 1
        m = np.ones(inputs.shape[:2], bool) if mask is None else mask
        means = (inputs * m[..., None]).sum(1) / m.sum(1, keepdims=True)  # (B, D)
        return means @ self.W + self.b, None


@pytest.fixture
def ts_text():
    """``ts_text(cases, labelled=True)``: write (channels, label) cases as .ts text."""
    return _ts_text


@pytest.fixture
def tiny_cases():
    """``tiny_cases(seed, n_per_class=4, dims=2)``: three classes of random walks."""
    return _tiny_cases


@pytest.fixture
def predictor():
    """A MeanLinearPredictor for 2 channels and 3 classes."""
    return MeanLinearPredictor(2, 3)
