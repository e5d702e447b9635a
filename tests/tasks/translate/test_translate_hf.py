"""``--data hf:...``: local Hugging Face data sets, WMT-style and two-column."""

from __future__ import annotations

import pytest
from seqframe_translate.task import TranslateTask

from seqframe.errors import ConfigError, DataError

datasets = pytest.importorskip("datasets")

DE = ["Ein Hund läuft.", "Eine Katze schläft.", "Der Mann liest.", "Das Kind spielt.",
      "Die Frau lacht.", "Ein Vogel singt.", "Zwei Hunde laufen.", "Der Junge isst.",
      "Ein Pferd steht.", "Die Katze spielt."]
EN = ["A dog runs.", "A cat sleeps.", "The man reads.", "The child plays.",
      "The woman laughs.", "A bird sings.", "Two dogs run.", "The boy eats.",
      "A horse stands.", "The cat plays."]


def save(tmp_path, splits: dict[str, dict]) -> str:
    dd = datasets.DatasetDict({name: datasets.Dataset.from_dict(columns)
                               for name, columns in splits.items()})
    dd.save_to_disk(str(tmp_path / "hfset"))
    return f"hf:{tmp_path / 'hfset'}"


def wmt(de, en):
    return {"translation": [{"de": d, "en": e} for d, e in zip(de, en, strict=True)]}


def test_wmt_style_translation_column(tmp_path):
    spec = save(tmp_path, {"train": wmt(DE, EN), "validation": wmt(DE[:3], EN[:3]),
                           "test": wmt(DE[3:5], EN[3:5])})
    task = TranslateTask({"min_freq": 1}, spec)
    task.prepare()
    assert task.pairs["train"].source == DE and task.pairs["test"].target == EN[3:5]
    swapped = TranslateTask({"src": "en", "tgt": "de"}, spec)
    swapped.prepare()
    assert swapped.pairs["val"].source == EN[:3]


def test_two_columns_named_by_language_or_option(tmp_path):
    columns = {"de": DE, "en": EN}
    spec = save(tmp_path, {"train": columns, "validation": columns, "test": columns})
    task = TranslateTask({}, spec)
    task.prepare()
    assert task.pairs["test"].target == EN
    named = {"quelle": DE, "ziel": EN}
    spec = save(tmp_path / "b", {"train": named, "validation": named, "test": named})
    task = TranslateTask({"hf_source": "quelle", "hf_target": "ziel"}, spec)
    task.prepare()
    assert task.pairs["val"].source == DE


def test_empty_split_names_carve_val_and_test_out_of_train(tmp_path):
    spec = save(tmp_path, {"train": wmt(DE * 2, EN * 2)})
    task = TranslateTask({"hf_val_split": "", "hf_test_split": "", "val_fraction": 0.1,
                          "test_fraction": 0.2}, spec)
    task.prepare()
    sizes = {split: len(p) for split, p in task.pairs.items()}
    assert sizes == {"train": 14, "val": 2, "test": 4}


def test_missing_split_lists_those_there(tmp_path):
    spec = save(tmp_path, {"train": wmt(DE, EN), "test": wmt(DE, EN)})
    with pytest.raises(DataError, match=r"has no split 'validation' \(it has: train, test\).*"
                                        r"an empty name \(-o hf_val_split=\) carves"):
        TranslateTask({}, spec).prepare()
    with pytest.raises(ConfigError, match="hf_train_split must name a split"):
        TranslateTask({"hf_train_split": ""}, spec).prepare()


def test_missing_language_or_column(tmp_path):
    spec = save(tmp_path, {"train": wmt(DE, EN), "validation": wmt(DE, EN), "test": wmt(DE, EN)})
    with pytest.raises(DataError, match=r"row 0: the 'translation' column has no 'fr' sentence "
                                        r"\(it has de, en\)"):
        TranslateTask({"src": "fr"}, spec).prepare()
    columns = {"source": DE, "target": EN}
    spec = save(tmp_path / "b", {"train": columns, "validation": columns, "test": columns})
    with pytest.raises(DataError, match=r"has neither a 'translation' column .* nor a column "
                                        r"'de'; its columns are source, target"):
        TranslateTask({}, spec).prepare()


def test_empty_sentence_in_a_row(tmp_path):
    de = [*DE[:4], "  ", *DE[5:]]
    spec = save(tmp_path, {"train": wmt(de, EN), "validation": wmt(DE, EN), "test": wmt(DE, EN)})
    with pytest.raises(DataError, match=r"split 'train' row 4: the source sentence is '  '"):
        TranslateTask({}, spec).prepare()


def test_hf_through_the_cli_with_an_empty_option_value(sf, tmp_path):
    spec = save(tmp_path, {"train": wmt(DE, EN)})
    code, _, err = sf("run", "--task", "translate", "--data", spec, "-o", "hf_val_split=",
                      "--steps", "1", "--out", str(tmp_path / "run"))
    assert code == 2 and "has no split 'test'" in err
