"""BLEU / chrF through sacrebleu, teacher-forced loss, and evaluate() with stand-in models."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqframe_translate.metrics import corpus_scores, teacher_forced_metrics, token_nll
from seqframe_translate.task import TranslateTask
from seqframe_translate.words import tokenize

from seqframe.errors import ShapeError


def test_teacher_forced_loss_by_hand():
    logits = np.zeros((2, 2, 3))  # (B, T, V)
    logits[0, 1] = np.log([1.0, 2.0, 1.0])  # softmax (1/4, 1/2, 1/4)
    logits[1, 0] = [1000.0, 0.0, 0.0]  # naive exp would overflow; p(0) = 1 - 2e-1000
    logits[1, 1] = [5.0, 5.0, 5.0]  # padding: must not count
    target_out = np.array([[1, 1], [0, 2]])
    mask = np.array([[True, True], [True, False]])
    # nll: ln 3 (uniform) + ln 2 (p = 1/2) + 0, over 3 tokens
    got = teacher_forced_metrics(logits, target_out, mask)
    assert got["loss"] == pytest.approx(math.log(6) / 3, abs=1e-12)
    assert got["perplexity"] == pytest.approx(6 ** (1 / 3), abs=1e-12)
    assert token_nll(logits, target_out, mask) == (pytest.approx(math.log(6)), 3)


def test_teacher_forced_shape_errors():
    with pytest.raises(ShapeError, match=r"logits have shape \(2, 3\) for targets \(2, 3\)"):
        token_nll(np.zeros((2, 3)), np.zeros((2, 3), int), np.ones((2, 3), bool))
    with pytest.raises(ShapeError, match="target id 7 is outside the 3 scores"):
        token_nll(np.zeros((1, 1, 3)), np.array([[7]]), np.array([[True]]))


def test_bleu_by_hand_and_case():
    # 1- to 4-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths, so no brevity penalty
    expected = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    got = corpus_scores(["The cat sat on the mat"], ["the cat sat on a mat"])
    assert got["bleu"] == pytest.approx(expected, abs=1e-9)  # lowercased
    assert got["bleu_cased"] < got["bleu"]  # "The" no longer matches "the"
    same = corpus_scores(["A dog runs."], ["A dog runs."])
    assert same == {"bleu": pytest.approx(100), "bleu_cased": pytest.approx(100),
                    "chrf": pytest.approx(100)}
    assert 0 < corpus_scores(["a dog runs."], ["A dog runs."])["chrf"] < 100  # case-sensitive
    with pytest.raises(ShapeError, match="1 translations for 2 reference sentences"):
        corpus_scores(["a"], ["a", "b"])


@pytest.fixture(scope="module")
def sample_task():
    task = TranslateTask({"min_freq": 1, "lowercase": False, "beam": 4})
    task.prepare()
    return task


def test_copying_the_reference_scores_100(sample_task, fakes):
    task = sample_task
    words = set(task.target.vocab.tokens)
    assert all(set(tokenize(t, "en")) <= words for t in task.pairs["test"].target)  # no <unk>
    predictor = fakes.Reference(task, "test")
    got = task.evaluate(predictor, "test")
    assert got["bleu"] == pytest.approx(100) and got["bleu_cased"] == pytest.approx(100)
    assert got["chrf"] == pytest.approx(100)
    # uniform logits: every token has probability 1/V
    V = task.target.size
    assert got["loss"] == pytest.approx(math.log(V)) and got["perplexity"] == pytest.approx(V)
    # the decoding budget of each sentence: 1.5 x its source's tokens + 10; beam from the
    # options, the default length penalty
    assert {beam for beam, _, _ in predictor.calls} == {4}
    assert {penalty for _, _, penalty in predictor.calls} == {1.0}
    budgets = {n: b for _, call, _ in predictor.calls for n, b in call.items()}
    assert budgets == {len(s): int(1.5 * len(s)) + 10 for s in task.encoded["test"][0]}


def test_copying_the_source_scores_near_zero(sample_task, fakes):
    got = sample_task.evaluate(fakes.SourceCopy(sample_task, "val"), "val")
    assert got["bleu"] < 5 and got["chrf"] < 30


def test_copying_the_source_of_an_identity_corpus_scores_100(tmp_path, corpus, fakes):
    folder = corpus.folder(tmp_path, src="xx", tgt="yy")
    for split in ("train", "val", "test"):
        (folder / f"{split}.yy").write_text((folder / f"{split}.xx").read_text())
    task = TranslateTask({"src": "xx", "tgt": "yy", "min_freq": 1, "lowercase": False},
                         str(folder))
    task.prepare()
    got = task.evaluate(fakes.SourceCopy(task, "test"), "test")
    assert got["bleu_cased"] == pytest.approx(100) and got["chrf"] == pytest.approx(100)


def test_translations_count_must_match(sample_task, fakes):
    class Short(fakes.Reference):
        def translate(self, source, source_mask, *, beam, max_len, length_penalty=1.0):
            return super().translate(source, source_mask, beam=beam, max_len=max_len)[1:]

    with pytest.raises(ShapeError, match="returned 99 translations for a batch of 100"):
        sample_task.evaluate(Short(sample_task, "test"), "test")


def test_translate_sentences_keeps_the_order(sample_task, fakes):
    task = sample_task
    predictor = fakes.Reference(task, "test")
    sentences = task.pairs["test"].source[:5][::-1]
    assert task.translate_sentences(predictor, sentences) == task.pairs["test"].target[:5][::-1]
    task.translate_sentences(predictor, sentences, beam=5)
    assert predictor.calls[0][0] == 4 and predictor.calls[-1][0] == 5  # -o beam, then the call's


@pytest.mark.slow
def test_multi30k_reference_scores_100_through_sentencepiece(shared_data, fakes):
    # subword pieces have no <unk> and decode back to the raw text: a perfect model scores 100
    task = TranslateTask({"tokenizer": "spm", "lowercase": False}, str(shared_data / "multi30k"))
    task.prepare()
    got = task.evaluate(fakes.Reference(task, "test"), "test")
    assert got["bleu_cased"] == pytest.approx(100) and got["chrf"] == pytest.approx(100)
    assert got["perplexity"] == pytest.approx(task.target.size)
