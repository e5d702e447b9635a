"""Fixtures of the speech-task tests: writable FSDD-style folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.tasks.speech._audio import SUBSET, as_int16, tone, write_wav


@pytest.fixture
def subset_copy(tmp_path) -> Path:
    """A writable copy of the shipped FSDD subset's WAV files (150 recordings)."""
    folder = tmp_path / "fsdd"
    folder.mkdir()
    for wav in SUBSET.glob("*.wav"):
        shutil.copy(wav, folder / wav.name)
    return folder


@pytest.fixture
def tiny_fsdd(tmp_path) -> Path:
    """An FSDD-named folder of synthetic recordings: 3 digits x 2 speakers x takes 0, 5, 6, 7.

    Digit ``d`` is a tone of ``300 + 400 d`` Hz (10% higher for speaker ``bob``) with a little
    noise, 0.3-0.4 s long, so every recording gives 28-38 frames.
    """
    folder = tmp_path / "tiny"
    rng = np.random.default_rng(0)
    for digit in range(3):
        for s, speaker in enumerate(("amy", "bob")):
            for take in (0, 5, 6, 7):
                freq = (300 + 400 * digit) * (1.1 if s else 1.0)
                x = tone(freq, 0.3 + 0.1 * rng.random())
                x = x + 0.01 * rng.standard_normal(len(x))
                write_wav(folder / f"{digit}_{speaker}_{take}.wav", as_int16(x))
    return folder
