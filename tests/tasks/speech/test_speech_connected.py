"""Connected-digit utterances: one speaker each, only the pool's recordings, seeded, laid out
as documented (pause, word, pause, ..., word, pause)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from seqframe_speech import connected
from seqframe_speech.sources import Recording

from seqframe.errors import ConfigError

RATE = 1000  # 1 sample per ms keeps the arithmetic readable


def fake_pool():
    """2 speakers x 3 words x 2 takes; recording i's signal is the constant i + 1, 30 + i long."""
    recs, signals = [], []
    for speaker in ("ann", "ben"):
        for word in ("zero", "one", "two"):
            for take in (0, 1):
                i = len(recs)
                recs.append(Recording(Path(f"{i}.wav"), word, speaker, take, f"{i}.wav"))
                signals.append(np.full(30 + i, float(i + 1)))
    return recs, signals


def make(count, pool=None, seed=0, stream=0, **recipe):
    recs, signals = fake_pool()
    pool = range(len(recs)) if pool is None else pool
    recipe = connected.Recipe(**{"noise": 0.0, **recipe})
    return recs, signals, connected.generate(list(pool), recs, signals, count, seed=seed,
                                             stream=stream, rate=RATE, recipe=recipe)


def test_layout_speaker_and_words():
    recs, signals, utterances = make(40)
    lengths = set()
    for u in utterances:
        n = len(u.words)
        lengths.add(n)
        assert 1 <= n <= 7 and len(u.sources) == n
        assert {recs[s].speaker for s in u.sources} == {u.speaker}  # one speaker
        assert tuple(recs[s].label for s in u.sources) == u.words
        # walk the signal: a pause of 50-250 zeros, then the source's samples, ...
        pos = 0
        for k in range(n + 1):
            start = pos
            while pos < len(u.signal) and u.signal[pos] == 0.0:
                pos += 1
            assert 50 <= pos - start <= 250
            if k < n:
                src = signals[u.sources[k]]
                np.testing.assert_array_equal(u.signal[pos : pos + len(src)], src)
                pos += len(src)
        assert pos == len(u.signal)
    assert lengths == set(range(1, 8))  # 40 draws reach every length


def test_only_the_pool_is_used():
    recs, _, utterances = make(30, pool=[0, 1, 2, 3])  # ann's zeros and ones only
    used = {s for u in utterances for s in u.sources}
    assert used <= {0, 1, 2, 3} and {u.speaker for u in utterances} == {"ann"}
    assert {w for u in utterances for w in u.words} == {"zero", "one"}


def test_seeded_and_independent_of_the_count():
    _, _, a = make(12, seed=5)
    _, _, b = make(4, seed=5)
    for x, y in zip(a[:4], b, strict=True):
        np.testing.assert_array_equal(x.signal, y.signal)
        assert x.words == y.words
    _, _, other_stream = make(4, seed=5, stream=1)
    _, _, other_seed = make(4, seed=6)
    assert [u.sources for u in other_stream] != [u.sources for u in b]
    assert [u.sources for u in other_seed] != [u.sources for u in b]


def test_noise_level():
    _, _, (u,) = make(1, noise=0.01, pause_min_ms=200, pause_max_ms=250)
    lead = u.signal[:200]  # the first pause: noise only
    assert lead.std() == pytest.approx(0.01, rel=0.25) and abs(lead.mean()) < 0.005


def test_word_count_range():
    _, _, utterances = make(20, min_words=3, max_words=3)
    assert {len(u.words) for u in utterances} == {3}


@pytest.mark.parametrize("recipe, match", [
    (dict(min_words=0), "1 <= ctc_min_words <= ctc_max_words"),
    (dict(min_words=4, max_words=3), "1 <= ctc_min_words <= ctc_max_words"),
    (dict(pause_min_ms=100, pause_max_ms=50), "ctc_pause_min_ms <= ctc_pause_max_ms"),
    (dict(noise=-1.0), "ctc_noise >= 0"),
])
def test_bad_recipes(recipe, match):
    with pytest.raises(ConfigError, match=match):
        make(1, **recipe)


def test_too_short_utterances_are_dropped_and_counted():
    words = ("one", "one", "two")  # CTC needs 3 labels + 1 blank between the ones = 4 frames
    short = connected.Utterance(np.zeros(3), words, "ann", (0, 1, 2))
    long = connected.Utterance(np.zeros(4), words, "ann", (0, 1, 2))
    ids = {"one": 1, "two": 2}
    kept, dropped = connected.keep_feasible([short, long], lambda w: [ids[x] for x in w],
                                            frames=lambda n: n)  # one frame per sample
    assert kept == [long] and dropped == 1
