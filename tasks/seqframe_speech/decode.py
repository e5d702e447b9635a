"""CTC decoding on the host: best path (greedy) and prefix beam search.

Both take ``log_probs`` (T, V), the log-softmax of one utterance's valid frames, and return the
label ids (blank removed) with a log-probability score.

* **Greedy** (best path): the most probable symbol of each frame, repeats merged, blanks dropped.
  Its score is the log-probability of that single path.
* **Prefix beam search** (Graves 2012, ch. 7; Hannun et al. 2014): keeps the ``width`` most
  probable label prefixes, each with two log-probabilities, of the paths that collapse to it
  ending in a blank (``p_b``) or in its last label (``p_nb``). A frame extends prefix ``l`` by::

      blank:           p_b(l)      += y_blank (p_b(l) + p_nb(l))
      c = last(l):     p_nb(l)     += y_c p_nb(l)        (the repeat merges)
                       p_nb(l + c) += y_c p_b(l)         (a blank separated them)
      c != last(l):    p_nb(l + c) += y_c (p_b(l) + p_nb(l))

  and keeps the ``width`` prefixes with the largest ``p_b + p_nb``. The score is the best
  prefix's ``log(p_b + p_nb)``: the probability of *all* its alignments, which is why it can beat
  greedy (several likely paths to one labelling outweigh the single best path). With
  ``width`` >= the number of prefixes reachable, every score is exact.

``prune`` skips, per frame, symbols whose log-probability is below it (the frame's best symbol
is always kept): with the peaky posteriors of a trained CTC model this cuts most of the work and
changes scores by at most ``e^prune`` per frame; ``None`` considers every symbol.
"""

from __future__ import annotations

import math

import numpy as np

Prefix = tuple[int, ...]


def greedy(log_probs: np.ndarray, blank: int = 0) -> tuple[list[int], float]:
    """Best-path decoding of ``log_probs`` (T, V): (labels, log-probability of the path)."""
    best = np.argmax(log_probs, axis=1)  # (T,)
    score = float(log_probs[np.arange(len(best)), best].sum())
    labels, previous = [], blank
    for symbol in best.tolist():
        if symbol != blank and symbol != previous:
            labels.append(symbol)
        previous = symbol
    return labels, score


def _add(table: dict[Prefix, list[float]], prefix: Prefix, which: int, value: float) -> None:
    """``table[prefix][which] = log(e^old + e^value)`` (which 0: p_b, 1: p_nb)."""
    entry = table.setdefault(prefix, [-math.inf, -math.inf])
    old = entry[which]
    if old == -math.inf:
        entry[which] = value
    else:
        top = max(old, value)
        entry[which] = top + math.log1p(math.exp(-abs(old - value)))


def _total(entry: list[float]) -> float:
    p_b, p_nb = entry
    if p_b == -math.inf and p_nb == -math.inf:
        return -math.inf
    top = max(p_b, p_nb)
    return top + math.log1p(math.exp(-abs(p_b - p_nb)))


def beam_search(log_probs: np.ndarray, width: int = 8, blank: int = 0,
                prune: float | None = -12.0) -> tuple[list[int], float]:
    """Prefix beam search over ``log_probs`` (T, V): (best labels, its log-probability).

    Ties keep the prefix found first (shorter prefixes are generated before their extensions).
    """
    if width < 1:
        raise ValueError(f"beam width must be at least 1, got {width}")
    beams: dict[Prefix, list[float]] = {(): [0.0, -math.inf]}  # the empty prefix, ended by blank
    for frame in np.asarray(log_probs, dtype=np.float64):
        symbols = range(len(frame))
        if prune is not None:
            symbols = [k for k in symbols if frame[k] >= prune or k == int(np.argmax(frame))]
        step: dict[Prefix, list[float]] = {}
        for prefix, entry in beams.items():
            p_b, p_nb = entry
            p_all = _total(entry)
            last = prefix[-1] if prefix else None
            for k in symbols:
                y = float(frame[k])
                if k == blank:
                    _add(step, prefix, 0, y + p_all)
                elif k == last:
                    _add(step, prefix, 1, y + p_nb)
                    _add(step, prefix + (k,), 1, y + p_b)
                else:
                    _add(step, prefix + (k,), 1, y + p_all)
        ranked = sorted(step.items(), key=lambda item: _total(item[1]), reverse=True)
        beams = dict(ranked[:width])
    best, entry = max(beams.items(), key=lambda item: _total(item[1]))
    return list(best), _total(entry)
