"""Translation metrics: corpus BLEU and chrF with sacrebleu, and teacher-forced token loss.

* ``bleu``: corpus BLEU (Papineni et al. 2002) of the detokenised hypotheses against the raw
  reference sentences, one reference each, sacrebleu's defaults (``13a`` tokenisation -- ``zh``
  for a Chinese target --, exponential smoothing) with ``lowercase=True``; 0-100.
* ``bleu_cased``: the same, case-sensitive.
* ``chrf``: chrF (Popovic 2015; character 6-grams, beta 2, case-sensitive), 0-100.
* ``loss``: mean cross-entropy in nats per target token under teacher forcing, over the
  positions of ``target_mask`` (every real token and each sentence's ``<eos>``; never padding).
* ``perplexity``: ``exp(loss)``.

Scoring detokenised text against untouched references, rather than token ids against token ids,
keeps the numbers comparable across tokenizers and with published results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqframe.errors import MissingDependencyError, ShapeError


def import_sacrebleu() -> Any:
    """The ``sacrebleu`` module, or a MissingDependencyError saying how to install it."""
    try:
        import sacrebleu
    except ImportError as exc:
        raise MissingDependencyError(
            "scoring translations needs the 'sacrebleu' package (BLEU and chrF), which is not "
            "installed. Install it with: pip install 'seqframe[translate]'"
        ) from exc
    return sacrebleu


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str],
                  target_lang: str = "") -> dict[str, float]:
    """``bleu`` (lowercased), ``bleu_cased`` and ``chrf`` of a corpus (see the module docstring).

    Raises:
        ShapeError: hypotheses and references differ in number.
    """
    if len(hypotheses) != len(references):
        raise ShapeError(f"{len(hypotheses)} translations for {len(references)} reference "
                         "sentences; expected one translation per sentence.")
    sacrebleu = import_sacrebleu()
    tokenize = "zh" if target_lang == "zh" else "13a"
    hyps, refs = list(hypotheses), [list(references)]
    return {
        "bleu": sacrebleu.BLEU(lowercase=True, tokenize=tokenize).corpus_score(hyps, refs).score,
        "bleu_cased": sacrebleu.BLEU(tokenize=tokenize).corpus_score(hyps, refs).score,
        "chrf": sacrebleu.CHRF().corpus_score(hyps, refs).score,
    }


def token_nll(logits: np.ndarray, target_out: np.ndarray,
              target_mask: np.ndarray) -> tuple[float, int]:
    """Summed cross-entropy (nats) over the masked positions, and how many there are.

    Args:
        logits: (B, T, V) raw scores of the next token.
        target_out: (B, T) int, the tokens to predict.
        target_mask: (B, T) bool, True where a position counts.

    Raises:
        ShapeError: the shapes do not fit together, or a target id is outside ``V``.
    """
    logits = np.asarray(logits)
    if logits.ndim != 3 or logits.shape[:2] != target_out.shape or \
            target_out.shape != target_mask.shape:
        raise ShapeError(
            f"teacher-forced logits have shape {logits.shape} for targets {target_out.shape} "
            f"and mask {target_mask.shape}; expected (B, T, V) logits for (B, T) targets and mask."
        )
    V = logits.shape[2]
    picked = target_out[target_mask]
    if picked.size and not (0 <= picked.min() and picked.max() < V):
        raise ShapeError(f"target id {int(picked.max())} is outside the {V} scores the model "
                         "gives; its output size must equal the target vocabulary size.")
    # (N, V), the positions that count, widened only now: a (B, T, V) float64 copy of a large
    # vocabulary's scores would be hundreds of MB
    rows = logits[target_mask].astype(np.float64)
    top = rows.max(axis=1, keepdims=True)
    # log-sum-exp shifted by the row maximum so large scores cannot overflow exp
    log_z = top[:, 0] + np.log(np.exp(rows - top).sum(axis=1))
    nll = log_z - rows[np.arange(len(rows)), picked]
    return float(nll.sum()), int(len(rows))


def from_nll(total: float, count: int) -> dict[str, float]:
    """``loss`` (nats per token) and ``perplexity`` from a summed NLL over ``count`` tokens."""
    loss = total / count if count else float("nan")
    return {"loss": loss, "perplexity": math.exp(loss) if count else float("nan")}


def teacher_forced_metrics(logits: np.ndarray, target_out: np.ndarray,
                           target_mask: np.ndarray) -> dict[str, float]:
    """``loss`` and ``perplexity`` of one batch's teacher-forced logits (B, T, V)."""
    return from_nll(*token_nll(logits, target_out, target_mask))
