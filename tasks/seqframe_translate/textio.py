"""Reading sentence files: one sentence a line (plain or gzip), or tab-separated pairs.

Every problem is a :class:`~seqframe.errors.DataError` naming the file and the line (1-based):
text that is not UTF-8, an empty line (a parallel corpus pairs lines by number, so a blank line
is a missing sentence, not a separator), a TSV line with too few columns or an empty field. A
trailing newline at the end of the file is not an empty line; Windows line ends are accepted.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from seqframe.errors import DataError


def _read_bytes(path: Path) -> bytes:
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"data file {str(path)!r} does not exist.") from None
    except IsADirectoryError:
        raise DataError(f"{str(path)!r} is a folder, not a text file.") from None
    except (OSError, EOFError, zlib.error) as exc:  # a truncated or non-gzip .gz file
        raise DataError(f"cannot read {str(path)!r}: {exc}. Is it a complete "
                        f"{'gzip' if path.name.endswith('.gz') else 'text'} file?") from None


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(
            f"{path}, line {line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column "
            f"{column}). The translate task reads UTF-8 text; convert the file, e.g. with "
            f"`iconv -f latin1 -t utf-8`."
        ) from None


def _lines(path: Path) -> list[str]:
    text = _decode(_read_bytes(path), path)
    if text.startswith("\ufeff"):  # a byte-order mark is not part of the first sentence
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline
    return [line.rstrip("\r") for line in lines]


def read_sentences(path: str | Path) -> list[str]:
    """The sentences of a one-sentence-a-line file (``.gz`` decompressed), stripped.

    Raises:
        DataError: missing or unreadable file, not UTF-8, an empty (or blank) line, no lines.
    """
    path = Path(path)
    lines = [line.strip() for line in _lines(path)]
    for number, line in enumerate(lines, start=1):
        if not line:
            raise DataError(
                f"{path}, line {number} is empty; expected one sentence on every line (line N "
                "of the source file is translated by line N of the target file). Remove the "
                "line from both files of the pair, or put its sentence back."
            )
    if not lines:
        raise DataError(f"{path} holds no sentences; expected one sentence a line.")
    return lines


def read_tsv(path: str | Path, columns: tuple[int, int]) -> tuple[list[str], list[str]]:
    """Source and target sentences from the ``columns`` (0-based) of a tab-separated file.

    Other columns (an attribution, a licence) are ignored.

    Raises:
        DataError: missing or unreadable file, not UTF-8, a line with too few columns or an
            empty sentence, no lines.
    """
    path = Path(path)
    need = max(columns) + 1
    sources, targets = [], []
    for number, line in enumerate(_lines(path), start=1):
        fields = line.split("\t")
        if len(fields) < need:
            raise DataError(
                f"{path}, line {number} has {len(fields)} tab-separated column(s), expected at "
                f"least {need} (source in column {columns[0]}, target in column {columns[1]}, "
                "counted from 0; -o tsv_columns=S,T picks them). A file given to --data must "
                "hold tab-separated pairs; for one-sentence-a-line files pass their folder."
            )
        pair = (fields[columns[0]].strip(), fields[columns[1]].strip())
        for side, sentence in zip(("source", "target"), pair, strict=True):
            if not sentence:
                raise DataError(f"{path}, line {number}: the {side} sentence is empty; "
                                "remove the line or fill it in.")
        sources.append(pair[0])
        targets.append(pair[1])
    if not sources:
        raise DataError(f"{path} holds no sentence pairs; expected 'source<TAB>target' lines.")
    return sources, targets
