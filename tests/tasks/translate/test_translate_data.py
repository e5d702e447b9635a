"""Reading parallel data: folders (plain and gzip), TSV pairs and their split, the sample."""

from __future__ import annotations

import gzip

import pytest
from seqframe_translate import sources
from seqframe_translate.sources import Pairs, carve, read_folder
from seqframe_translate.task import TranslateTask

from seqframe.errors import ConfigError, DataError


def test_folder_with_plain_and_gzip_files(tmp_path, corpus):
    corpus.write(tmp_path, {f"{s}.{lang}": corpus.german if lang == "de" else corpus.english
                            for s in ("train", "val", "test") for lang in ("de", "en")},
                 gz=("train.de", "test.en"))
    splits = read_folder(tmp_path, "de", "en")
    assert splits["train"].source == corpus.german and splits["test"].target == corpus.english
    assert splits["val"].origin.endswith("val.de + val.en")


def test_languages_are_options_and_can_be_swapped(tmp_path, corpus):
    folder = corpus.folder(tmp_path, src="fr", tgt="en")
    task = TranslateTask({"src": "en", "tgt": "fr"}, str(folder))
    task.prepare()
    assert task.pairs["train"].source == corpus.english


def test_windows_line_ends_byte_order_mark_and_blank_edges(tmp_path, corpus):
    raw = ("\ufeffA man rides a bike.\r\n" + "  The dog sleeps. \r\n").encode("utf-8")
    corpus.write(tmp_path, {"x.en": raw})
    from seqframe_translate.textio import read_sentences

    assert read_sentences(tmp_path / "x.en") == ["A man rides a bike.", "The dog sleeps."]


def test_builtin_sample_is_the_default_and_ships_in_the_package():
    task = TranslateTask()
    task.prepare()
    sizes = {split: len(p) for split, p in task.pairs.items()}
    assert sizes == {"train": 600, "val": 100, "test": 100}
    assert (sources.DATA_DIR / "README.md").read_text().count("MIT") >= 1
    assert TranslateTask(data="SAMPLE").prepare().source_vocab == task.source.size


def test_tsv_pairs_are_split_at_random_but_reproducibly(tmp_path):
    lines = [f"quelle {i}\tziel {i}\textra" for i in range(40)]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    opts = {"val_fraction": 0.1, "test_fraction": 0.2, "split_seed": 3}
    task = TranslateTask(opts, str(path))
    task.prepare()
    p = task.pairs
    assert (len(p["train"]), len(p["val"]), len(p["test"])) == (28, 4, 8)
    every = sorted(p["train"].source + p["val"].source + p["test"].source)
    assert every == sorted(f"quelle {i}" for i in range(40))
    for split in p.values():  # pairs stay pairs, each split in file order
        numbers = [int(s.split()[1]) for s in split.source]
        assert numbers == sorted(numbers)
        assert [t.split()[1] for t in split.target] == [s.split()[1] for s in split.source]
    again = TranslateTask(opts, str(path))
    again.prepare()
    assert again.pairs["test"].source == p["test"].source
    other = TranslateTask({**opts, "split_seed": 4}, str(path))
    other.prepare()
    assert other.pairs["test"].source != p["test"].source


def test_tsv_columns_choose_source_and_target(tmp_path):
    path = tmp_path / "deu.txt"
    path.write_text("".join(f"Go {i}.\tGeh {i}.\tCC-BY\n" for i in range(30)), encoding="utf-8")
    task = TranslateTask({"tsv_columns": "1,0"}, str(path))
    task.prepare()
    assert all(s.startswith("Geh") for s in task.pairs["train"].source)
    with pytest.raises(ConfigError, match="tsv_columns must be two different column numbers"):
        TranslateTask({"tsv_columns": "1,1"}, str(path)).prepare()


def test_carve_sizes_and_errors():
    pairs = Pairs([str(i) for i in range(10)], [str(i) for i in range(10)], "x.tsv")
    parts = carve(pairs, {"val": 0.01, "test": 0.2}, seed=0)  # at least one each
    assert (len(parts["val"]), len(parts["test"]), len(parts["train"])) == (1, 2, 7)
    with pytest.raises(ConfigError, match="val_fraction must be between 0 and 1"):
        carve(pairs, {"val": 1.0}, seed=0)
    with pytest.raises(DataError, match="x.tsv has 10 pairs: too few to hold out 5 for val "
                                        "and 5 for test"):
        carve(pairs, {"val": 0.5, "test": 0.5}, seed=0)


def test_multi30k_folder(shared_data):
    splits = read_folder(shared_data / "multi30k", "de", "en")
    assert {k: len(v) for k, v in splits.items()} == {"train": 29000, "val": 1014, "test": 1000}
    with gzip.open(shared_data / "multi30k" / "test.en.gz", "rt", encoding="utf-8") as fh:
        assert splits["test"].target[0] == fh.readline().strip()
