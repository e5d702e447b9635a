"""From a table to a series: the target, the time axis, covariates, missing values.

Missing values are empty/NaN cells. Under ``missing=error`` they are an error naming the column
and the first row; under ``missing=interpolate`` they are filled linearly (flat at the ends), and
missing timestamps of a regular series (a skipped hour) are filled the same way. Under
``missing=error`` a skipped timestamp is not an error: the rows are used as consecutive steps.

Other values must be finite numbers within float32's range (:data:`MAX_ABS`): an ``inf`` or
``1e300`` cell is a data error naming its line and column (it would otherwise train to infinite
metrics, or fail as a "non-finite loss" that blames the learning rate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from seqframe.errors import ConfigError, DataError

from .io import Table
from .timeaxis import Frequency, infer_frequency, parse_times, years_from_numbers

_MISSING = {"", "na", "nan", "null", "none", "n/a", "?", "-"}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
MAX_ABS = float(np.finfo(np.float32).max)  # ~3.4e38
_TIME_NAMES = ("date", "time", "datetime", "timestamp", "ds", "month", "period")


@dataclass
class Series:
    """One target series with its time axis and covariates, all (N, ...) aligned."""

    values: np.ndarray  # (N,) float64 target
    target: str
    times: np.ndarray | None  # (N,) datetime64[s]
    time_column: str | None
    covariates: np.ndarray  # (N, C) float64
    covariate_names: list[str]
    frequency: Frequency | None
    source: str

    def __len__(self) -> int:
        return len(self.values)


def numeric(column: np.ndarray) -> np.ndarray | None:
    """(N,) float64 with NaN for missing cells, or None when a cell is not a number."""
    if column.dtype.kind in "fiub":
        return column.astype(np.float64)
    if column.dtype.kind != "O":
        return None
    out = np.empty(len(column))
    for i, cell in enumerate(column):
        text = str(cell).strip()
        if text.lower() in _MISSING:
            out[i] = np.nan
            continue
        try:
            out[i] = float(text)
        except ValueError:
            return None
    return out


def select_series(table: Table, target: str | None = None, time_column: str = "auto",
                  covariates: str = "", missing: str = "error") -> Series:
    """Pick the columns a run uses and check them.

    Args:
        table: the loaded data.
        target: the column to forecast; None picks the only numeric column (or the built-in
            data set's target).
        time_column: a column name, ``auto`` (the one column of dates, if exactly one) or ``none``.
        covariates: ``""`` (none), ``all`` (every other numeric column), or ``a,b``.
        missing: ``error`` or ``interpolate``.

    Raises:
        ConfigError: a named column that does not exist, or an ambiguous choice.
        DataError: a non-numeric target/covariate, bad timestamps, missing values under ``error``.
    """
    numbers = {name: numeric(col) for name, col in table.columns.items()}
    time_name, times = _time_axis(table, time_column, numbers)
    named = {n.strip() for n in covariates.split(",")} - {"all", ""}
    target = _target(table, target, time_name, {time_name, *named}, numbers)
    cov_names = _covariates(table, covariates, {target, time_name}, numbers)
    for name in (target, *cov_names):
        _check_finite(table, name, numbers[name])
    values = _fill(table, target, numbers[target], missing)
    cov = np.stack([_fill(table, c, numbers[c], missing) for c in cov_names], axis=1) \
        if cov_names else np.zeros((len(values), 0))  # (N, C)
    freq = infer_frequency(times)
    if missing == "interpolate" and times is not None and freq is not None:
        times, values, cov = _fill_gaps(times, freq, values, cov)
    return Series(values, target, times, time_name, cov, cov_names, freq, table.source)


def _unknown(table: Table, name: str, what: str) -> ConfigError:
    return ConfigError(
        f"{what} column {name!r} is not in {table.source}. Its columns are: "
        f"{', '.join(table.names)}."
    )


def _time_axis(table: Table, choice: str, numbers: dict) -> tuple[str | None, np.ndarray | None]:
    if choice == "none":
        return None, None
    if choice != "auto":
        if choice not in table.columns:
            raise _unknown(table, choice, "time")
        col = table.columns[choice]
        times = years_from_numbers(numbers[choice]) if numbers[choice] is not None \
            else parse_times(col)
        if times is None:
            row = _first_unparsed_time(col)
            raise DataError(
                f"time column {choice!r} of {table.source} does not hold timestamps: "
                f"{col[row]!r} at {table.where(row)} is not one. Expected ISO dates like "
                f"2010-01-31 or 2010-01-31 13:00 in every row, or use -o time_column=none."
            )
        return choice, _check_times(table, choice, times)
    found = {name: t for name, col in table.columns.items()
             if numbers[name] is None and (t := parse_times(col)) is not None}
    if len(found) > 1:
        named = [n for n in found if n.lower() in _TIME_NAMES]
        if len(named) != 1:
            raise ConfigError(
                f"{table.source} has several date columns ({', '.join(found)}); choose one with "
                f"-o time_column=NAME (or -o time_column=none)."
            )
        found = {named[0]: found[named[0]]}
    if not found:
        return None, None
    name, times = next(iter(found.items()))
    return name, _check_times(table, name, times)


def _check_times(table: Table, name: str, times: np.ndarray) -> np.ndarray:
    bad = np.flatnonzero(np.isnat(times))
    if len(bad):
        raise DataError(
            f"time column {name!r} of {table.source} has an empty or unreadable timestamp at "
            f"{table.where(int(bad[0]))}. Every row needs a time."
        )
    steps = np.diff(times.astype(np.int64))
    back = np.flatnonzero(steps <= 0)
    if len(back):
        i = int(back[0]) + 1
        raise DataError(
            f"time column {name!r} of {table.source} is not strictly increasing: "
            f"{times[i - 1]} is followed by {times[i]} at {table.where(i)}. Sort the rows by "
            f"time and remove duplicates."
        )
    return times


def _target(table: Table, target: str | None, time_name: str | None, taken: set,
            numbers: dict) -> str:
    """The target column; when not named, the one numeric column not otherwise taken."""
    if target is None:
        if table.default_target in table.columns:
            return table.default_target
        candidates = [n for n in table.names if n not in taken and numbers[n] is not None]
        if len(candidates) != 1:
            spoilt = [n for n in table.names if n not in taken and numbers[n] is None
                      and _mostly_numbers(table.columns[n])]
            if not candidates and spoilt:  # a numeric column with a bad cell: name the cell
                _require_numeric(table, spoilt[0], numbers, "the numeric-looking")
            raise ConfigError(
                f"{table.source} has {len(candidates)} numeric columns "
                f"({', '.join(candidates) or 'none'}); choose the one to forecast with "
                f"-o target=COLUMN. Columns: {', '.join(table.names)}."
            )
        return candidates[0]
    if target not in table.columns:
        raise _unknown(table, target, "target")
    if target == time_name:
        raise ConfigError(f"target column {target!r} is also the time column; choose another.")
    _require_numeric(table, target, numbers, "target")
    return target


def _require_numeric(table: Table, name: str, numbers: dict, what: str) -> None:
    if numbers[name] is None:
        col = table.columns[name]
        row = next(i for i, cell in enumerate(col) if numeric(np.array([cell], object)) is None)
        if _DECIMAL_COMMA.match(str(col[row]).strip()):
            raise DataError(
                f"{what} column {name!r} of {table.source} writes numbers with a decimal comma "
                f"({col[row]!r} at {table.where(row)}); seqframe reads a decimal point "
                f"(1.5). Save the file with '.' as the decimal separator (and ',' or ';' "
                f"between fields).")
        raise DataError(
            f"{what} column {name!r} of {table.source} is not numeric: {col[row]!r} at "
            f"{table.where(row)}. Fix or empty that cell (an empty cell is a missing value), "
            f"or choose a numeric column."
        )


def _mostly_numbers(column: np.ndarray) -> bool:
    """At least half the non-empty cells read as numbers (decimal commas counted)."""
    if column.dtype.kind != "O":
        return False
    cells = [str(c).strip() for c in column if str(c).strip().lower() not in _MISSING]
    numbers = sum(1 for c in cells if numeric(np.array([c], object)) is not None
                  or _DECIMAL_COMMA.match(c))
    return bool(cells) and 2 * numbers >= len(cells)


def _first_unparsed_time(column: np.ndarray) -> int:
    """The first cell that is not a timestamp on its own (the first cell when each one is)."""
    for i, cell in enumerate(column):
        if str(cell).strip() and parse_times(np.array([cell], dtype=object)) is None:
            return i
    return 0


def _check_finite(table: Table, name: str, values: np.ndarray) -> None:
    """Refuse infinite values and values beyond float32's range in a column a run uses."""
    bad = np.flatnonzero(np.abs(values) > MAX_ABS)  # NaN (missing) compares False
    if len(bad):
        row = int(bad[0])
        raise DataError(
            f"column {name!r} of {table.source} has the value {float(values[row])!r} at "
            f"{table.where(row)}, which is {'not finite' if np.isinf(values[row]) else 'too large'}"
            f"; expected finite numbers of magnitude at most {MAX_ABS:.3g} (an empty cell for a "
            f"missing value). Fix that cell.")


def _covariates(table: Table, spec: str, taken: set, numbers: dict) -> list[str]:
    spec = spec.strip()
    if not spec:
        return []
    if spec == "all":
        return [n for n in table.names if n not in taken and numbers[n] is not None]
    names = [n.strip() for n in spec.split(",") if n.strip()]
    for name in names:
        if name not in table.columns:
            raise _unknown(table, name, "covariate")
        if name in taken:
            raise ConfigError(f"covariate {name!r} is the target or the time column.")
        _require_numeric(table, name, numbers, "covariate")
    return names


def _fill(table: Table, name: str, values: np.ndarray, missing: str) -> np.ndarray:
    holes = np.isnan(values)
    if not holes.any():
        return values
    first = int(np.flatnonzero(holes)[0])
    if missing == "error":
        raise DataError(
            f"column {name!r} of {table.source} has {int(holes.sum())} missing value(s), the "
            f"first at {table.where(first)}. Fill them, or pass -o missing=interpolate."
        )
    if holes.all():
        raise DataError(f"column {name!r} of {table.source} has no values at all.")
    index = np.arange(len(values))
    filled = values.copy()
    # np.interp holds the end values flat, so leading/trailing gaps repeat the nearest value
    filled[holes] = np.interp(index[holes], index[~holes], values[~holes])
    return filled


def _fill_gaps(times, freq: Frequency, values, cov):
    """Insert skipped timestamps of a regular series, values interpolated linearly in time."""
    if freq.unit == "months":
        months = times.astype("datetime64[M]").astype(np.int64)
        grid_m = np.arange(months[0], months[-1] + 1, freq.step)
        if len(grid_m) == len(times):
            return times, values, cov
        grid = grid_m.astype("datetime64[M]").astype("datetime64[s]")
        x_old, x_new = months, grid_m
    else:
        secs = times.astype(np.int64)
        x_new = np.arange(secs[0], secs[-1] + 1, freq.step)
        if len(x_new) == len(times):
            return times, values, cov
        grid, x_old = x_new.astype("datetime64[s]"), secs
    new_values = np.interp(x_new, x_old, values)
    new_cov = np.stack([np.interp(x_new, x_old, c) for c in cov.T], axis=1) if cov.shape[1] \
        else np.zeros((len(x_new), 0))
    return grid, new_values, new_cov
