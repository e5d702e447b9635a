"""Where recordings come from, what they say, and how they are split.

``--data`` is one of:

* omitted: the FSDD subset shipped in this package (``data/``, see its README);
* a folder of Free Spoken Digit Dataset files named ``{digit}_{speaker}_{index}.wav``; the
  transcript is the digit's word (``3`` -> ``three``);
* a manifest CSV with a header ``path,transcript[,speaker]``: ``path`` relative to the CSV's
  folder (or absolute), ``transcript`` one label of the label set (``-o labels``), ``speaker``
  optional (needed by ``-o test_speakers``; without it every row is one speaker, ``""``).

Splits (:func:`split`): with ``-o test_speakers=A[,B]`` those speakers' recordings are the whole
test set and the others the training pool; otherwise FSDD folders use the dataset's official split
(take index 0-4 test, 5-49 training) and manifests a seeded random ``test_fraction`` of every
transcript's rows. Validation is then a seeded random ``val_fraction`` of every label's training
recordings (stratified), and training the rest.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqframe.errors import ConfigError, DataError

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)\.wav$", re.IGNORECASE)
FSDD_TEST_TAKES = 5  # official split: takes 0-4 of every digit and speaker are the test set
BUILTIN = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Recording:
    """One labelled recording.

    Attributes:
        path: the WAV file.
        label: its transcript, one word of the label set.
        speaker: who spoke it (``""`` when a manifest does not say).
        take: FSDD's take index, or None for manifest rows.
        where: how to name it in messages (file, or manifest row).
    """

    path: Path
    label: str
    speaker: str
    take: int | None
    where: str


def parse_labels(spec: str) -> tuple[str, ...]:
    """``-o labels``: ``digits`` (zero..nine) or a comma-separated list of words."""
    if spec.strip().lower() == "digits":
        return DIGIT_WORDS
    labels = tuple(w.strip().lower() for w in spec.split(",") if w.strip())
    if len(labels) < 2 or len(set(labels)) != len(labels) or any(" " in w for w in labels):
        raise ConfigError(f"-o labels={spec!r}: expected 'digits' or two or more distinct "
                          "comma-separated words (no spaces), e.g. -o labels=yes,no,up,down.")
    return labels


def scan_fsdd(folder: Path) -> list[Recording]:
    """The ``{digit}_{speaker}_{index}.wav`` files of ``folder``, sorted by name.

    Raises:
        DataError: a ``.wav`` file not named by the convention, or no WAV file at all.
    """
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() != ".wav":
            continue  # a README or licence beside the recordings
        match = FSDD_NAME.match(path.name)
        if match is None:
            raise DataError(
                f"{str(path)!r} does not follow the FSDD naming convention "
                "{digit}_{speaker}_{index}.wav; rename it, or list the folder's files with their "
                "transcripts in a manifest CSV (path,transcript[,speaker]) and pass that."
            )
        digit, speaker, take = match.groups()
        out.append(Recording(path, DIGIT_WORDS[int(digit)], speaker.lower(), int(take),
                             str(path)))
    if not out:
        raise DataError(f"the folder {str(folder)!r} holds no .wav recordings; expected FSDD "
                        "files named {digit}_{speaker}_{index}.wav.")
    return out


def _manifest_row(row: dict, number: int, csv_path: Path) -> Recording:
    where = f"{csv_path}, row {number}"
    raw_path = (row.get("path") or "").strip()
    label = " ".join((row.get("transcript") or "").lower().split())
    if not raw_path or not label:
        raise DataError(f"{where}: empty path or transcript; every row needs both.")
    path = Path(raw_path)
    path = path if path.is_absolute() else csv_path.parent / path
    if not path.is_file():
        raise DataError(f"{where}: the audio file {str(path)!r} does not exist; paths are "
                        "relative to the manifest's folder. Fix the path or drop the row.")
    return Recording(path, label, (row.get("speaker") or "").strip().lower(), None, where)


def read_manifest(csv_path: Path) -> list[Recording]:
    """The rows of a ``path,transcript[,speaker]`` manifest.

    Raises:
        DataError: a missing column, an empty field, a missing audio file, or no rows.
    """
    with csv_path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("path", "transcript") if c not in columns]
        if missing:
            raise DataError(f"the manifest {str(csv_path)!r} has columns {columns}; expected a "
                            "header path,transcript[,speaker].")
        reader.fieldnames = columns
        rows = [_manifest_row(row, n, csv_path) for n, row in enumerate(reader, start=2)]
    if not rows:
        raise DataError(f"the manifest {str(csv_path)!r} has no rows after its header.")
    return rows


def load(data: str | None) -> tuple[list[Recording], str]:
    """``(recordings, kind)`` with kind ``fsdd`` or ``manifest``; see the module docstring."""
    if data is None:
        return scan_fsdd(BUILTIN), "fsdd"
    path = Path(data).expanduser()
    if path.is_dir():
        return scan_fsdd(path), "fsdd"
    if path.is_file() and path.suffix.lower() == ".csv":
        return read_manifest(path), "manifest"
    if path.is_file():
        raise DataError(f"--data {data!r} is a file but not a .csv manifest; expected a folder "
                        "of FSDD recordings or a manifest CSV (path,transcript[,speaker]).")
    raise DataError(f"--data {data!r} does not exist; expected a folder of FSDD recordings "
                    "({digit}_{speaker}_{index}.wav) or a manifest CSV.")


def check_labels(recordings: list[Recording], labels: tuple[str, ...]) -> None:
    """Every transcript is in the label set, or a DataError naming the first that is not."""
    known = set(labels)
    for rec in recordings:
        if rec.label not in known:
            raise DataError(
                f"{rec.where}: transcript {rec.label!r} is not in the label set "
                f"({', '.join(labels)}). Each transcript is one label; declare the set with "
                "-o labels=WORD,WORD,... or fix the transcript."
            )


def stratified_holdout(labels: list[str], fraction: float, rng: np.random.Generator
                       ) -> np.ndarray:
    """Indices holding ``round(fraction * n_c)`` of every label's ``n_c`` items (at least one,
    and never all, where ``n_c >= 2``), sorted."""
    held: list[int] = []
    names = np.asarray(labels)
    for label in sorted(set(labels)):
        members = rng.permutation(np.flatnonzero(names == label))
        take = min(max(int(np.floor(fraction * len(members) + 0.5)), 1), len(members) - 1)
        held.extend(members[:take].tolist())
    return np.sort(np.asarray(held, dtype=np.int64))


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ConfigError(f"-o {name} must be between 0 and 1 (exclusive), got {value}.")


def _speaker_split(recordings: list[Recording], spec: str) -> tuple[list[int], list[int]]:
    wanted = [s.strip().lower() for s in spec.split(",") if s.strip()]
    present = sorted({r.speaker for r in recordings})
    if present == [""]:
        raise ConfigError("-o test_speakers needs to know who speaks: the manifest has no "
                          "speaker column (path,transcript,speaker).")
    unknown = [s for s in wanted if s not in present]
    if unknown:
        raise ConfigError(f"-o test_speakers: speaker {unknown[0]!r} has no recording; the "
                          f"data's speakers are {', '.join(repr(s) for s in present)}.")
    test = [i for i, r in enumerate(recordings) if r.speaker in wanted]
    pool = [i for i, r in enumerate(recordings) if r.speaker not in wanted]
    if not pool:
        raise ConfigError(f"-o test_speakers={spec!r} leaves no speaker to train on; hold out "
                          "fewer speakers.")
    return pool, test


def split(recordings: list[Recording], kind: str, *, test_speakers: str | None,
          test_fraction: float, val_fraction: float, seed: int) -> dict[str, list[int]]:
    """Indices of the ``train``, ``val`` and ``test`` recordings (see the module docstring)."""
    _check_fraction("val_fraction", val_fraction)
    if test_speakers:
        pool, test = _speaker_split(recordings, test_speakers)
    elif kind == "fsdd":
        test = [i for i, r in enumerate(recordings) if r.take < FSDD_TEST_TAKES]
        pool = [i for i, r in enumerate(recordings) if r.take >= FSDD_TEST_TAKES]
    else:
        _check_fraction("test_fraction", test_fraction)
        held = set(stratified_holdout([r.label for r in recordings], test_fraction,
                                      np.random.default_rng([seed, 0x7E57])).tolist())
        test = sorted(held)
        pool = [i for i in range(len(recordings)) if i not in held]
    if not test or not pool:
        raise DataError(f"the data gives {len(pool)} training and {len(test)} test recordings; "
                        "both sets need recordings (FSDD takes 0-4 are the test set).")
    val_at = stratified_holdout([recordings[i].label for i in pool], val_fraction,
                                np.random.default_rng([seed, 0x7A1]))
    val = [pool[i] for i in val_at]
    if not val:
        raise DataError("no label has two or more training recordings, so no validation set "
                        "can be carved from them; add recordings.")
    train = sorted(set(pool) - set(val))
    return {"train": train, "val": val, "test": test}
