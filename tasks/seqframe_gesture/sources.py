"""Where the gesture task's data comes from: ``--data`` resolved to a train and a test set.

``--data`` may be

* nothing or a built-in name (case-insensitive): ``PickupGestureWiimoteZ`` (default),
  ``JapaneseVowels``, shipped inside this package;
* a ``X_TRAIN.ts`` file: its test set is the ``X_TEST.ts`` beside it (``-o test=PATH`` overrides);
* a folder ``X/`` holding ``X_TRAIN.ts`` and ``X_TEST.ts`` (the UCR archive's layout);
* ``hf:NAME`` -- a Hugging Face data set with ``train`` and ``test`` splits, read through
  :func:`seqframe.hfdata.load_hf`; the series and label columns are task options.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from seqframe.errors import DataError

from .tsformat import MAX_ABS, TsData, TsHeader, read_ts

DATA_DIR = Path(__file__).parent / "data"
BUILTIN = ("PickupGestureWiimoteZ", "JapaneseVowels")
DEFAULT = "PickupGestureWiimoteZ"
_TRAIN_NAME = re.compile(r"^(?P<stem>.*)_(?P<train>train)(?P<ext>\.ts)$", re.IGNORECASE)


def builtin_name(data: str | None) -> str | None:
    """The built-in data set ``data`` names (any case), or None; a path that exists wins."""
    if data is None:
        return DEFAULT
    if Path(data).exists():
        return None
    return next((name for name in BUILTIN if name.lower() == data.strip().lower()), None)


def test_sibling(train_path: Path) -> Path | None:
    """``X_TRAIN.ts`` -> ``X_TEST.ts`` (same case as ``TRAIN``); None for other names."""
    match = _TRAIN_NAME.match(train_path.name)
    if match is None:
        return None
    test = "TEST" if match["train"].isupper() else "test"
    return train_path.with_name(f"{match['stem']}_{test}{match['ext']}")


def _train_file(data: str) -> Path:
    path = Path(data).expanduser()
    if path.is_dir():
        inside = sorted(path.glob("*_TRAIN.ts")) + sorted(path.glob("*_train.ts"))
        preferred = [p for p in inside if p.name.lower() == f"{path.name.lower()}_train.ts"]
        if not (preferred or inside):
            raise DataError(
                f"folder {data!r} holds no X_TRAIN.ts file; pass --data path/to/X_TRAIN.ts."
            )
        return (preferred or inside)[0]
    if not path.exists():
        raise DataError(
            f"--data {data!r} is not a file, a folder, a built-in data set "
            f"({', '.join(BUILTIN)}) or a Hugging Face source (hf:NAME). Pass an existing "
            "X_TRAIN.ts file (its X_TEST.ts beside it) or one of those names."
        )
    return path


def train_path(data: str | None) -> Path:
    """The training ``.ts`` file ``--data`` names (a built-in name, a file or a folder)."""
    name = builtin_name(data)
    return DATA_DIR / f"{name}_TRAIN.ts" if name is not None else _train_file(data)


def load_files(data: str, test: str | None) -> tuple[TsData, TsData]:
    """Read a ``.ts`` train file and its test file (sibling, or ``test`` when given)."""
    train_path = _train_file(data)
    if test is not None:
        test_path = Path(test).expanduser()
    else:
        test_path = test_sibling(train_path)
        if test_path is None:
            raise DataError(
                f"cannot tell where the test set of {str(train_path)!r} is: its name does not end "
                "in _TRAIN.ts. Name the files X_TRAIN.ts / X_TEST.ts, or pass -o test=PATH."
            )
        if not test_path.exists():
            raise DataError(
                f"no test file {str(test_path)!r} beside {str(train_path)!r}; expected the UCR "
                "pair X_TRAIN.ts / X_TEST.ts. Put it there or pass -o test=PATH."
            )
    return read_ts(train_path), read_ts(test_path)


def load_builtin(name: str, test: str | None = None) -> tuple[TsData, TsData]:
    """Read a built-in train/test pair shipped in ``seqframe_gesture/data`` (or another test)."""
    test_path = Path(test).expanduser() if test else DATA_DIR / f"{name}_TEST.ts"
    return read_ts(DATA_DIR / f"{name}_TRAIN.ts"), read_ts(test_path)


def label_order(labels: list[str]) -> tuple[str, ...]:
    """Distinct labels, numerically sorted when they are all numbers, else alphabetically."""
    distinct = set(labels)
    try:
        return tuple(sorted(distinct, key=float))
    except ValueError:
        return tuple(sorted(distinct))


# ---- Hugging Face ------------------------------------------------------------------------------


def _channels(value: Any, layout: str, where: str) -> list[np.ndarray]:
    if value is None:
        raise DataError(f"{where} is empty; expected a list of numbers.")
    if len(value) and isinstance(value[0], (list, tuple, np.ndarray)):
        rows = [np.asarray([np.nan if v is None else v for v in row], float) for row in value]
        if layout == "time_first":
            rows = [np.asarray(step, float) for step in zip(*rows, strict=True)]
        return rows
    return [np.asarray([np.nan if v is None else v for v in value], float)]


def _hf_case(row: dict, columns: list[str], layout: str, where: str) -> np.ndarray:
    channels: list[np.ndarray] = []
    for col in columns:
        channels += _channels(row[col], layout, f"{where}, column {col!r}")
    case = np.full((max(len(c) for c in channels), len(channels)), np.nan)  # (T, D)
    for d, channel in enumerate(channels):
        case[: len(channel), d] = channel
    bad = np.argwhere(np.abs(case) > MAX_ABS)  # NaN (missing) compares False
    if len(bad):
        t, d = (int(i) for i in bad[0])
        raise DataError(
            f"{where}, channel {d}, value {t} is {float(case[t, d])!r}, which is "
            f"{'not finite' if np.isinf(case[t, d]) else 'too large'}; expected finite numbers "
            f"of magnitude at most {MAX_ABS:.3g} (None or NaN for a missing value). Fix the "
            f"data set.")
    return case


def _hf_split(dataset: Any, spec: str, split: str, opts: dict) -> TsData:
    columns = [c.strip() for c in opts["hf_series"].split(",") if c.strip()]
    label = opts["hf_label"]
    missing = [c for c in [*columns, label] if c not in dataset.column_names]
    if missing:
        raise DataError(
            f"Hugging Face data set {spec!r} split {split!r} has no column {missing[0]!r}; its "
            f"columns are {', '.join(dataset.column_names)}. Choose them with "
            "-o hf_series=COL[,COL...] -o hf_label=COL."
        )
    feature = dataset.features[label]
    to_name = feature.int2str if hasattr(feature, "int2str") else str
    series, labels = [], []
    for i, row in enumerate(dataset):
        series.append(_hf_case(row, columns, opts["hf_layout"], f"{spec} {split} row {i}"))
        labels.append(str(to_name(row[label])))
    header = TsHeader(problem_name=spec, class_label=True, class_labels=label_order(labels))
    return TsData(series, labels, header, f"{spec}[{split}]")


def load_hf_pair(spec: str, opts: dict) -> tuple[TsData, TsData]:
    """Train and test sets from a Hugging Face source (``-o hf_*`` options name the columns)."""
    from seqframe.hfdata import load_hf  # imports datasets lazily, with a clear error if missing

    dataset = load_hf(spec)
    splits = getattr(dataset, "keys", lambda: [])()
    wanted = (opts["hf_train_split"], opts["hf_test_split"])
    absent = [s for s in wanted if s not in splits]
    if absent:
        raise DataError(
            f"Hugging Face data set {spec!r} has no split {absent[0]!r} (it has: "
            f"{', '.join(splits) or 'a single unnamed split'}); pick them with "
            "-o hf_train_split=NAME -o hf_test_split=NAME."
        )
    return tuple(_hf_split(dataset[s], spec, s, opts) for s in wanted)  # type: ignore[return-value]
