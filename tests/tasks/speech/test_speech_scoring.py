"""Edit distance, WER and CER against hand-counted errors."""

from __future__ import annotations

import math

import pytest
from seqframe_speech.scoring import cer, edit_distance, wer


@pytest.mark.parametrize("ref, hyp, distance", [
    ("kitten", "sitting", 3),  # k->s, e->i, +g
    ("", "abc", 3),
    ("abc", "", 3),
    ("flaw", "lawn", 2),  # -f, +n
    ("same", "same", 0),
])
def test_edit_distance_by_hand(ref, hyp, distance):
    assert edit_distance(ref, hyp) == distance
    assert edit_distance(list(ref), list(hyp)) == distance


def test_wer_counts_substitutions_and_insertions():
    # one two three / one three three four: two -> three (S), + four (I): 2 errors / 3 words
    ref, hyp = ["one", "two", "three"], ["one", "three", "three", "four"]
    assert wer([ref], [hyp]) == pytest.approx(2 / 3)


def test_wer_is_pooled_over_the_corpus():
    # (1 deletion + 1 insertion) / (2 + 1) reference words, not the mean of 1/2 and 1/1
    assert wer([["a", "b"], ["c"]], [["a"], ["c", "d"]]) == pytest.approx(2 / 3)


def test_cer_counts_characters_of_the_spaced_transcript():
    assert cer([["one"]], [["on"]]) == pytest.approx(1 / 3)
    # "one two" (7 chars) vs "one too": w->o is one substitution
    assert cer([["one", "two"]], [["one", "too"]]) == pytest.approx(1 / 7)
    assert cer([["one", "two"]], [[]]) == pytest.approx(1.0)  # 7 deletions / 7


def test_empty_reference_corpus_is_nan_and_lengths_must_match():
    assert math.isnan(wer([[]], [["a"]]))
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        wer([["a"], ["b"]], [["a"]])
