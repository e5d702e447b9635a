"""One language side's text <-> token ids: rule-based words or a SentencePiece subword model.

Both kinds are fitted on the training side only, apply the same text preparation first
(:func:`seqframe_translate.words.normalise`, then lowercasing when ``-o lowercase=true``), share
the special ids of :mod:`.vocab` and save themselves as JSON (:meth:`Codec.state`), so a
checkpoint reopens with exactly the training-time tokenizer:

* ``word`` (:class:`WordCodec`): :func:`~seqframe_translate.words.tokenize` and a
  :class:`~seqframe_translate.vocab.Vocabulary` with ``min_freq`` and ``vocab_size``; words it
  does not know become ``<unk>``.
* ``spm`` (:class:`SubwordCodec`): a SentencePiece unigram model (Kudo 2018) trained with
  ``vocab_size`` as a soft limit (a small corpus gets fewer pieces), every character of the
  training side covered, and the specials at the same ids; the model file is stored base64
  encoded. Unseen characters become ``<unk>``; unseen words are spelt in pieces.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

from seqframe.errors import ConfigError, DataError, MissingDependencyError, ShapeError

from . import words
from .contract import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from .vocab import BOS, EOS, PAD, UNK, Vocabulary

TOKENIZERS = ("word", "spm")
INSTALL_HINT = "Install it with: pip install 'seqframe[translate]'"


def import_sentencepiece() -> Any:
    """The ``sentencepiece`` module, or a MissingDependencyError saying how to install it."""
    try:
        import sentencepiece
    except ImportError as exc:
        raise MissingDependencyError(
            "-o tokenizer=spm needs the 'sentencepiece' package, which is not installed. "
            f"{INSTALL_HINT} (or use -o tokenizer=word, which needs nothing)."
        ) from exc
    return sentencepiece


def prepare_text(text: str, lowercase: bool) -> str:
    """Normalise whitespace and Unicode (NFC), then lowercase when asked."""
    text = words.normalise(text)
    return text.lower() if lowercase else text


def _strip_specials(ids: Sequence[int]) -> list[int]:
    """``ids`` up to the first ``<eos>``, without ``<pad>`` and ``<bos>``."""
    out = []
    for i in ids:
        if int(i) == EOS_ID:
            break
        if int(i) not in (PAD_ID, BOS_ID):
            out.append(int(i))
    return out


class Codec:
    """Text of one language side <-> token ids (no ``<bos>``/``<eos>``)."""

    kind: str

    def __init__(self, lang: str, lowercase: bool):
        self.lang, self.lowercase = lang, lowercase

    @property
    def size(self) -> int:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` up to the first ``<eos>``; ``<unk>`` is shown as ``<unk>``."""
        raise NotImplementedError

    def pieces(self, ids: Sequence[int]) -> list[str]:
        """A display string per id (axis labels of attention heat maps)."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        raise NotImplementedError


class WordCodec(Codec):
    """Rule-based words (:mod:`.words`) and a frequency-cut :class:`Vocabulary`."""

    kind = "word"

    def __init__(self, lang: str, lowercase: bool, vocab: Vocabulary):
        super().__init__(lang, lowercase)
        self.vocab = vocab

    @classmethod
    def fit(cls, lines: Sequence[str], lang: str, lowercase: bool, vocab_size: int,
            min_freq: int) -> WordCodec:
        codec = cls(lang, lowercase, Vocabulary([PAD, UNK, BOS, EOS]))
        codec.vocab = Vocabulary.build((codec.tokens(t) for t in lines), min_freq, vocab_size)
        return codec

    def tokens(self, text: str) -> list[str]:
        return words.tokenize(text, self.lang, self.lowercase)

    @property
    def size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        return self.vocab.encode(self.tokens(text))

    def decode(self, ids: Sequence[int]) -> str:
        return words.detokenize(self.vocab.decode(ids), self.lang)

    def pieces(self, ids: Sequence[int]) -> list[str]:
        return [self.vocab.tokens[int(i)] for i in ids]

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "lang": self.lang, "lowercase": self.lowercase,
                "tokens": list(self.vocab.tokens)}


class SubwordCodec(Codec):
    """A SentencePiece model trained on the training side (see the module docstring)."""

    kind = "spm"

    def __init__(self, lang: str, lowercase: bool, model: bytes):
        super().__init__(lang, lowercase)
        spm = import_sentencepiece()
        self.model = model
        self.processor = spm.SentencePieceProcessor(model_proto=model)
        specials = [self.processor.id_to_piece(i) for i in range(4)]
        if specials != [PAD, UNK, BOS, EOS]:
            raise DataError(
                f"the stored SentencePiece model has {specials} at ids 0-3, expected "
                f"{[PAD, UNK, BOS, EOS]}; it was not trained by the translate task."
            )

    @classmethod
    def fit(cls, lines: Sequence[str], lang: str, lowercase: bool,
            vocab_size: int) -> SubwordCodec:
        """Train a unigram model on ``lines`` (the training side) in memory."""
        if vocab_size <= 4:
            raise ConfigError(
                f"-o tokenizer=spm needs vocab_size above 4 (the specials take ids 0-3); got "
                f"{vocab_size}. A few thousand pieces suit a corpus of tens of thousands of "
                "sentences."
            )
        spm = import_sentencepiece()
        text = [prepare_text(t, lowercase) for t in lines]
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(text), model_writer=model, model_type="unigram",
                vocab_size=vocab_size, hard_vocab_limit=False, character_coverage=1.0,
                pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID, pad_piece=PAD,
                unk_piece=UNK, bos_piece=BOS, eos_piece=EOS, unk_surface=UNK, num_threads=1,
                minloglevel=2)
        except RuntimeError as exc:  # sentencepiece reports bad settings as RuntimeError
            raise ConfigError(
                f"SentencePiece could not be trained on the {lang!r} training side "
                f"({len(text)} sentences, vocab_size {vocab_size}): {exc}. Try another "
                "-o vocab_size, or -o tokenizer=word."
            ) from None
        return cls(lang, lowercase, model.getvalue())

    @property
    def size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return list(self.processor.encode(prepare_text(text, self.lowercase), out_type=int))

    def decode(self, ids: Sequence[int]) -> str:
        kept = _strip_specials(ids)
        bad = [i for i in kept if not 0 <= i < self.size]
        if bad:
            raise ShapeError(
                f"token id {bad[0]} is outside the target vocabulary (0..{self.size - 1}); the "
                "model's output size must equal the vocabulary size."
            )
        return self.processor.decode(kept)

    def pieces(self, ids: Sequence[int]) -> list[str]:
        return [self.processor.id_to_piece(int(i)) for i in ids]

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "lang": self.lang, "lowercase": self.lowercase,
                "model": base64.b64encode(self.model).decode("ascii")}


def fit_codec(kind: str, lines: Sequence[str], lang: str, *, lowercase: bool, vocab_size: int,
              min_freq: int) -> Codec:
    """Fit a ``word`` or ``spm`` codec on one language's training sentences."""
    if kind == "spm":
        return SubwordCodec.fit(lines, lang, lowercase, vocab_size)
    return WordCodec.fit(lines, lang, lowercase, vocab_size, min_freq)


def codec_from_state(state: dict[str, Any]) -> Codec:
    """Rebuild the codec a :meth:`Codec.state` describes (from a checkpoint).

    Raises:
        DataError: the state is not one this module wrote.
    """
    kind = state.get("kind")
    if kind == "word":
        return WordCodec(state["lang"], state["lowercase"], Vocabulary(state["tokens"]))
    if kind == "spm":
        return SubwordCodec(state["lang"], state["lowercase"], base64.b64decode(state["model"]))
    raise DataError(
        f"the run's stored tokenizer has kind {kind!r}; expected one of {', '.join(TOKENIZERS)}."
    )
