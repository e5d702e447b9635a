"""Word vocabularies: the four specials first, then the training tokens by frequency.

Ids: ``<pad>`` 0 (padding, never predicted), ``<unk>`` 1 (a token the training side did not have
often enough), ``<bos>`` 2 (the decoder's first input), ``<eos>`` 3 (the end of a sentence). A
token is kept when it occurs at least ``min_freq`` times in the training side; when more remain
than ``max_size`` allows, the most frequent are kept. Ties are broken alphabetically so the same
data always gives the same ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from seqframe.errors import ConfigError, DataError, ShapeError

from .contract import BOS_ID, EOS_ID, PAD_ID, UNK_ID

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocabulary:
    """A fixed token <-> id map whose first four entries are :data:`SPECIALS`."""

    def __init__(self, tokens: Sequence[str]):
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise DataError(
                f"a vocabulary must start with {', '.join(SPECIALS)}; this one starts with "
                f"{', '.join(map(repr, tokens[:4]))}. Was the run's state written by another "
                "version of the translate task?"
            )
        self.tokens = list(tokens)
        self.index = {token: i for i, token in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise DataError("a vocabulary lists a token twice; each token needs one id.")

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_freq: int = 1,
              max_size: int = 0) -> Vocabulary:
        """Fit on tokenised training sentences.

        Args:
            sentences: token lists of the training side.
            min_freq: keep tokens seen at least this often (>= 1).
            max_size: at most this many entries, the four specials included; 0 = no limit.

        Raises:
            ConfigError: ``min_freq`` < 1, or ``max_size`` too small to hold the specials.
        """
        if min_freq < 1:
            raise ConfigError(f"min_freq must be at least 1, got {min_freq}.")
        if max_size and max_size <= len(SPECIALS):
            raise ConfigError(
                f"vocab_size {max_size} leaves no room for words: the vocabulary already holds "
                f"{len(SPECIALS)} specials ({', '.join(SPECIALS)}). Use a larger size, or 0 for "
                "no limit."
            )
        counts = Counter(t for sentence in sentences for t in sentence if t not in SPECIALS)
        kept = sorted((t for t, c in counts.items() if c >= min_freq),
                      key=lambda t: (-counts[t], t))
        if max_size:
            kept = kept[: max_size - len(SPECIALS)]
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``; unknown ones become ``<unk>`` (no ``<bos>``/``<eos>`` added)."""
        return [self.index.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` up to the first ``<eos>``, without ``<pad>`` and ``<bos>``.

        Raises:
            ShapeError: an id outside the vocabulary (a model with the wrong output size).
        """
        out = []
        for i in ids:
            i = int(i)
            if i == EOS_ID:
                break
            if i in (PAD_ID, BOS_ID):
                continue
            if not 0 <= i < len(self.tokens):
                raise ShapeError(
                    f"token id {i} is outside the target vocabulary (0..{len(self.tokens) - 1}); "
                    "the model's output size must equal the vocabulary size."
                )
            out.append(self.tokens[i])
        return out
