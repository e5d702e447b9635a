"""Every bad input a user can give the translate task: a message naming it, exit code 2."""

from __future__ import annotations

import json
import re

import pytest
from seqframe_translate.task import TranslateTask

from seqframe.errors import ConfigError, DataError


def run_cli(sf, tmp_path, data, *options):
    args = ["run", "--task", "translate", "--steps", "1", "--out", str(tmp_path / "run")]
    if data is not None:
        args += ["--data", str(data)]
    for option in options:
        args += ["-o", option]
    return sf(*args)


def assert_exit_2(sf, tmp_path, data, pattern, *options):
    code, _, err = run_cli(sf, tmp_path, data, *options)
    assert code == 2, err
    assert re.search(pattern, " ".join(err.split())), err
    assert not (tmp_path / "run").exists()


def test_mismatched_line_counts_name_both_files_and_counts(sf, tmp_path, corpus):
    folder = corpus.folder(tmp_path / "d", val__en=corpus.english[:3])
    pattern = (r"\S*val\.de has 5 lines but \S*val\.en has 3; a parallel pair of files needs "
               r"the same number of lines")
    assert_exit_2(sf, tmp_path, folder, pattern)


def test_empty_line_names_file_and_line(sf, tmp_path, corpus):
    lines = [*corpus.german[:2], "   ", *corpus.german[3:]]
    folder = corpus.folder(tmp_path / "d", test__de=lines)
    assert_exit_2(sf, tmp_path, folder, r"test\.de, line 3 is empty; expected one sentence on "
                                        r"every line")


def test_unknown_language_suffix_lists_those_found(sf, tmp_path, corpus):
    folder = corpus.folder(tmp_path / "d", src="fr", tgt="en")
    assert_exit_2(sf, tmp_path, folder, r"no train\.de \(or train\.de\.gz\) in \S+: language "
                                        r"'de' is not there\. Languages found in \S+: en, fr\. "
                                        r"Choose them with -o src=LANG -o tgt=LANG")
    assert_exit_2(sf, tmp_path, folder, r"language 'es' is not there", "src=fr", "tgt=es")


def test_folder_without_any_split_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(DataError, match=r"Languages found in .*: none: it holds no "):
        TranslateTask(data=str(tmp_path)).prepare()


def test_missing_split_file(sf, tmp_path, corpus):
    folder = corpus.folder(tmp_path / "d", val__de=None)
    assert_exit_2(sf, tmp_path, folder, r"missing split file \S*val\.de \(or val\.de\.gz\); a "
                                        r"data folder needs train, val and test files")


def test_plain_and_gzip_copies_of_one_file(tmp_path, corpus):
    folder = corpus.folder(tmp_path / "d")
    corpus.write(folder, {"test.en": corpus.english}, gz=("test.en",))
    with pytest.raises(DataError, match=r"both \S*test\.en and \S*test\.en\.gz exist"):
        TranslateTask(data=str(folder)).prepare()


def test_non_utf8_text_names_file_and_line(sf, tmp_path, corpus):
    raw = "A man.\nThe dog.\nA café.\nOne.\nTwo.\n".encode("latin-1")
    folder = corpus.folder(tmp_path / "d", train__en=raw)
    assert_exit_2(sf, tmp_path, folder, r"train\.en, line 3: not valid UTF-8 \(byte 0xe9 at "
                                        r"column 6\).*iconv")


def test_broken_gzip_file(tmp_path, corpus):
    folder = corpus.folder(tmp_path / "d", test__en=None)
    (folder / "test.en.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"cannot read \S*test\.en\.gz.*complete gzip file"):
        TranslateTask(data=str(folder)).prepare()


def test_data_that_is_nothing(sf, tmp_path):
    assert_exit_2(sf, tmp_path, tmp_path / "nope", r"--data '\S*nope' is not a folder, a file, "
                                                   r"the built-in sample")


def test_tsv_line_with_too_few_columns(sf, tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("ein Hund\ta dog\nzwei Katzen two cats\n", encoding="utf-8")
    assert_exit_2(sf, tmp_path, path, r"pairs\.tsv, line 2 has 1 tab-separated column\(s\), "
                                      r"expected at least 2")


def test_tsv_empty_sentence(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("ein Hund\ta dog\n \ttwo cats\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs\.tsv, line 2: the source sentence is empty"):
        TranslateTask(data=str(path)).prepare()


def test_same_language_twice(tmp_path, corpus):
    folder = corpus.folder(tmp_path / "d")
    with pytest.raises(ConfigError, match="-o src and -o tgt are both 'en'"):
        TranslateTask({"src": "en", "tgt": "en"}, str(folder)).prepare()


@pytest.mark.parametrize("option, message", [
    ("max_len=0", "option 'max_len' must be at least 1, got 0"),
    ("beam=0", "option 'beam' must be at least 1, got 0"),
    ("vocab_size=-1", "option 'vocab_size' must be 0 or more, got -1"),
    ("max_output_ratio=0", "option 'max_output_ratio' must be positive"),
    ("tokenizer=bpe", "option 'tokenizer' must be one of word, spm; got 'bpe'"),
])
def test_bad_options(sf, tmp_path, option, message):
    assert_exit_2(sf, tmp_path, None, re.escape(message), option)


def test_over_long_training_pairs_are_dropped_with_a_count(tmp_path, corpus):
    long_de = " ".join(["Hund"] * 12) + " ."
    folder = corpus.folder(tmp_path / "d", train__de=[*corpus.german, long_de],
                           train__en=[*corpus.english, "A dog."], test__de=[long_de],
                           test__en=["Dogs."], val__de=[long_de], val__en=["Dogs."])
    task = TranslateTask({"max_len": 8}, str(folder))
    lines: list[str] = []
    task.log = lines.append
    task.prepare()
    assert lines == ["translate: dropped 1 of 6 training pairs longer than max_len=8 tokens "
                     "(val and test keep theirs)"]
    assert task.dropped == 1 and len(task.train_ids[0]) == 5
    assert len(task.encoded["test"][0][0]) == 13 and len(task.encoded["val"][0]) == 1  # kept
    with pytest.raises(ConfigError, match="every one of the 6 training pairs has more than "
                                          "max_len=1 tokens"):
        TranslateTask({"max_len": 1}, str(folder)).prepare()


def test_over_long_pairs_are_counted_in_the_run_log_and_the_run_trains(sf, tmp_path, corpus):
    long_en = "A " + "very " * 20 + "long dog."
    folder = corpus.folder(tmp_path / "d", train__en=[*corpus.english[:4], long_en])
    code, _, err = run_cli(sf, tmp_path, folder, "max_len=10", "baselines=false")
    assert code == 0, err
    assert "dropped 1 of 5 training pairs longer than max_len=10 tokens" in err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["steps"] == 1
    assert set(summary["metrics"]["test"]) == {"bleu", "bleu_cased", "chrf", "loss",
                                               "perplexity"}
