"""Sampling text with fake predictors whose next-character distributions are known."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_charlm.sampling import choose

TEXT = "abcde" * 400


def _cycle_table(v, n, unk_logit=0.0):
    """Logits favouring character (prev + 1) % n, with a given logit for <unk> (id v - 1)."""
    table = np.zeros((v, v))
    for prev in range(v):
        table[prev, (prev + 1) % n] = 3.0
    table[:, v - 1] = unk_logit
    return table


def test_greedy_follows_the_argmax_chain(make_task, fakes):
    task = make_task(TEXT)
    predictor = fakes.Table(_cycle_table(task.vocab.size, 5))
    out = task.sample(predictor, prime="ca", length=7, temperature=1.0, top_k=None, seed=0,
                      greedy=True)
    assert out == "ca" + "bcdeabc"
    assert predictor.calls == 7  # the prime in one call, then one per character but the last


def test_unknown_id_is_never_generated_even_when_most_likely(make_task, fakes):
    task = make_task(TEXT)
    predictor = fakes.Table(_cycle_table(task.vocab.size, 5, unk_logit=10.0))
    assert task.sample(predictor, prime="a", length=4, temperature=1.0, top_k=None, seed=0,
                       greedy=True) == "abcde"
    sampled = task.sample(predictor, prime="a", length=300, temperature=1.0, top_k=None,
                          seed=1, greedy=False)
    assert "<unk>" not in sampled and set(sampled) <= set("abcde")


def test_state_is_carried_from_step_to_step(make_task, fakes):
    task = make_task(TEXT)
    out = task.sample(fakes.Counting(task.vocab.size, 5), prime="a", length=9, temperature=1.0,
                      top_k=None, seed=0, greedy=True)
    assert out == "a" + "bcdeabcde"  # without the state every step would say 'b'


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top_k_one_is_greedy_whatever_the_temperature(make_task, fakes, seed):
    task = make_task(TEXT)
    table = np.random.default_rng(seed).normal(size=(task.vocab.size,) * 2)
    kwargs = {"prime": "ab", "length": 40, "seed": seed}
    greedy = task.sample(fakes.Table(table), temperature=1.0, top_k=None, greedy=True, **kwargs)
    top1 = task.sample(fakes.Table(table), temperature=5.0, top_k=1, greedy=False, **kwargs)
    assert top1 == greedy


def test_same_seed_same_text_other_seed_other_text(make_task, fakes):
    task = make_task(TEXT)
    table = np.zeros((task.vocab.size,) * 2)

    def draw(seed):
        return task.sample(fakes.Table(table), prime="a", length=60, temperature=1.0,
                           top_k=None, seed=seed, greedy=False)

    assert draw(3) == draw(3) and draw(3) != draw(4)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_frequencies_follow_softmax_of_logits_over_temperature(temperature):
    logits = np.array([2.0, 1.0, 0.0, -1.0, 5.0])  # id 4 plays <unk>: banned
    rng = np.random.default_rng(0)
    draws = [choose(logits, rng, temperature, None, False, banned=4) for _ in range(20000)]
    freq = np.bincount(draws, minlength=5) / len(draws)
    expected = np.exp(logits[:4] / temperature) / np.exp(logits[:4] / temperature).sum()
    assert freq[4] == 0
    # 20k draws: binomial standard error <= 0.0036; allow 4 of them.
    assert freq[:4] == pytest.approx(expected, abs=0.015)


def test_top_k_keeps_only_the_k_most_likely():
    logits = np.array([0.5, 3.0, -2.0, 2.5, 1.0])
    rng = np.random.default_rng(0)
    draws = {choose(logits, rng, 10.0, 2, False) for _ in range(500)}
    assert draws == {1, 3}


def test_prime_kept_and_empty_prime_starts_from_a_newline(make_task, fakes):
    task = make_task("ab\ncd\n" * 300)
    table = _cycle_table(task.vocab.size, task.vocab.size - 1)  # '\n' -> 'a' -> 'b' ...
    predictor = fakes.Table(table)
    assert task.sample(predictor, prime="", length=3, temperature=1.0, top_k=None, seed=0,
                       greedy=True) == "abc"
    assert task.sample(predictor, prime="cd", length=0, temperature=1.0, top_k=None, seed=0,
                       greedy=True) == "cd"


def test_write_artefacts_writes_samples_txt(make_task, fakes, tmp_path):
    task = make_task(TEXT, sample_length=25, sample_prime="ab")
    paths = task.write_artefacts(fakes.Uniform(task.vocab.size), tmp_path)
    assert paths == [tmp_path / "samples.txt"]
    text = paths[0].read_text(encoding="utf-8")
    assert len(text) == 27 and text.startswith("ab") and set(text) <= set("abcde")
