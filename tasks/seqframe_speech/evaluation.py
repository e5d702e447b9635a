"""Running a predictor over feature sequences, and the CTC mode's scores and artefacts.

Sequences are grouped by length so each predictor call carries little padding. Words mode reads
one score vector per sequence (readout ``mean``/``last``), CTC mode one per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqframe.task import Predictor

from . import decode, scoring
from .batching import BLANK, pad_features, pad_labels

EVAL_ROWS = 128  # sequences per predictor call


def class_scores(predictor: Predictor, features: Sequence[np.ndarray], n_out: int) -> np.ndarray:
    """Words mode: logits ``(N, O)`` of every sequence."""
    order = np.argsort([len(f) for f in features], kind="stable")
    out = np.empty((len(features), n_out))  # (N, O)
    for start in range(0, len(order), EVAL_ROWS):
        rows = order[start : start + EVAL_ROWS]
        inputs, mask = pad_features([features[r] for r in rows])
        scores, _ = predictor.predict(inputs, mask)
        out[rows] = np.asarray(scores, dtype=np.float64)
    return out


def frame_log_probs(predictor: Predictor, features: Sequence[np.ndarray]) -> list[np.ndarray]:
    """CTC mode: the log-softmax ``(T_i, V)`` of every sequence's valid frames."""
    order = np.argsort([len(f) for f in features], kind="stable")
    out: list[np.ndarray] = [np.empty(0)] * len(features)
    for start in range(0, len(order), EVAL_ROWS):
        rows = order[start : start + EVAL_ROWS]
        inputs, mask = pad_features([features[r] for r in rows])
        scores, _ = predictor.predict(inputs, mask)
        scores = np.asarray(scores, dtype=np.float64)  # (B, T, V)
        scores = scores - scores.max(axis=2, keepdims=True)
        log_probs = scores - np.log(np.exp(scores).sum(axis=2, keepdims=True))
        for k, r in enumerate(rows):
            out[r] = log_probs[k, : len(features[r])]
    return out


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(N, O)`` scores."""
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def decode_all(log_probs: Sequence[np.ndarray], decoder: str, width: int
               ) -> list[tuple[list[int], float]]:
    """``(label ids, log-probability)`` of every sequence by ``greedy`` or ``beam``."""
    if decoder == "greedy":
        return [decode.greedy(lp, BLANK) for lp in log_probs]
    return [decode.beam_search(lp, width, BLANK) for lp in log_probs]


def ctc_nll(log_probs: Sequence[np.ndarray], targets: Sequence[Sequence[int]]) -> np.ndarray:
    """``-ln p(l | x)`` of every sequence: CTC's forward recursion on the host, NumPy float64.

    Evaluation needs the loss only, not its gradient, so this is the ``alpha`` half of
    :func:`seqframe.losses.ctc.ctc_loss` in plain NumPy (``-inf`` for ``log 0``; ``logaddexp``
    handles it), over padded chunks of ``EVAL_ROWS`` sequences. An infeasible pair gives ``inf``.
    """
    out = np.empty(len(log_probs))
    for start in range(0, len(log_probs), EVAL_ROWS):
        stop = min(start + EVAL_ROWS, len(log_probs))
        out[start:stop] = _nll_chunk(log_probs[start:stop], targets[start:stop])
    return out


def _nll_chunk(log_probs: Sequence[np.ndarray], targets: Sequence[Sequence[int]]) -> np.ndarray:
    padded, mask = pad_features([np.asarray(lp, dtype=np.float64) for lp in log_probs])
    B, T, _ = padded.shape
    labels, counts = pad_labels(targets), np.array([len(t) for t in targets])  # (B, L), (B,)
    S = 2 * labels.shape[1] + 1
    ext = np.full((B, S), BLANK, dtype=np.int64)  # (B, S): blank, l_1, blank, l_2, ..., blank
    ext[:, 1::2] = labels
    skip = np.zeros((B, S), dtype=bool)  # may alpha[s] come from s - 2
    skip[:, 2:] = (ext[:, 2:] != BLANK) & (ext[:, 2:] != ext[:, :-2])
    lpe = np.take_along_axis(padded, np.broadcast_to(ext[:, None, :], (B, T, S)), axis=2)
    alpha = np.full((B, S), -np.inf)  # (B, S); symbols past 2 L_b + 1 only feed rightwards
    alpha[:, :2] = lpe[:, 0, :2]
    gap = np.full((B, 2), -np.inf)
    for t in range(1, T):
        one = np.concatenate([gap[:, :1], alpha[:, :-1]], axis=1)  # alpha[s - 1]
        two = np.where(skip, np.concatenate([gap, alpha[:, :-2]], axis=1), -np.inf)
        grown = lpe[:, t] + np.logaddexp(np.logaddexp(alpha, one), two)
        alpha = np.where(mask[:, t, None], grown, alpha)  # a row's alpha stops at its end
    rows = np.arange(B)
    before = np.where(counts > 0, alpha[rows, np.maximum(2 * counts - 1, 0)], -np.inf)
    return -np.logaddexp(alpha[rows, 2 * counts], before)


def ctc_metrics(log_probs: Sequence[np.ndarray], targets: Sequence[Sequence[int]],
                labels: Sequence[str], decoder: str, width: int) -> dict[str, float]:
    """``loss`` (CTC nats per frame), ``wer``/``cer`` (the configured decoder), and
    ``wer_greedy``, ``wer_beam``, ``cer_greedy``, ``cer_beam``."""
    refs = [[labels[k - 1] for k in t] for t in targets]
    out = {"loss": float(ctc_nll(log_probs, targets).sum() / sum(len(lp) for lp in log_probs))}
    for name in ("greedy", "beam"):
        hyps = [[labels[k - 1] for k in ids] for ids, _ in decode_all(log_probs, name, width)]
        out[f"wer_{name}"] = scoring.wer(refs, hyps)
        out[f"cer_{name}"] = scoring.cer(refs, hyps)
    out["wer"], out["cer"] = out[f"wer_{decoder}"], out[f"cer_{decoder}"]
    return out


def write_transcripts(path: Path, names: Sequence[str], refs: Sequence[Sequence[str]],
                      greedy: Sequence[Sequence[str]], beam: Sequence[Sequence[str]]) -> Path:
    """``transcripts.txt``: per utterance its reference and both decodings, errors counted."""
    lines = ["# utterance | errors greedy/beam | reference | greedy | beam"]
    for name, r, g, b in zip(names, refs, greedy, beam, strict=True):
        lines.append(f"{name} | {scoring.edit_distance(r, g)}/{scoring.edit_distance(r, b)} | "
                     f"{' '.join(r)} | {' '.join(g)} | {' '.join(b)}")
    lines.append(f"# WER greedy {scoring.wer(refs, greedy):.4f}, "
                 f"beam {scoring.wer(refs, beam):.4f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def posteriors_png(path: Path, features: np.ndarray, log_probs: np.ndarray,
                   class_names: Sequence[str], title: str) -> Path:
    """One utterance's features (top) and CTC posteriors over time (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    try:
        top.imshow(features.T, aspect="auto", origin="lower", cmap="viridis")
        top.set_ylabel("feature")
        top.set_title(title, fontsize=9)
        probs = np.exp(log_probs)
        for k, name in enumerate(class_names):
            bottom.plot(probs[:, k], label=name, linestyle=":" if k == BLANK else "-")
        bottom.set_xlabel("frame (10 ms)")
        bottom.set_ylabel("posterior")
        bottom.legend(fontsize=7, ncol=6, loc="upper right")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
