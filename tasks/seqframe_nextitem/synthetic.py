"""The built-in data set ``synthetic``: generated interaction logs with structure to learn.

MovieLens may not be redistributed, so the offline default is generated here, seeded. Items
``1..300`` form 5 taste clusters of 60, each arranged on a ring (item ``60 c + p + 1`` sits at
position ``p`` of cluster ``c``). Each of 600 users has one taste cluster (clusters are unequally
popular: 30/25/20/15/10% of users) and 15-45 events in sessions of about 9, separated by hours to
days; within a session events are 30 s - 10 min apart. The next item is chosen by

* **momentum** (70%, second order): keep walking the ring with the stride of the last two items,
  ``p_next = p_1 + (p_1 - p_0)``, for strides of 1 or 2 either way; otherwise (after a jump, or
  at a session's second item) start a random stride. The last item alone leaves four successors
  equally likely; the last two pin one.
* **sequel** (10%, first order): a fixed successor of the last item, in its cluster;
* **taste** (12%): the user's cluster, by a Zipf popularity within the cluster;
* **popular** (8%): any item, by a Zipf popularity over the whole catalogue.

A session starts with a taste draw. Nobody consumes an item twice: a repeat is replaced by a
taste draw among the items the user has not had (any item once the cluster is used up).
Popularity knows the skews, a first-order Markov chain the sequels and a quarter of each momentum
step, item-kNN the clusters; a recurrent model can learn all of it, momentum included.
"""

from __future__ import annotations

import bisect
from functools import lru_cache

import numpy as np

from .readers import Interactions

CLUSTERS, RING = 5, 60
USERS = 600
CLUSTER_SHARE = np.array([0.30, 0.25, 0.20, 0.15, 0.10])
LENGTHS = (15, 45)
RULES = ("momentum", "sequel", "taste", "popular")
RULE_P = np.array([0.70, 0.10, 0.12, 0.08])
STRIDES = (-2, -1, 1, 2)
MEAN_SESSION = 8  # a session has 1 + Geometric(1 / 8) events: 9 on average


def _zipf(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """(n,) probabilities proportional to 1 / rank^exponent, ranks shuffled over the n slots."""
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return rng.permutation(weights / weights.sum())


def _draw(rng: np.random.Generator, cdf: list[float]) -> int:
    """One index drawn with the probabilities whose cumulative sum is ``cdf``."""
    return min(bisect.bisect_right(cdf, rng.random() * cdf[-1]), len(cdf) - 1)


class _World:
    """The fixed parts: popularities and sequels (drawn once from the seed)."""

    def __init__(self, rng: np.random.Generator):
        self.n = CLUSTERS * RING
        self.in_cluster = np.stack([_zipf(rng, RING, 1.0) for _ in range(CLUSTERS)])  # (C, RING)
        self.overall = _zipf(rng, self.n, 1.2)  # (N,) over 0-based items
        # cumulative sums as lists: bisect on a list draws far faster than numpy on scalars
        self.cluster_cdf = np.cumsum(self.in_cluster, axis=1).tolist()
        self.overall_cdf = np.cumsum(self.overall).tolist()
        self.rule_cdf = np.cumsum(RULE_P).tolist()
        pos = np.arange(self.n) % RING
        self.sequel = (np.arange(self.n) // RING) * RING + (pos + rng.integers(3, RING - 3,
                                                                              self.n)) % RING

    def taste(self, rng, cluster: int, had: set[int]) -> int:
        """A draw from the user's cluster among the items not had yet."""
        p = self.in_cluster[cluster].copy()
        p[[i - cluster * RING for i in had if i // RING == cluster]] = 0.0
        if p.sum() == 0:  # the whole cluster is used up: any item the user has not had
            p = np.ones(self.n)
            p[list(had)] = 0.0
            return _draw(rng, np.cumsum(p).tolist())
        return cluster * RING + _draw(rng, np.cumsum(p).tolist())

    def step(self, rng, cluster: int, prev: int, last: int) -> int:
        rule = RULES[_draw(rng, self.rule_cdf)]
        if rule == "momentum":
            stride = (last - prev + RING // 2) % RING - RING // 2  # signed ring offset
            if prev // RING != last // RING or stride not in STRIDES:
                stride = STRIDES[int(rng.integers(len(STRIDES)))]
            return (last // RING) * RING + (last % RING + stride) % RING
        if rule == "sequel":
            return int(self.sequel[last])
        if rule == "taste":
            return cluster * RING + _draw(rng, self.cluster_cdf[cluster])
        return _draw(rng, self.overall_cdf)


def _user(world: _World, rng: np.random.Generator) -> tuple[list[int], list[float]]:
    cluster = _draw(rng, np.cumsum(CLUSTER_SHARE).tolist())
    length = int(rng.integers(LENGTHS[0], LENGTHS[1] + 1))
    items: list[int] = []
    times: list[float] = []
    now = float(rng.uniform(0, 60 * 86400))
    left_in_session = 0
    for _ in range(length):
        if left_in_session == 0:
            left_in_session = 1 + int(rng.geometric(1 / MEAN_SESSION))
            now += float(rng.uniform(3 * 3600, 72 * 3600)) if items else 0.0
            item = world.taste(rng, cluster, set(items))
        else:
            now += float(rng.uniform(30, 600))
            prev = items[-2] if len(items) > 1 else items[-1]
            item = world.step(rng, cluster, prev, items[-1])
            if item in items:
                item = world.taste(rng, cluster, set(items))
        left_in_session -= 1
        items.append(item)
        times.append(round(now))
    return items, times


@lru_cache(maxsize=4)
def generate(seed: int = 0) -> tuple[Interactions, dict[int, str]]:
    """The ``synthetic`` interactions (item ids 1..300, user ids 1..600) and item titles.

    Cached (half a second of Python per call): callers must not modify what it returns.
    """
    rng = np.random.default_rng([seed, 0x5E9])
    world = _World(rng)
    users, items, times = [], [], []
    for u in range(USERS):
        its, ts = _user(world, rng)
        users += [u + 1] * len(its)
        items += [i + 1 for i in its]
        times += ts
    inter = Interactions(np.array(users, dtype=np.int64), np.array(items, dtype=np.int64),
                         np.array(times, dtype=np.float64), np.arange(len(users)),
                         f"synthetic (seed {seed})", "event")
    titles = {i + 1: f"cluster {i // RING} item {i % RING:02d}" for i in range(world.n)}
    return inter, titles
