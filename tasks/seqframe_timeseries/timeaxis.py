"""The time axis: parsing timestamps, inferring the sampling frequency, calendar features.

Times are kept as ``datetime64[s]`` (naive; aware inputs are converted to UTC). A frequency is
either a whole number of months (monthly, quarterly, yearly data, where step lengths in seconds
vary) or a whole number of seconds (hourly, daily, weekly...).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from seqframe.errors import ConfigError

# tried in order after ISO 8601 when a column does not parse as ISO dates
_FORMATS = (
    "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
    "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S",
    "%b %d %Y",  # "Jan 1 2000", the vega-datasets stocks file
)
# calendar feature -> period; each becomes a (sin, cos) pair so the cycle wraps smoothly
CALENDAR_PERIODS = {"hour": 24.0, "weekday": 7.0, "month": 12.0, "dayofyear": 365.25}
_DAY = 86400
# -o freq units: name -> (unit, multiplier); "M" is a month (pandas' "MS"), "min" a minute
_FREQ_UNITS = {
    "s": ("seconds", 1), "sec": ("seconds", 1), "min": ("seconds", 60), "t": ("seconds", 60),
    "h": ("seconds", 3600), "hour": ("seconds", 3600), "d": ("seconds", _DAY),
    "day": ("seconds", _DAY), "w": ("seconds", 7 * _DAY), "week": ("seconds", 7 * _DAY),
    "m": ("months", 1), "ms": ("months", 1), "month": ("months", 1), "q": ("months", 3),
    "qs": ("months", 3), "quarter": ("months", 3), "y": ("months", 12), "a": ("months", 12),
    "ys": ("months", 12), "year": ("months", 12),
}


@dataclass(frozen=True)
class Frequency:
    """A regular sampling step: ``step`` months or ``step`` seconds."""

    unit: str  # "months" | "seconds"
    step: int

    def describe(self) -> str:
        names = {("months", 1): "monthly", ("months", 3): "quarterly", ("months", 12): "yearly",
                 ("seconds", 3600): "hourly", ("seconds", _DAY): "daily",
                 ("seconds", 7 * _DAY): "weekly"}
        return names.get((self.unit, self.step), f"every {self.step} {self.unit}")

    def to_dict(self) -> dict:
        return {"unit": self.unit, "step": self.step}

    @classmethod
    def from_dict(cls, data: dict | None) -> Frequency | None:
        return None if data is None else cls(str(data["unit"]), int(data["step"]))


def parse_frequency(text: str) -> Frequency:
    """``-o freq``: a count and a unit, ``5min``, ``15min``, ``1h``, ``D``, ``W``, ``M``, ``Q``.

    Raises:
        ConfigError: an unknown unit or a count below 1.
    """
    match = re.fullmatch(r"\s*(\d*)\s*([A-Za-z]+)\s*", text)
    unit, count = None, 0
    if match:
        name = match.group(2).lower()
        unit = _FREQ_UNITS.get(name) or _FREQ_UNITS.get(name[:-1] if name.endswith("s") else "")
        count = int(match.group(1) or 1)
    if unit is None or count < 1:
        raise ConfigError(
            f"-o freq={text!r} is not a time step. Expected a count and a unit such as 5min, "
            f"15min, 1h, D (day), W (week), M (month), Q (quarter) or Y (year).")
    return Frequency(unit[0], count * unit[1])


def regular_times(start: str, freq: Frequency, count: int) -> np.ndarray:
    """``count`` timestamps from ``start`` (``-o start``), one ``freq`` apart: (count,).

    Raises:
        ConfigError: ``start`` is not an ISO timestamp.
    """
    first = parse_times(np.array([start], dtype=object))
    if first is None or np.isnat(first[0]):
        raise ConfigError(f"-o start={start!r} is not a timestamp; expected ISO 8601 such as "
                          f"2012-03-01T00:00 or 2012-03-01.")
    rest = future_times(first[0], freq, count - 1)
    return np.concatenate([first, rest]).astype("datetime64[s]")


def parse_times(column: np.ndarray) -> np.ndarray | None:
    """Parse a column of timestamps.

    Args:
        column: (N,) ``datetime64`` or object array of strings.

    Returns:
        (N,) ``datetime64[s]``, or None when some value is not a timestamp. Empty cells give NaT.
    """
    if column.dtype.kind == "M":
        return column.astype("datetime64[s]")
    if column.dtype.kind != "O":
        return None
    texts = [str(v).strip() for v in column]
    if not any(texts) or all(_is_number(t) for t in texts if t):
        return None  # numbers are values, not dates (numpy would read "112" as the year 112)
    parsed = _parse_iso_numpy(texts)
    if parsed is None:
        parsed = _parse_python(texts)
    return parsed


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_iso_numpy(texts: list[str]) -> np.ndarray | None:
    # "/" as the date separator ("2010/01/01 00:00") is ISO order with other punctuation
    cleaned = [t.replace("/", "-") if t[:4].isdigit() else t for t in texts]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns (deprecated) on timezone offsets
            return np.array(cleaned, dtype="datetime64[s]")
    except (ValueError, TypeError, DeprecationWarning, UserWarning):
        return None


def _parse_python(texts: list[str]) -> np.ndarray | None:
    parsers = [_fromisoformat] + [lambda t, f=f: datetime.strptime(t, f) for f in _FORMATS]
    for parse in parsers:
        try:
            values = [parse(t) if t else None for t in texts]
        except ValueError:
            continue
        return np.array([_to_utc_naive(v) for v in values], dtype="datetime64[s]")
    return None


def _fromisoformat(text: str) -> datetime:
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def _to_utc_naive(value: datetime | None):
    if value is None:
        return np.datetime64("NaT")
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return np.datetime64(value, "s")


def years_from_numbers(values: np.ndarray) -> np.ndarray | None:
    """Whole numbers in 1000..3000 read as years (a numeric ``year`` time column), else None."""
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return None
    if values.min() < 1000 or values.max() > 3000:
        return None
    return np.array([f"{int(v):04d}" for v in values], dtype="datetime64[Y]").astype(
        "datetime64[s]")


def infer_frequency(times: np.ndarray) -> Frequency | None:
    """The most common step between consecutive times, if at least half the steps take it.

    Monthly-type data (every time at the start of a month) is measured in months, so January's
    31 days and February's 28 are one step each. Returns None for irregular series.
    """
    if times is None or len(times) < 2:
        return None
    months = times.astype("datetime64[M]")
    if np.all(months.astype("datetime64[s]") == times):
        steps, unit = np.diff(months.astype(np.int64)), "months"
    else:
        steps, unit = np.diff(times.astype(np.int64)), "seconds"
    values, counts = np.unique(steps, return_counts=True)
    best = int(np.argmax(counts))
    if values[best] <= 0 or counts[best] * 2 < len(steps):
        return None
    return Frequency(unit, int(values[best]))


def future_times(last: np.datetime64, freq: Frequency, count: int) -> np.ndarray:
    """The ``count`` timestamps after ``last``, one step of ``freq`` apart: (count,)."""
    steps = np.arange(1, count + 1) * freq.step
    if freq.unit == "months":
        start = last.astype("datetime64[M]")
        return (start + steps.astype("timedelta64[M]")).astype("datetime64[s]")
    return last.astype("datetime64[s]") + steps.astype("timedelta64[s]")


def default_season(freq: Frequency | None) -> int:
    """The natural seasonal period: 12 for monthly, 4 quarterly, 24 hourly, 7 daily, 52 weekly."""
    if freq is None:
        return 1
    if freq.unit == "months":
        return 12 // freq.step if freq.step < 12 and 12 % freq.step == 0 else 1
    if freq.step < _DAY and _DAY % freq.step == 0:
        return _DAY // freq.step
    return {_DAY: 7, 7 * _DAY: 52}.get(freq.step, 1)


def calendar_features(times: np.ndarray, names: list[str]) -> np.ndarray:
    """Cyclic (sin, cos) encodings of calendar fields.

    Args:
        times: (N,) ``datetime64[s]``.
        names: fields from :data:`CALENDAR_PERIODS`.

    Returns:
        (N, 2 * len(names)) float64.
    """
    days = times.astype("datetime64[D]")
    fields = {
        "hour": (times - days).astype("timedelta64[s]").astype(np.int64) / 3600.0,
        "weekday": (days.astype(np.int64) + 3) % 7.0,  # 1970-01-01 was a Thursday; Monday = 0
        "month": times.astype("datetime64[M]").astype(np.int64) % 12.0,
        "dayofyear": (days - days.astype("datetime64[Y]")).astype(np.int64).astype(np.float64),
    }
    out = np.zeros((len(times), 2 * len(names)))  # (N, 2C)
    for i, name in enumerate(names):
        angle = 2 * np.pi * fields[name] / CALENDAR_PERIODS[name]
        out[:, 2 * i], out[:, 2 * i + 1] = np.sin(angle), np.cos(angle)
    return out


def format_times(times: np.ndarray | None, freq: Frequency | None) -> list[str]:
    """Timestamps as text at the resolution of the data ("1961-01" monthly, ISO otherwise)."""
    if times is None:
        return []
    if freq is not None and freq.unit == "months":
        return [str(t) for t in times.astype("datetime64[M]")]
    if np.all(times.astype("datetime64[D]").astype("datetime64[s]") == times):
        return [str(t) for t in times.astype("datetime64[D]")]
    return [str(t).replace("T", " ") for t in times]
