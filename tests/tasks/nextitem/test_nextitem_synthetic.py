"""The generated default data: seeded, and built the way its docstring says."""

from __future__ import annotations

from collections import Counter

import numpy as np
from seqframe_nextitem import synthetic
from seqframe_nextitem.sequences import build

RING = synthetic.RING


def sessions_of(seed: int = 0):
    inter, _ = synthetic.generate(seed)
    seqs, _ = build(inter)
    out = []
    for items, times in zip(seqs.items, seqs.times, strict=True):
        cuts = np.flatnonzero(np.diff(times) > 3600) + 1
        out += [s - 1 for s in np.split(items, cuts)]  # 0-based items, as in the docstring
    return seqs, out


def test_seeded_and_shaped_as_documented():
    a, _ = synthetic.generate(0)
    b, _ = synthetic.generate.__wrapped__(0)  # not the cached copy
    assert np.array_equal(a.items, b.items) and np.array_equal(a.times, b.times)
    assert not np.array_equal(a.items[:500], synthetic.generate(1)[0].items[:500])
    seqs, _ = build(a)
    lengths = [len(s) for s in seqs.items]
    assert len(lengths) == 600 and min(lengths) >= 15 and max(lengths) <= 45
    assert all(len(set(s.tolist())) == len(s) for s in seqs.items)  # nobody repeats an item
    assert a.items.min() == 1 and a.items.max() == 300


def test_sessions_are_hours_apart_and_events_minutes_apart():
    seqs, _ = sessions_of()
    gaps = np.concatenate([np.diff(t) for t in seqs.times])
    assert gaps.min() >= 30 and not ((gaps > 600) & (gaps < 3 * 3600)).any()


def test_momentum_second_order_and_taste_clusters():
    seqs, sessions = sessions_of()
    continued = eligible = 0
    for s in sessions:
        for p0, p1, p2 in zip(s, s[1:], s[2:], strict=False):
            stride = (p1 - p0 + RING // 2) % RING - RING // 2
            if p0 // RING == p1 // RING and stride in synthetic.STRIDES:
                eligible += 1
                continued += p2 == p1 // RING * RING + (p1 % RING + stride) % RING
    # momentum (70%) keeps the stride (a repeat is replaced, so a little less often); the
    # last item alone leaves 4 strides, about 15% each
    assert 0.6 < continued / eligible < 0.8, continued / eligible
    # taste: all but the popular draws (8%) stay in the user's cluster
    own = [Counter((s - 1) // RING).most_common(1)[0][1] / len(s) for s in seqs.items]
    assert 0.8 < np.mean(own) < 0.95, np.mean(own)
    clusters = Counter(Counter((s - 1) // RING).most_common(1)[0][0] for s in seqs.items)
    assert clusters.most_common()[0][1] > 2 * clusters.most_common()[-1][1]  # 30% vs 10%
