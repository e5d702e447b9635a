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

Each frame is one vectorised step over all (prefix, symbol) pairs: ``K`` staying prefixes and
``K x (V - 1)`` extensions, of which an extension that equals a prefix already in the beam is
merged into it (``l + c`` of one beam can be another beam's prefix). ``prune`` skips extensions by
symbols whose log-probability is below it (the frame's best symbol always extends): for large
vocabularies; ``None`` (the default) extends by every symbol.
"""

from __future__ import annotations

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


def beam_search(log_probs: np.ndarray, width: int = 8, blank: int = 0,
                prune: float | None = None) -> tuple[list[int], float]:
    """Prefix beam search over ``log_probs`` (T, V): (best labels, its log-probability).

    Ties keep the candidate found first (staying prefixes before extensions, beams in order).
    """
    if width < 1:
        raise ValueError(f"beam width must be at least 1, got {width}")
    log_probs = np.asarray(log_probs, dtype=np.float64)
    symbols = np.array([k for k in range(log_probs.shape[1]) if k != blank])  # (V - 1,)
    column = {int(k): i for i, k in enumerate(symbols)}
    prefixes: list[Prefix] = [()]
    p_b, p_nb = np.zeros(1), np.full(1, -np.inf)  # (K,) the empty prefix, ended by a blank
    for y in log_probs:
        total = np.logaddexp(p_b, p_nb)  # (K,)
        last = np.array([p[-1] if p else -1 for p in prefixes])  # (K,)
        stay_b = total + y[blank]
        stay_nb = np.where(last >= 0, p_nb + y[np.maximum(last, 0)], -np.inf)
        # a label equal to the prefix's last one extends it only across a blank
        base = np.where(symbols[None, :] == last[:, None], p_b[:, None], total[:, None])
        grow = base + y[symbols][None, :]  # (K, V - 1)
        if prune is not None:
            grow[:, (y[symbols] < prune) & (symbols != int(np.argmax(y)))] = -np.inf
        where = {p: k for k, p in enumerate(prefixes)}
        for j, p in enumerate(prefixes):
            k = where.get(p[:-1]) if p else None
            if k is not None:  # prefix k + p[-1] is beam j: one prefix, one entry
                stay_nb[j] = np.logaddexp(stay_nb[j], grow[k, column[p[-1]]])
                grow[k, column[p[-1]]] = -np.inf
        scores = np.concatenate([np.logaddexp(stay_b, stay_nb), grow.ravel()])
        keep = [i for i in np.argsort(-scores, kind="stable")[:width] if scores[i] > -np.inf]
        K = len(prefixes)
        new_prefixes, new_b, new_nb = [], [], []
        for i in keep:
            if i < K:
                new_prefixes.append(prefixes[i])
                new_b.append(stay_b[i])
                new_nb.append(stay_nb[i])
            else:
                k, c = divmod(i - K, len(symbols))
                new_prefixes.append(prefixes[k] + (int(symbols[c]),))
                new_b.append(-np.inf)
                new_nb.append(grow[k, c])
        prefixes, p_b, p_nb = new_prefixes, np.array(new_b), np.array(new_nb)
    totals = np.logaddexp(p_b, p_nb)
    best = int(np.argmax(totals))
    return list(prefixes[best]), float(totals[best])
