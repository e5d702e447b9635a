"""Helpers of the speech-task tests: synthetic WAV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import seqframe_speech

SUBSET = Path(seqframe_speech.__file__).parent / "data"


def tone(freq: float, seconds: float, rate: int = 8000, amplitude: float = 0.5) -> np.ndarray:
    """A sine of ``freq`` Hz, float64."""
    t = np.arange(int(round(seconds * rate))) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def write_wav(path: Path, samples: np.ndarray, rate: int = 8000) -> Path:
    """Write ``samples`` with their own dtype (int16, uint8, float32, ...) as a WAV file."""
    wavfile = pytest.importorskip("scipy.io.wavfile")
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, rate, samples)
    return path


def as_int16(x: np.ndarray) -> np.ndarray:
    return np.round(x * 32767).astype(np.int16)
