"""The task as a plugin: its class contract, listing, stored state, and the spec it returns."""

from __future__ import annotations

import json

import pytest
from seqframe_translate.contract import Seq2SeqSpec
from seqframe_translate.task import TranslateTask

from seqframe.testing.taskcheck import check_task_class


def test_class_passes_the_conformance_class_checks():
    # the whole TaskConformance suite runs in tests/testing/test_builtin_conformance.py
    check_task_class(TranslateTask)


def test_listed_by_seqframe_tasks(sf):
    code, out, _ = sf("tasks", "translate")
    assert code == 0
    for option in ("src", "tgt", "tokenizer", "vocab_size", "min_freq", "max_len", "beam"):
        assert f"\n{option} " in out
    assert "validation metric: bleu (higher is better)" in out


def test_spec_sizes_and_target_frequencies():
    task = TranslateTask({"max_len": 30})
    spec = task.prepare()
    assert isinstance(spec, Seq2SeqSpec)
    assert (spec.source_vocab, spec.target_vocab, spec.max_len) == (task.source.size,
                                                                    task.target.size, 30)
    assert (spec.pad_id, spec.bos_id, spec.eos_id) == (0, 2, 3)
    assert (spec.loss, spec.losses) == ("cross_entropy", ("sampled_softmax",))
    # what the model must predict: every training target token and one <eos> per sentence
    targets = task.train_ids[1]
    counts = spec.class_frequencies
    assert len(counts) == task.target.size and sum(counts) == sum(len(t) + 1 for t in targets)
    assert counts[3] == len(targets) and counts[0] == 0  # <eos> once a sentence, <pad> never
    word = targets[0][0]
    assert counts[word] == sum(t.count(word) for t in targets)


@pytest.mark.parametrize("tokenizer", ["word", "spm"])
def test_state_reopens_with_the_training_time_tokenizers(tmp_path, corpus, tokenizer):
    options = {"tokenizer": tokenizer, "vocab_size": 200}
    task = TranslateTask(options)
    task.prepare()
    state = json.loads(json.dumps(task.state_dict()))  # as a checkpoint stores it
    reopened = TranslateTask(options)
    reopened.prepare(state)
    assert reopened.encoded == task.encoded
    # other training data must not refit the stored tokenizers
    other = TranslateTask(options, str(corpus.folder(tmp_path)))
    other.prepare(state)
    assert (other.source.size, other.target.size) == (task.source.size, task.target.size)
    sentence = "Der Hund sieht den Mann."
    assert other.source.encode(sentence) == task.source.encode(sentence)
    fresh = TranslateTask(options, str(tmp_path))
    fresh.prepare()
    assert fresh.source.size != task.source.size


def test_subword_tokenizer_has_no_unknown_words_in_test():
    task = TranslateTask({"tokenizer": "spm", "vocab_size": 300})
    task.prepare()
    assert task.state_dict()["source"]["kind"] == "spm"
    assert all(1 not in ids for ids in task.encoded["test"][0])  # no <unk> on the source side
    decoded = [task.target.decode(ids) for ids in task.encoded["test"][1]]
    assert decoded == [t.lower() for t in task.pairs["test"].target]
