"""Scoring questions with the model or a baseline, chunk by chunk, and turning scores into ranks.

The model is run once per sequence a split cuts (a user's history, or a whole session) and its
every-step outputs are read at each question's last history step, so a session of L items costs
one pass, not L. Under leave-one-out the model sees at most the last ``context`` items of a
history (SASRec's ``maxlen``, ``-o max_len``); the baselines always see the whole history.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from seqframe.task import Predictor

from . import ranking
from .protocols import Cases

Chunks = Iterator[tuple[np.ndarray, np.ndarray]]  # (question indices (c,), scores (c, V))


def run_model(predictor: Predictor, windows: list[np.ndarray], width: int) -> Iterator[
        tuple[np.ndarray, np.ndarray]]:
    """Every-step outputs for input item windows, in row chunks of similar length.

    Yields:
        (indices (b,) into ``windows``, outputs (b, T, V) float64); row ``j``'s output at step
        ``t`` has read ``windows[indices[j]][: t + 1]``.
    """
    lengths = np.array([len(w) for w in windows])
    order = np.argsort(-lengths, kind="stable")  # longest first: a chunk's first row is its T
    lo = 0
    while lo < len(order):
        steps = int(lengths[order[lo]])
        idx = order[lo: lo + max(1, ranking.CHUNK_FLOATS // max(1, steps * width))]
        items = np.zeros((len(idx), steps), dtype=np.int64)  # (b, T)
        for r, i in enumerate(idx):
            items[r, : lengths[i]] = windows[i]
        mask = np.arange(steps)[None, :] < lengths[idx][:, None]  # (b, T)
        out, _ = predictor.predict(items, mask)
        yield idx, np.asarray(out, dtype=np.float64)
        lo += len(idx)


def model_chunks(predictor: Predictor, cases: Cases, width: int, context: int | None) -> Chunks:
    """The model's scores for every question of ``cases``."""
    by_seq = np.argsort(cases.seq, kind="stable")
    seq_ids, first = np.unique(cases.seq[by_seq], return_index=True)
    groups = np.split(by_seq, first[1:])  # question indices of each sequence
    starts, windows = [], []
    for s, group in zip(seq_ids, groups, strict=True):
        stop = int(cases.cut[group].max())
        start = max(0, stop - context) if context else 0
        starts.append(start)
        windows.append(cases.sequences[s][start:stop])
    for idx, out in run_model(predictor, windows, width):
        picks = [(q, r, cases.cut[q] - 1 - starts[i]) for r, i in enumerate(idx)
                 for q in groups[i]]
        questions = np.array([q for q, _, _ in picks])
        yield questions, out[[r for _, r, _ in picks], [t for _, _, t in picks]]


def baseline_chunks(baseline, cases: Cases, width: int) -> Chunks:
    """A baseline's scores for every question of ``cases``.

    Where sequences hold several questions (sessions) and the baseline can score all prefixes
    of a sequence at once (``scores_along``), it does, a chunk of sequences at a time.
    """
    step = ranking.chunk_rows(width)
    along = getattr(baseline, "scores_along", None)
    if along is None or len(np.unique(cases.seq)) == len(cases):
        for lo in range(0, len(cases), step):
            idx = np.arange(lo, min(len(cases), lo + step))
            yield idx, baseline.scores(cases.histories(idx))
        return
    by_seq = np.argsort(cases.seq, kind="stable")
    seq_ids, first = np.unique(cases.seq[by_seq], return_index=True)
    groups = np.split(by_seq, first[1:])
    lo = 0
    while lo < len(groups):
        hi, rows = lo, 0
        while hi < len(groups) and (hi == lo or rows + len(groups[hi]) <= step):
            rows += len(groups[hi])
            hi += 1
        idx = np.concatenate(groups[lo:hi])
        yield idx, np.concatenate([along(cases.sequences[seq_ids[g]], cases.cut[groups[g]])
                                   for g in range(lo, hi)])
        lo = hi


def ranks(chunks: Chunks, cases: Cases, negatives: np.ndarray | None,
          exclude_seen: bool) -> dict[str, np.ndarray]:
    """``{"full": (C,), "sampled": (C,)}`` ranks (``sampled`` only with ``negatives``)."""
    targets = cases.targets
    out = {"full": np.full(len(cases), -1, dtype=np.int64)}
    if negatives is not None:
        out["sampled"] = np.full(len(cases), -1, dtype=np.int64)
    for idx, scores in chunks:
        exclude = cases.histories(idx) if exclude_seen else None
        out["full"][idx] = ranking.full_ranks(scores, targets[idx], exclude)
        if negatives is not None:
            out["sampled"][idx] = ranking.sampled_ranks(scores, targets[idx], negatives[idx])
    assert all((r >= 0).all() for r in out.values()), "a question was never scored"
    return out


def loo_metrics(r: dict[str, np.ndarray]) -> dict[str, float]:
    return {"hr@10": ranking.hit_rate(r["sampled"], 10), "ndcg@10": ranking.ndcg(r["sampled"], 10),
            "full_hr@10": ranking.hit_rate(r["full"], 10),
            "full_ndcg@10": ranking.ndcg(r["full"], 10)}


def session_metrics(r: dict[str, np.ndarray]) -> dict[str, float]:
    return {"mrr@20": ranking.mrr(r["full"], 20), "recall@20": ranking.hit_rate(r["full"], 20)}
