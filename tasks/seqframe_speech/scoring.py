"""Word and character error rates from the Levenshtein distance.

``WER = (S + D + I) / N``: the fewest substitutions, deletions and insertions that turn the
hypothesis into the reference, summed over a corpus, over the reference words ``N`` summed over
the same corpus (not a mean of per-utterance rates, so long utterances weigh more). ``CER`` is
the same over the characters of the transcripts written as words joined by single spaces.

Written here (a 15-line dynamic programme) rather than taken from ``jiwer``: the transcripts are
short digit strings, the definition above is all that is needed, and it keeps the ``audio``
extra to scipy alone.
"""

from __future__ import annotations

from collections.abc import Sequence


def edit_distance(reference: Sequence, hypothesis: Sequence) -> int:
    """Levenshtein distance: fewest substitutions, deletions and insertions (each costs 1)."""
    previous = list(range(len(hypothesis) + 1))  # distances from the empty reference prefix
    for i, ref in enumerate(reference, start=1):
        current = [i]
        for j, hyp in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1,  # delete ref
                               current[j - 1] + 1,  # insert hyp
                               previous[j - 1] + (ref != hyp)))  # match or substitute
        previous = current
    return previous[-1]


def error_rate(references: Sequence[Sequence], hypotheses: Sequence[Sequence]) -> float:
    """Total edit distance over total reference length (NaN for an empty reference corpus)."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    errors = sum(edit_distance(r, h) for r, h in zip(references, hypotheses, strict=True))
    total = sum(len(r) for r in references)
    return errors / total if total else float("nan")


def wer(references: Sequence[Sequence[str]], hypotheses: Sequence[Sequence[str]]) -> float:
    """Word error rate of word sequences."""
    return error_rate(references, hypotheses)


def cer(references: Sequence[Sequence[str]], hypotheses: Sequence[Sequence[str]]) -> float:
    """Character error rate of word sequences written as ``" ".join(words)``."""
    return error_rate([" ".join(r) for r in references], [" ".join(h) for h in hypotheses])
