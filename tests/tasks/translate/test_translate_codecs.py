"""Vocabularies, the word and SentencePiece codecs, their stored state, missing packages."""

from __future__ import annotations

import json
import sys

import pytest
from seqframe_translate import codec as codec_module
from seqframe_translate import metrics
from seqframe_translate.codec import SubwordCodec, WordCodec, codec_from_state, fit_codec
from seqframe_translate.vocab import SPECIALS, Vocabulary

from seqframe.errors import ConfigError, DataError, MissingDependencyError, ShapeError

SENTENCES = [["b", "a", "c"], ["a", "b"], ["a", "d"], ["<unk>", "e"]]  # a:3 b:2 c:1 d:1 e:1


def test_vocabulary_orders_by_count_then_alphabet_after_the_specials():
    vocab = Vocabulary.build(SENTENCES)
    assert vocab.tokens == ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c", "d", "e"]
    assert Vocabulary.build(SENTENCES, min_freq=2).tokens == [*SPECIALS, "a", "b"]
    assert Vocabulary.build(SENTENCES, max_size=6).tokens == [*SPECIALS, "a", "b"]


def test_vocabulary_encode_and_decode():
    vocab = Vocabulary.build(SENTENCES, min_freq=2)
    assert vocab.encode(["a", "zebra", "b"]) == [4, 1, 5]
    # <pad> and <bos> are skipped, reading stops at the first <eos>
    assert vocab.decode([2, 4, 0, 1, 5, 3, 4]) == ["a", "<unk>", "b"]
    with pytest.raises(ShapeError, match=r"token id 9 is outside the target vocabulary \(0..5\)"):
        vocab.decode([9])


def test_vocabulary_errors():
    with pytest.raises(ConfigError, match="min_freq must be at least 1, got 0"):
        Vocabulary.build(SENTENCES, min_freq=0)
    with pytest.raises(ConfigError, match="vocab_size 4 leaves no room for words"):
        Vocabulary.build(SENTENCES, max_size=4)
    with pytest.raises(DataError, match="must start with <pad>, <unk>, <bos>, <eos>"):
        Vocabulary(["a", "b"])


def test_word_codec_round_trip_and_state():
    lines = ["Der Hund schläft.", "Der Mann, der läuft.", "Ein Hund läuft."]
    codec = fit_codec("word", lines, "de", lowercase=True, vocab_size=0, min_freq=1)
    assert isinstance(codec, WordCodec)
    ids = codec.encode("Der Hund läuft nicht.")
    assert codec.pieces(ids) == ["der", "hund", "läuft", "<unk>", "."]
    assert codec.decode(ids + [3, 7]) == "der hund läuft <unk>."
    again = codec_from_state(json.loads(json.dumps(codec.state())))
    assert again.encode("Der Hund läuft nicht.") == ids and again.size == codec.size


def test_word_codec_vocab_size_and_min_freq():
    lines = ["a a a b b c", "a b d"]
    codec = fit_codec("word", lines, "en", lowercase=False, vocab_size=6, min_freq=1)
    assert codec.vocab.tokens[4:] == ["a", "b"]
    codec = fit_codec("word", lines, "en", lowercase=False, vocab_size=0, min_freq=2)
    assert codec.vocab.tokens[4:] == ["a", "b"]


@pytest.fixture(scope="module")
def sample_lines():
    from seqframe_translate.sources import DATA_DIR

    return (DATA_DIR / "train.de").read_text(encoding="utf-8").splitlines()


def test_subword_codec_specials_state_and_round_trip(sample_lines):
    codec = fit_codec("spm", sample_lines, "de", lowercase=False, vocab_size=300, min_freq=1)
    assert isinstance(codec, SubwordCodec)
    assert codec.pieces([0, 1, 2, 3]) == list(SPECIALS)
    assert 4 < codec.size <= 300  # a soft limit: the small sample may give fewer
    sentence = "Der alte Mann sieht einen Hund im Park."
    ids = codec.encode(sentence)
    assert min(ids) >= 4 and codec.decode(ids) == sentence
    assert codec.decode([2, *ids, 3, 9, 9]) == sentence  # <bos> skipped, stops at <eos>
    # unseen words are spelt in pieces, an unseen character is <unk>
    assert codec.decode(codec.encode("Der Hundeflüsterer")) == "Der Hundeflüsterer"
    assert 1 in codec.encode("Der Hund 😀") and "<unk>" in codec.decode(codec.encode("Hund 😀"))
    state = json.loads(json.dumps(codec.state()))  # JSON, as in a checkpoint
    again = codec_from_state(state)
    assert again.encode(sentence) == ids and again.size == codec.size
    retrained = fit_codec("spm", sample_lines, "de", lowercase=False, vocab_size=300, min_freq=1)
    assert retrained.model == codec.model  # training is deterministic


def test_subword_codec_lowercases_before_training(sample_lines):
    codec = fit_codec("spm", sample_lines, "de", lowercase=True, vocab_size=200, min_freq=1)
    assert codec.decode(codec.encode("Der Hund")) == "der hund"
    assert not any(p.strip("▁").istitle() for p in codec.pieces(range(4, codec.size)))


def test_subword_codec_errors(sample_lines):
    with pytest.raises(ConfigError, match="needs vocab_size above 4"):
        fit_codec("spm", sample_lines, "de", lowercase=False, vocab_size=4, min_freq=1)
    codec = fit_codec("spm", sample_lines, "de", lowercase=False, vocab_size=200, min_freq=1)
    with pytest.raises(ShapeError, match="outside the target vocabulary"):
        codec.decode([codec.size + 5])
    with pytest.raises(DataError, match="stored tokenizer has kind 'bpe'"):
        codec_from_state({"kind": "bpe"})


def test_missing_sentencepiece_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError,
                       match=r"'sentencepiece'.*pip install 'seqframe\[translate\]'") as info:
        codec_module.import_sentencepiece()
    assert info.value.exit_code == 3


def test_missing_sacrebleu_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sacrebleu", None)
    with pytest.raises(MissingDependencyError,
                       match=r"'sacrebleu'.*pip install 'seqframe\[translate\]'"):
        metrics.corpus_scores(["a"], ["a"])


def test_missing_sentencepiece_through_the_cli(sf, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)
    code, _, err = sf("run", "--task", "translate", "-o", "tokenizer=spm", "--steps", "1",
                      "--out", str(tmp_path / "run"))
    assert code == 3
    assert "pip install 'seqframe[translate]'" in err
