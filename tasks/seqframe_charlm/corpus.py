"""Reading the text, splitting it, and the character vocabulary.

``--data`` is one of:

* omitted, or a built-in name (``tinyshakespeare``): the copy shipped in this package, so the
  task works offline on a fresh machine;
* ``hf:NAME`` (``hf:NAME:CONFIG``, ``hf:/local/dir``): a Hugging Face dataset; the rows of its
  text column are joined with newlines, splits in the order train, validation, test, then the
  rest alphabetically, so a dataset shipped as one document per split reads back in order;
* anything else: a UTF-8 text file. An existing file wins over a built-in name.

Unknown characters: the vocabulary is the sorted set of characters of the *training* text plus
one reserved id, ``<unk>``, as the last id. Characters of the validation/test text that never
occur in training map to it, so they are scored (and penalised) rather than dropped: a model
that never saw a character cannot predict it well, and the metrics say so honestly. Training
targets never contain ``<unk>``, so models learn to give it almost no probability, and sampling
never emits it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from seqframe.errors import DataError, UsageError

BUILTIN = {"tinyshakespeare": "tinyshakespeare.txt"}
UNK = "<unk>"
HF_SPLIT_ORDER = ("train", "validation", "valid", "val", "test")


def load_text(data: str | None, text_column: str = "text") -> tuple[str, str]:
    """The whole corpus as one string, and a short description of where it came from.

    Raises:
        DataError: a missing, empty, binary or non-UTF-8 file; a dataset without the column.
    """
    if not data or (data in BUILTIN and not Path(data).exists()):
        name = data or "tinyshakespeare"
        ref = resources.files("seqframe_charlm").joinpath("data", BUILTIN[name])
        return ref.read_bytes().decode("utf-8"), f"built-in {name}"
    if data.startswith("hf:"):
        return _load_hf_text(data, text_column), data
    return read_text_file(data), data


def read_text_file(path: str | Path) -> str:
    """Read a UTF-8 text file, refusing binary and undecodable content with a clear message."""
    path = Path(path)
    if not path.is_file():
        builtins = ", ".join(sorted(BUILTIN))
        what = "is a directory" if path.is_dir() else "does not exist"
        raise DataError(
            f"--data {str(path)!r} {what}. Expected a UTF-8 text file, a built-in corpus "
            f"({builtins}) or hf:NAME for a Hugging Face dataset."
        )
    raw = path.read_bytes()
    if not raw:
        raise DataError(
            f"text file {str(path)!r} is empty. Character-level language modelling needs a "
            "UTF-8 text with at least a few thousand characters; point --data at one."
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"{str(path)!r} looks like a binary file (NUL byte at offset {nul}). Expected a "
            "UTF-8 text file; convert it to plain text first."
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{str(path)!r} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}). Expected a UTF-8 text file; re-encode it, e.g. "
            f"`iconv -f latin1 -t utf-8 {path} > {path.stem}.utf8.txt`."
        ) from None


def _load_hf_text(spec: str, text_column: str) -> str:
    from seqframe.hfdata import load_hf

    loaded = load_hf(spec)
    if hasattr(loaded, "column_names") and not isinstance(loaded.column_names, dict):
        parts = [loaded]  # a single Dataset
    else:
        order = {name: i for i, name in enumerate(HF_SPLIT_ORDER)}
        names = sorted(loaded, key=lambda n: (order.get(n, len(order)), n))
        parts = [loaded[name] for name in names]
    rows: list[str] = []
    for part in parts:
        if text_column not in part.column_names:
            raise DataError(
                f"dataset {spec!r} has no column {text_column!r}; its columns are "
                f"{', '.join(part.column_names)}. Choose one with -o text_column=NAME."
            )
        rows.extend(str(row) for row in part[text_column] if row is not None)
    text = "\n".join(rows)
    if not text:
        raise DataError(f"dataset {spec!r} column {text_column!r} holds no text.")
    return text


@dataclass(frozen=True)
class TextSplits:
    """Contiguous test / train / val pieces of the corpus (test may be empty)."""

    train: str
    val: str
    test: str


def split_text(text: str, val_fraction: float, test_fraction: float) -> TextSplits:
    """The first ``test_fraction`` of the text is test, the last ``val_fraction`` validation,
    the rest between them training text.

    Validation is the last part whatever ``test_fraction`` is: nanoGPT's split (first 90%
    train, last 10% val), so validation figures stay comparable with theirs and with runs made
    without a test split. The test part comes from the start, not from just before validation:
    on tiny-shakespeare the text just before the val split is the same play, and training
    without it raises the 5-gram's val loss from 1.561 to 1.718 nats/char, while training
    without the first 5% leaves it at 1.562 (docs/benchmarks.md). Contiguous rather than
    shuffled: neighbouring characters are strongly dependent, so a random split would leak
    training text into validation.
    """
    n = len(text)
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    n_train = n - n_val - n_test
    return TextSplits(text[n_test:n_test + n_train], text[n_test + n_train:], text[:n_test])


class Vocabulary:
    """Characters <-> ids: sorted training characters, then ``<unk>`` as the last id."""

    def __init__(self, chars: list[str]):
        self.chars = list(chars)
        self.unk_id = len(self.chars)
        self.index = {c: i for i, c in enumerate(self.chars)}
        single = all(isinstance(c, str) and len(c) == 1 for c in self.chars)
        self._points = np.array([ord(c) for c in self.chars] if single else [], np.uint32)
        if not single or np.any(np.diff(self._points.astype(np.int64)) <= 0):
            raise DataError(
                "the saved vocabulary is not a sorted list of distinct single characters; "
                "the checkpoint is damaged. Train the run again."
            )

    @classmethod
    def fit(cls, text: str) -> Vocabulary:
        return cls(sorted(set(text)))

    @property
    def size(self) -> int:
        """V, including ``<unk>``."""
        return len(self.chars) + 1

    def encode(self, text: str) -> np.ndarray:
        """(N,) int64 ids; characters outside the vocabulary become ``unk_id``."""
        # Vectorised: code points looked up in the sorted vocabulary (sorted() orders
        # one-character strings by code point), about 50x faster than a dict per character.
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # (N,)
        pos = np.searchsorted(self._points, points)
        found = pos < len(self._points)
        found[found] = self._points[pos[found]] == points[found]
        return np.where(found, pos, self.unk_id).astype(np.int64)

    def encode_strict(self, text: str, what: str = "prime") -> np.ndarray:
        """Like :meth:`encode`, but unknown characters are a :class:`UsageError` listing them."""
        unknown = sorted({c for c in text if c not in self.index})
        if unknown:
            shown = ", ".join(repr(c) for c in unknown)
            raise UsageError(
                f"the {what} contains {len(unknown)} character(s) the model never saw in "
                f"training: {shown}. Use only characters from the training text "
                f"({len(self.chars)} known, e.g. {''.join(self.chars[:40])!r})."
            )
        return self.encode(text)

    def decode(self, ids) -> str:
        chars = self.chars
        return "".join(chars[i] if i < len(chars) else UNK for i in ids)

    def state_dict(self) -> dict:
        return {"chars": list(self.chars), "unknown": UNK}
