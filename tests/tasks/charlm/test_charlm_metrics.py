"""charlm metrics and baselines against hand-computed values and an independent reference."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from seqframe_charlm.metrics import metrics_from_nll, nll_of_logits
from seqframe_charlm.ngram import KneserNeyLM, unigram_nll

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def test_uniform_logits_give_log_v_exactly(make_task, fakes):
    task = make_task(TEXT, eval_streams=7)
    v = task.vocab.size
    metrics = task.evaluate(fakes.Uniform(v), "val")
    assert metrics["loss"] == pytest.approx(math.log(v), rel=1e-12)
    assert metrics["bits_per_char"] == pytest.approx(math.log2(v), rel=1e-12)
    assert metrics["perplexity"] == pytest.approx(v, rel=1e-9)
    assert task.baselines("val")["uniform"]["loss"] == pytest.approx(math.log(v), rel=1e-12)


def _two_back_nll(ids, hit, v, starts, lengths):
    """Hand computation: target i of a stream is predicted from input i - 1 of that stream."""
    total = 0.0
    for start, length in zip(starts, lengths, strict=True):
        for i in range(length):  # input at start + i, target at start + i + 1
            if i == 0:
                total += math.log(v)  # no previous input yet: uniform
            elif ids[start + i + 1] == ids[start + i - 1]:
                total -= math.log(hit)
            else:
                total -= math.log((1 - hit) / (v - 1))
    return total / (len(ids) - 1)


@pytest.mark.parametrize("streams", [1, 3, 8])
def test_stateful_scoring_carries_state_across_chunks_and_masks_padding(make_task, fakes,
                                                                         streams):
    text = "abracadabra, alakazam! " * 60  # val: 138 characters, 137 targets
    task = make_task(text, eval_streams=streams)
    ids, v = task._ids["val"], task.vocab.size
    from seqframe_charlm import metrics as metrics_module

    metrics_module.EVAL_CHUNK, saved = 5, metrics_module.EVAL_CHUNK  # many chunk boundaries
    try:
        got = task.evaluate(fakes.RepeatTwoBack(v), "val")["loss"]
    finally:
        metrics_module.EVAL_CHUNK = saved
    from seqframe_charlm.streams import eval_layout

    starts, lengths = eval_layout(len(ids) - 1, streams)
    assert lengths.sum() == len(ids) - 1
    assert got == pytest.approx(_two_back_nll(ids, 0.9, v, starts, lengths), rel=1e-6)


def test_nll_of_logits_is_stable_and_matches_softmax():
    logits = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    nll = nll_of_logits(logits, np.array([0, 2]))
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert nll[0] == pytest.approx(0.0, abs=1e-12)
    assert nll[1] == pytest.approx(-math.log(p[2]), rel=1e-12)


def test_metric_conversions():
    m = metrics_from_nll(2 * math.log(2) * 10, 10)  # 2 bits per character
    assert m["bits_per_char"] == pytest.approx(2.0) and m["perplexity"] == pytest.approx(4.0)


def test_unigram_is_add_one_smoothed():
    train = np.array([0, 0, 1])  # V = 3: 'a' twice, 'b' once, <unk> never
    nll = unigram_nll(train, np.array([1, 0, 2]), 3)
    assert nll == pytest.approx([-math.log(3 / 6), -math.log(1 / 6)])


def test_kneser_ney_unigram_hand_computed():
    # Train "ab", order 1: raw counts 1, 1 -> too few counts to estimate discounts, D = 0.5.
    # total 2, gamma = 0.5 * 2 = 1; p(a) = (1 - 0.5 + 1 * 1/3) / 2 = 5/12, p(<unk>) = 1/6.
    lm = KneserNeyLM(np.array([0, 1]), 3, order=1)
    assert lm.next_probs(np.array([0])) == pytest.approx([5 / 12, 5 / 12, 1 / 6])


def test_kneser_ney_bigram_hand_computed():
    # Train "abc" (V = 4 with <unk>), order 2, all discounts 0.5.
    # Unigram continuation counts: a 0, b 1, c 1 -> p1 = (0 + 1/4, 1/2 + 1/4, 1/2 + 1/4, 1/4) / 2.
    # Context 'a' (seen once, followed by b): p2(b|a) = 1/2 + 1/2 p1(b) = 11/16.
    # Context 'c' was never followed by anything: back off to p1.
    lm = KneserNeyLM(np.array([0, 1, 2]), 4, order=2)
    assert lm.next_probs(np.array([0])) == pytest.approx([1 / 16, 11 / 16, 3 / 16, 1 / 16])
    nll = lm.nll(np.array([0, 1, 2, 0]))  # "abca"
    assert nll == pytest.approx([-math.log(11 / 16), -math.log(11 / 16), -math.log(1 / 8)])


def _reference_modified_kn(train: str, val: str, order: int, vocab: int) -> list[float]:
    """Independent dict-and-string implementation of interpolated modified Kneser-Ney."""
    counts = {order: Counter(train[i : i + order] for i in range(len(train) - order + 1))}
    for k in range(order - 1, 0, -1):
        types = {train[i : i + k + 1] for i in range(len(train) - k)}
        counts[k] = Counter(g[1:] for g in types)
    disc, total, n_by = {}, {}, {}
    for k in range(1, order + 1):
        coc = Counter(counts[k].values())
        n1, n2, n3, n4 = (coc[i] for i in (1, 2, 3, 4))
        if n1 == 0 or n2 == 0:
            d = [0, 0.5, 0.5, 0.5]
        else:
            y = n1 / (n1 + 2 * n2)
            d = [0, 1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3 if n3 else y]
            d = [min(max(x, 0), c) for c, x in enumerate(d)]
        disc[k] = d
        total[k], n_by[k] = defaultdict(float), defaultdict(float)
        for gram, c in counts[k].items():
            total[k][gram[:-1]] += c
            n_by[k][gram[:-1]] += d[min(c, 3)]
    out = []
    for t in range(1, len(val)):
        p = 1 / vocab
        for k in range(1, min(order, t + 1) + 1):
            h = val[t - k + 1 : t]
            if total[k].get(h, 0) == 0:
                continue
            c = counts[k].get(h + val[t], 0)
            p = (max(c - disc[k][min(c, 3)], 0) + n_by[k][h] * p) / total[k][h]
        out.append(-math.log(p))
    return out


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_kneser_ney_matches_an_independent_reference(order):
    rng = np.random.default_rng(order)
    # A text with structure: words from a small lexicon, so higher orders matter.
    words = ["to", "be", "or", "not", "that", "is", "the", "question", "whether", "tis"]
    text = " ".join(rng.choice(words, size=900))
    train, val = text[:4000], text[4000:4600] + "Z"  # 'Z' unseen: the <unk> id
    chars = sorted(set(train))
    enc = {c: i for i, c in enumerate(chars)}
    v = len(chars) + 1

    def encode(s):
        return np.array([enc.get(c, v - 1) for c in s])

    lm = KneserNeyLM(encode(train), v, order)
    expected = _reference_modified_kn(train, val.replace("Z", "\x00"), order, v)
    assert lm.nll(encode(val)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("context", [[0], [1, 2, 3], [4, 4, 4, 4, 4, 4], [9, 0, 3, 1]])
def test_kneser_ney_distributions_sum_to_one(context):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 6, size=3000) * (rng.random(3000) < 0.8)  # skewed, some ids 0
    lm = KneserNeyLM(train, 10, order=4)  # ids 6..9 never seen in training
    probs = lm.next_probs(np.array(context))
    assert probs.sum() == pytest.approx(1.0, abs=1e-12) and np.all(probs > 0)


def test_baselines_score_the_same_split_and_rank_sensibly(make_task):
    task = make_task(TEXT)
    base = task.baselines("val")
    assert set(base) == {"uniform", "unigram", "kneser_ney_5gram"}
    assert set(base["unigram"]) == {"loss", "bits_per_char", "perplexity"}
    # A repeated sentence: the 5-gram nearly memorises it, unigram sits between.
    assert base["kneser_ney_5gram"]["loss"] < 0.5 < base["unigram"]["loss"]
    assert base["unigram"]["loss"] < base["uniform"]["loss"]


def test_tinyshakespeare_5gram_baseline_figure():
    """The published figures (docs/benchmarks.md): nanoGPT's split, no test part."""
    import time

    from seqframe_charlm.task import CharLMTask

    task = CharLMTask({"test_fraction": 0.0})
    task.prepare()
    began = time.perf_counter()
    base = task.baselines("val")
    assert time.perf_counter() - began < 10
    assert base["kneser_ney_5gram"]["loss"] == pytest.approx(1.5612, abs=1e-3)
    assert base["unigram"]["loss"] == pytest.approx(3.3473, abs=1e-3)


def test_default_test_split_leaves_the_validation_figures_comparable():
    """The default holds out the first 5% for test; validation is the same text and the
    5-gram, trained on 5% less text, scores it within 0.002 nats/char of the published 1.561."""
    from seqframe_charlm.task import CharLMTask

    task = CharLMTask()
    task.prepare()
    assert len(task._ids["val"]) == 111_539 and len(task._ids["test"]) == 55_770
    base = task.baselines("val")
    assert base["kneser_ney_5gram"]["loss"] == pytest.approx(1.5623, abs=1e-3)
    assert base["unigram"]["loss"] == pytest.approx(3.3473, abs=2e-3)
    assert task.baselines("test")["kneser_ney_5gram"]["loss"] == pytest.approx(1.4936, abs=1e-3)
