"""Every charlm mistake a user can make gets a SeqframeError that says what and what to do."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_charlm.task import CharLMTask

from seqframe.errors import ConfigError, DataError, UsageError

TEXT = "hello world, hello seqframe. " * 50


def _task_on_bytes(tmp_path, raw: bytes, **options):
    path = tmp_path / "input.txt"
    path.write_bytes(raw)
    return CharLMTask(options, data=str(path))


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match=r"input.txt' is empty.*point --data at one"):
        _task_on_bytes(tmp_path, b"").prepare()


def test_binary_file(tmp_path):
    with pytest.raises(DataError, match=r"looks like a binary file \(NUL byte at offset 3\)"):
        _task_on_bytes(tmp_path, b"abc\x00def").prepare()


def test_non_utf8_file(tmp_path):
    raw = "café au lait".encode("latin-1")
    with pytest.raises(DataError, match=r"not valid UTF-8 \(byte 0xe9 at offset 3\).*iconv"):
        _task_on_bytes(tmp_path, raw).prepare()


def test_missing_file_lists_the_builtin_corpora(tmp_path):
    task = CharLMTask(data=str(tmp_path / "nope.txt"))
    with pytest.raises(DataError, match=r"does not exist.*built-in corpus \(tinyshakespeare\)"):
        task.prepare()


def test_directory_is_not_a_text_file(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        CharLMTask(data=str(tmp_path)).prepare()


def test_corpus_too_small_for_batch_size_times_seq_len(make_task):
    task = make_task(TEXT, seq_len=50)  # 1233 training characters
    with pytest.raises(DataError, match=r"1,233 characters, too few for batch_size 32 x "
                                        r"seq_len 50 \(needs at least 1,601\).*--batch-size"):
        task.train_batches(0, 32, 0)
    assert len(task.train_batches(0, 8, 0)) >= 1


def test_corpus_too_small_to_hold_out_validation(make_task):
    with pytest.raises(DataError, match="too few to hold out a val split"):
        make_task("abcdefghij")


def test_prime_with_unknown_characters_lists_them(make_task, fakes):
    task = make_task(TEXT)
    with pytest.raises(UsageError, match=r"prime contains 2 character\(s\) the model never saw "
                                         r"in training: 'X', 'é'"):
        task.sample(fakes.Uniform(task.vocab.size), prime="héllo X", length=5,
                    temperature=1.0, top_k=None, seed=0, greedy=False)


def test_sample_prime_option_checked_when_preparing(make_task):
    with pytest.raises(UsageError, match=r"sample_prime option contains 1 character\(s\).*'Z'"):
        make_task(TEXT, sample_prime="Zero")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": 0.0}, r"--temperature must be > 0, got 0.0.*--greedy"),
        ({"temperature": -1.0}, r"--temperature must be > 0, got -1.0"),
        ({"temperature": float("nan")}, r"--temperature must be > 0, got nan"),
        ({"top_k": 0}, r"--top-k must be >= 1, got 0"),
        ({"length": -3}, r"--length must be >= 0 characters, got -3"),
    ],
)
def test_bad_sampling_settings(make_task, fakes, kwargs, match):
    task = make_task(TEXT)
    settings = {"prime": "hello", "length": 5, "temperature": 1.0, "top_k": None, "seed": 0,
                "greedy": False, **kwargs}
    with pytest.raises(UsageError, match=match):
        task.sample(fakes.Uniform(task.vocab.size), **settings)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"val_fraction": 0.0}, r"needs 0 < val_fraction < 1.*got val_fraction=0.0"),
        ({"val_fraction": 0.6, "test_fraction": 0.5}, r"their sum < 1"),
        ({"seq_len": 0}, r"option 'seq_len' must be >= 1, got 0"),
        ({"ngram_order": 0}, r"option 'ngram_order' must be >= 1"),
        ({"sample_temperature": 0}, r"'sample_temperature' must be > 0"),
        ({"max_chars": -1}, r"max_chars and sample_length must be >= 0"),
        ({"seq_len": "long"}, r"option 'seq_len' expects int, got 'long'"),
        ({"colour": "red"}, r"unknown option 'colour' for task 'charlm'. Valid options: "
                            r"eval_streams, inputs, max_chars"),
    ],
)
def test_bad_options(options, match):
    with pytest.raises(ConfigError, match=match):
        CharLMTask(options)


def test_test_split_absent_when_switched_off(make_task, fakes):
    task = make_task(TEXT, test_fraction=0.0)
    with pytest.raises(UsageError, match=r"no 'test' split here; it has val. Use --split val, "
                                         r"or train with -o test_fraction=0.05 \(the default\)"):
        task.evaluate(fakes.Uniform(task.vocab.size), "test")
    with pytest.raises(UsageError, match="no 'test' split"):
        task.baselines("test")


def test_damaged_checkpoint_state(make_task, tmp_path):
    task = make_task(TEXT)
    with pytest.raises(DataError, match=r"no character list \('chars'\)"):
        CharLMTask(data=task.data).prepare({"vocab": "abc"})
    with pytest.raises(DataError, match="not a sorted list of distinct single characters"):
        CharLMTask(data=task.data).prepare({"chars": ["b", "a"]})
    with pytest.raises(DataError, match="not a sorted list of distinct single characters"):
        CharLMTask(data=task.data).prepare({"chars": ["a", 7]})


def test_hf_dataset_text_column(tmp_path):
    datasets = pytest.importorskip("datasets")
    parts = {"train": ["First line", "second line"] * 200, "test": ["the end"]}
    dd = datasets.DatasetDict({k: datasets.Dataset.from_dict({"body": v})
                               for k, v in parts.items()})
    dd.save_to_disk(str(tmp_path / "saved"))
    spec = f"hf:{tmp_path / 'saved'}"
    with pytest.raises(DataError, match=r"has no column 'text'; its columns are body. "
                                        r"Choose one with -o text_column=NAME"):
        CharLMTask(data=spec).prepare()
    task = CharLMTask({"text_column": "body"}, data=spec)
    task.prepare()
    whole = "\n".join(parts["train"] + parts["test"])  # train split first, then test
    decoded = task.vocab.decode(np.concatenate([task._ids[s] for s in ("test", "train", "val")]))
    assert decoded.replace("<unk>", "?") == "".join(
        c if c in task.vocab.index else "?" for c in whole
    )
