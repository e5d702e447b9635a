"""Reader for the UCR/UEA ``.ts`` time-series classification format.

A ``.ts`` file is a header of ``@key value`` lines (``#`` lines are comments) followed by
``@data`` and one case per line::

    @problemName Toy
    @univariate false
    @dimensions 2
    @equalLength false
    @classLabel true a b
    @data
    1.0,2.0,3.0:0.5,0.1,?:a        <- channel 0 : channel 1 : label
    4.0,5.0:1.0,NaN:b

Values are separated by ``,``, channels by ``:``, and the class label (when ``@classLabel true``)
comes last. ``?`` and ``NaN`` are missing values; every other value must be a finite number
within float32's range (``|x| <=`` :data:`MAX_ABS`), the precision runs train in by default --
an ``inf`` or ``1e300`` would turn the channel's scaler into inf/NaN and silently erase the
channel in every series. Channels of one case may differ in length; the
shorter ones are padded with NaN so every case becomes one ``(T, D)`` array. Cases of different
lengths stay separate arrays: nothing is resampled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqframe.errors import DataError

_BOOL_KEYS = ("timestamps", "missing", "univariate", "equallength")
_MISSING = ("?", "nan")
MAX_ABS = float(np.finfo(np.float32).max)  # ~3.4e38


@dataclass
class TsHeader:
    """The metadata of a ``.ts`` file (keys are case-insensitive in the file)."""

    problem_name: str = ""
    timestamps: bool = False
    missing: bool = False
    univariate: bool | None = None
    dimensions: int | None = None
    equal_length: bool | None = None
    series_length: int | None = None
    class_label: bool = False
    class_labels: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class TsData:
    """The cases of one ``.ts`` file.

    Attributes:
        series: one ``(T_i, D)`` float64 array per case; NaN where a value is missing.
        labels: one class label per case, or None when the file has no labels.
        header: the file's metadata.
        path: where it was read from.
    """

    series: list[np.ndarray]
    labels: list[str] | None
    header: TsHeader
    path: str = ""

    @property
    def n_channels(self) -> int:
        return self.series[0].shape[1]


def _fail(path: str, line_no: int, what: str, expected: str) -> DataError:
    return DataError(
        f"{path}, line {line_no}: {what}; expected {expected}. "
        "Fix the file (the .ts format is described in seqframe_gesture/tsformat.py)."
    )


def _parse_bool(path: str, line_no: int, key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise _fail(path, line_no, f"@{key} has value {value!r}", "'true' or 'false'")
    return lowered == "true"


def _parse_header_line(header: TsHeader, path: str, line_no: int, line: str) -> None:
    key, _, value = line[1:].partition(" ")
    key_l, value = key.lower(), value.strip()
    if key_l == "problemname":
        header.problem_name = value
    elif key_l in _BOOL_KEYS:
        flag = _parse_bool(path, line_no, key, value)
        attr = {"equallength": "equal_length"}.get(key_l, key_l)
        setattr(header, attr, flag)
    elif key_l in ("dimensions", "serieslength"):
        if not value.isdigit() or int(value) < 1:
            raise _fail(path, line_no, f"@{key} has value {value!r}", "a positive integer")
        setattr(header, "dimensions" if key_l == "dimensions" else "series_length", int(value))
    elif key_l == "classlabel":
        words = value.split()
        if not words:
            raise _fail(path, line_no, "@classLabel has no value", "'true <labels...>' or 'false'")
        header.class_label = _parse_bool(path, line_no, key, words[0])
        if header.class_label and len(words) < 2:
            raise _fail(path, line_no, "@classLabel true lists no labels",
                        "the class labels after 'true', e.g. '@classLabel true 1 2 3'")
        header.class_labels = tuple(words[1:])
    else:
        header.extra[key] = value


def _parse_channel(path: str, line_no: int, index: int, text: str) -> np.ndarray:
    values = text.split(",")
    out = np.empty(len(values))  # (T,)
    for t, raw in enumerate(values):
        token = raw.strip()
        if token.lower() in _MISSING:
            out[t] = np.nan
            continue
        try:
            out[t] = float(token)
        except ValueError:
            expected = "a number, '?' or 'NaN' (values separated by ',', channels by ':')"
            raise _fail(path, line_no, f"channel {index}, value {t} is {token!r}",
                        expected) from None
        if not abs(out[t]) <= MAX_ABS:
            raise _fail(path, line_no, f"channel {index}, value {t} is {token!r}, which is "
                        f"{'not finite' if np.isinf(out[t]) else 'too large'}",
                        f"a finite number of magnitude at most {MAX_ABS:.3g} ('?' or NaN for a "
                        f"missing value)")
    return out


def _parse_case(header: TsHeader, path: str, line_no: int, line: str):
    fields = line.split(":")
    label = None
    if header.class_label:
        if len(fields) < 2:
            raise _fail(path, line_no, "no class label after the values",
                        "'values:label' because the header says @classLabel true")
        if header.dimensions is not None and len(fields) != header.dimensions + 1:
            cut = " (the line may be cut short)" if len(fields) <= header.dimensions else ""
            raise _fail(path, line_no, f"{len(fields)} ':'-separated fields{cut}",
                        f"{header.dimensions} channel(s) and then the class label, because the "
                        f"header says @dimensions {header.dimensions} and @classLabel true")
        label = fields.pop().strip()
        if label not in header.class_labels:
            looks_cut = "," in label or (not _is_number_list(header.class_labels)
                                         and _is_number(label))
            hint = " (it looks like values: the line may be cut short)" if looks_cut else ""
            raise _fail(path, line_no, f"class label {label!r} is not declared{hint}",
                        f"one of the @classLabel labels: {' '.join(header.class_labels)}")
    if header.dimensions is not None and len(fields) != header.dimensions:
        raise _fail(path, line_no, f"{len(fields)} channels",
                    f"{header.dimensions} (from @dimensions / @univariate)")
    channels = [_parse_channel(path, line_no, d, text) for d, text in enumerate(fields)]
    length = max(len(c) for c in channels)
    case = np.full((length, len(channels)), np.nan)  # (T, D), shorter channels NaN-padded
    for d, channel in enumerate(channels):
        case[: len(channel), d] = channel
    if header.equal_length and header.series_length and length != header.series_length:
        raise _fail(path, line_no, f"a series of length {length}",
                    f"length {header.series_length} (from @equalLength true / @seriesLength)")
    return case, label


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_number_list(words: tuple[str, ...]) -> bool:
    return bool(words) and all(_is_number(w) for w in words)


def _check_header(header: TsHeader, path: str, line_no: int) -> None:
    if header.timestamps:
        raise _fail(path, line_no, "@timeStamps true is not supported",
                    "@timeStamps false (values without time stamps)")
    if header.univariate and header.dimensions not in (None, 1):
        raise _fail(path, line_no, f"@univariate true with @dimensions {header.dimensions}",
                    "@dimensions 1 or @univariate false")
    if header.univariate:
        header.dimensions = 1


def read_ts(path: str | Path) -> TsData:
    """Read a ``.ts`` file.

    Raises:
        DataError: the file is missing, has no ``@data`` section or no cases, or a line does not
            fit the header (the message names the line and what was expected).
    """
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"data file {name!r} does not exist; pass an existing .ts file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read data file {name!r} as UTF-8 text: {exc}.") from None
    header, series, labels, in_data, width = TsHeader(), [], [], False, None
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise _fail(name, line_no, f"a data line before @data ({line[:40]!r})",
                            "header lines starting with '@', then '@data'")
            if line.lower() == "@data":
                _check_header(header, name, line_no)
                in_data = True
            else:
                _parse_header_line(header, name, line_no, line)
            continue
        case, label = _parse_case(header, name, line_no, line)
        if width is not None and case.shape[1] != width:
            raise _fail(name, line_no, f"{case.shape[1]} channels",
                        f"{width} like the cases above it")
        width = case.shape[1]
        series.append(case)
        labels.append(label)
    if not in_data:
        raise DataError(f"{name}: no '@data' line; expected a .ts header ending in '@data'.")
    if not series:
        raise DataError(f"{name}: no cases after '@data'; expected one series per line.")
    return TsData(series, labels if header.class_label else None, header, name)


def write_ts(path: str | Path, series: list[np.ndarray], labels: list[str] | None,
             problem_name: str, class_labels: tuple[str, ...] = ()) -> Path:
    """Write ``(T_i, D)`` cases (NaN = missing) as a ``.ts`` file that :func:`read_ts` reads back.

    Used to cut a training file into cross-validation folds (``benchmarks/gesture_cv.py``);
    ``class_labels`` keeps the full class list even when a fold lacks some class.
    """
    dims = series[0].shape[1]
    lengths = {len(s) for s in series}
    labelled = labels is not None
    declared = class_labels or tuple(dict.fromkeys(labels or ()))
    head = [f"@problemName {problem_name}", f"@univariate {str(dims == 1).lower()}",
            f"@dimensions {dims}", f"@equalLength {str(len(lengths) == 1).lower()}",
            f"@missing {str(any(np.isnan(s).any() for s in series)).lower()}",
            "@classLabel " + ("true " + " ".join(declared) if labelled else "false"), "@data"]
    lines = []
    for i, case in enumerate(series):
        channels = ":".join(",".join("?" if np.isnan(v) else repr(float(v)) for v in case[:, d])
                            for d in range(dims))
        lines.append(channels + (f":{labels[i]}" if labelled else ""))
    path = Path(path)
    path.write_text("\n".join(head + lines) + "\n", encoding="utf-8")
    return path
