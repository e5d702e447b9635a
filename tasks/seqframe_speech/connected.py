"""Connected-digit utterances for ``-o mode=ctc``, built from isolated recordings.

Utterance ``i`` of a set is drawn from its own generator ``default_rng([seed, stream, i])``, so it
does not depend on how many utterances are asked for, and the sets never share a stream:

1. a speaker, uniformly among the pool's speakers (a pool is one split's recordings, so test
   utterances use test recordings only);
2. a length ``n ~ U{min_words..max_words}``;
3. ``n`` words, each uniform over the labels that speaker has in the pool, and for each a
   recording, uniform over that speaker's recordings of it (words and recordings may repeat);
4. the signal: silence of ``U[pause_min_ms, pause_max_ms]`` before, between and after the
   recordings, plus white Gaussian noise of standard deviation ``noise`` (full scale 1) over all
   of it, so pauses are not digital silence.

The label sequence is the words in order. An utterance whose frames are fewer than CTC needs for
its labels (:func:`seqframe.losses.ctc.min_frames`; impossible with the default pauses,
possible with short recordings and a tiny frame rate) is dropped and counted by
:func:`keep_feasible`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from seqframe.errors import ConfigError
from seqframe.losses.ctc import min_frames

from .sources import Recording


@dataclass(frozen=True)
class Recipe:
    """How utterances are put together (the ``ctc_*`` task options)."""

    min_words: int = 1
    max_words: int = 7
    pause_min_ms: float = 50.0
    pause_max_ms: float = 250.0
    noise: float = 0.003

    def check(self) -> None:
        if not 1 <= self.min_words <= self.max_words:
            raise ConfigError(f"connected utterances need 1 <= ctc_min_words <= ctc_max_words; "
                              f"got {self.min_words} and {self.max_words}.")
        if not 0 <= self.pause_min_ms <= self.pause_max_ms or self.noise < 0:
            raise ConfigError(f"need 0 <= ctc_pause_min_ms <= ctc_pause_max_ms and ctc_noise >= "
                              f"0; got {self.pause_min_ms}, {self.pause_max_ms}, {self.noise}.")


@dataclass(frozen=True)
class Utterance:
    """A generated utterance: its signal (N,), words, speaker and the recordings it uses."""

    signal: np.ndarray
    words: tuple[str, ...]
    speaker: str
    sources: tuple[int, ...]


def _by_speaker(pool: Sequence[int], recordings: Sequence[Recording]
                ) -> dict[str, dict[str, list[int]]]:
    """speaker -> label -> recording indices, all sorted (the draw order is fixed)."""
    table: dict[str, dict[str, list[int]]] = {}
    for i in sorted(pool):
        rec = recordings[i]
        table.setdefault(rec.speaker, {}).setdefault(rec.label, []).append(i)
    return table


def generate(pool: Sequence[int], recordings: Sequence[Recording], signals: Sequence[np.ndarray],
             count: int, *, seed: int, stream: int, rate: int, recipe: Recipe) -> list[Utterance]:
    """``count`` utterances from the recordings ``pool`` (indices into ``recordings`` and
    ``signals``, one split's); see the module docstring."""
    recipe.check()
    table = _by_speaker(pool, recordings)
    speakers = sorted(table)
    out = []
    for i in range(count):
        rng = np.random.default_rng([seed, stream, i])
        speaker = speakers[int(rng.integers(len(speakers)))]
        labels = sorted(table[speaker])
        n = int(rng.integers(recipe.min_words, recipe.max_words + 1))
        words, sources = [], []
        for _ in range(n):
            label = labels[int(rng.integers(len(labels)))]
            takes = table[speaker][label]
            words.append(label)
            sources.append(takes[int(rng.integers(len(takes)))])
        pauses = rng.uniform(recipe.pause_min_ms, recipe.pause_max_ms, size=n + 1)
        pieces = []
        for k in range(n + 1):
            pieces.append(np.zeros(int(round(pauses[k] * rate / 1000.0))))
            if k < n:
                pieces.append(signals[sources[k]])
        signal = np.concatenate(pieces)  # (N,)
        signal = signal + recipe.noise * rng.standard_normal(len(signal))
        out.append(Utterance(signal, tuple(words), speaker, tuple(sources)))
    return out


def keep_feasible(utterances: Sequence[Utterance], label_ids: Callable[[Sequence[str]], list],
                  frames: Callable[[int], int]) -> tuple[list[Utterance], int]:
    """The utterances with at least :func:`~seqframe.losses.ctc.min_frames` frames, and how
    many were dropped."""
    kept = [u for u in utterances if frames(len(u.signal)) >= min_frames(label_ids(u.words))]
    return kept, len(utterances) - len(kept)
