"""The copy and word-for-word baselines: IBM Model 1 against the textbook, scores via sacrebleu."""

from __future__ import annotations

import gzip
import importlib.util
import json

import pytest
import sacrebleu
from seqframe_translate.baselines import WordForWord
from seqframe_translate.sources import DATA_DIR
from seqframe_translate.task import TranslateTask

from tests.conftest import REPO

# Koehn, Statistical Machine Translation (2010), Figure 4.4: IBM Model 1 on three pairs, no
# NULL word, t(e|f) after EM iterations 1 and 2 (and 3, to four places).
KOEHN = {
    1: {"the|das": 0.5, "book|das": 0.25, "house|das": 0.25, "the|buch": 0.25,
        "book|buch": 0.5, "a|buch": 0.25, "book|ein": 0.5, "a|ein": 0.5, "the|haus": 0.5,
        "house|haus": 0.5},
    2: {"the|das": 0.6364, "book|das": 0.1818, "house|das": 0.1818, "the|buch": 0.1818,
        "book|buch": 0.6364, "a|buch": 0.1818, "book|ein": 0.4286, "a|ein": 0.5714,
        "the|haus": 0.4286, "house|haus": 0.5714},
    3: {"the|das": 0.7479, "book|das": 0.1208, "house|das": 0.1313, "the|buch": 0.1208,
        "book|buch": 0.7479, "a|buch": 0.1313, "book|ein": 0.3466, "a|ein": 0.6534,
        "the|haus": 0.3466, "house|haus": 0.6534},
}
SOURCES = [["das", "haus"], ["das", "buch"], ["ein", "buch"]]
TARGETS = [["the", "house"], ["the", "book"], ["a", "book"]]


@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_ibm_model_1_matches_the_textbook(iterations):
    model = WordForWord(SOURCES, TARGETS, iterations, null=False)
    for pair, expected in KOEHN[iterations].items():
        e, f = pair.split("|")
        assert model.prob(f, e) == pytest.approx(expected, abs=5e-5), pair
    assert model.prob("das", "a") == 0.0  # never seen together
    assert model.prob("katze", "the") == 0.0


def test_null_word_still_normalises_and_finds_the_dictionary():
    model = WordForWord(SOURCES, TARGETS, iterations=10)
    for f in ("das", "haus", "buch", "ein", "<null>"):
        assert sum(model.prob(f, e) for e in ("the", "house", "book", "a")) == pytest.approx(1)
    assert model.dictionary == {"das": "the", "haus": "house", "buch": "book", "ein": "a"}
    assert model.translate(["das", "neue", "buch"]) == ["the", "neue", "book"]  # unseen: copied


def read(path):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [line.strip() for line in fh]


def test_copy_baseline_is_sacrebleu_of_the_raw_files():
    task = TranslateTask()
    task.prepare()
    got = task.baselines("test")
    source, reference = read(DATA_DIR / "test.de"), read(DATA_DIR / "test.en")
    expected = sacrebleu.corpus_bleu(source, [reference], lowercase=True).score
    assert got["copy"]["bleu"] == pytest.approx(expected)
    assert got["copy"]["chrf"] == pytest.approx(sacrebleu.corpus_chrf(source, [reference]).score)
    # on the sample, where German word order matches English in most clauses, a dictionary
    # goes a long way; copying German gets almost nothing
    assert got["word_for_word"]["bleu"] > 30 > 1 > got["copy"]["bleu"]
    assert task.baselines("test") is got  # fitted once per split
    assert TranslateTask({"baselines": False}).baselines("test") == {}


def load_script():
    path = REPO / "benchmarks" / "translate_baselines.py"
    spec = importlib.util.spec_from_file_location("translate_baselines", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_measurement_script_on_the_sample(capsys):
    results = load_script().main(["-o", "lowercase=false"])
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[-1]) == results
    assert set(results) == {"val", "test"}
    assert any(line.startswith("test  word_for_word") for line in lines)
    reference = read(DATA_DIR / "test.en")
    source = read(DATA_DIR / "test.de")
    assert results["test"]["copy"]["bleu_cased"] == pytest.approx(
        sacrebleu.corpus_bleu(source, [reference]).score)


@pytest.mark.slow
def test_multi30k_baselines(shared_data):
    # measured (docs/tasks/translate.md): test BLEU copy 0.75, word_for_word 28.31; chrF 17.96,
    # 52.41. Captions are literal and German word order is close to English in most of them.
    results = load_script().measure(str(shared_data / "multi30k"), {})
    test = results["test"]
    assert test["copy"]["bleu"] < 2 and 15 < test["copy"]["chrf"] < 21
    assert 26 < test["word_for_word"]["bleu"] < 31 and 49 < test["word_for_word"]["chrf"] < 56
