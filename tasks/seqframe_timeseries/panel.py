"""Many series from one table: a long file (id, time, value rows) or a wide one (a column each).

Every series is placed on one common time grid, so a time index means the same moment in every
series and a chronological split cuts all of them at once. A series may start later or end
earlier than others (unequal lengths and start dates): outside its *span* -- its first to its
last observed value -- it holds NaN and is never read. Inside its span, a missing value is an
empty/NaN cell, or, in a long file on a regular grid, a time step that has no row; the
``missing`` policy decides: ``error`` names the series and the time, ``interpolate`` fills it
linearly between its neighbours.

Shape letters: S series, N steps of the common grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqframe.errors import ConfigError, DataError

from .io import Table
from .series import _TIME_NAMES, _time_axis, numeric
from .timeaxis import (
    Frequency,
    format_times,
    infer_frequency,
    parse_frequency,
    parse_times,
    regular_times,
    years_from_numbers,
)


@dataclass
class Panel:
    """S series on a common grid of N steps.

    Attributes:
        ids: (S,) series ids (a wide file's headers, a long file's id values), in file order.
        values: (S, N) float64 in data units; NaN outside each series' span.
        starts, ends: (S,) each span is ``starts[s] .. ends[s] - 1`` on the grid.
        times: (N,) ``datetime64[s]`` grid times, or None when the data has no time axis.
        frequency: the grid step, when regular.
        value_name: the value column of a long file, or ``"value"``.
        source: what ``--data`` named, for messages.
        time_column: the column the times came from (None: none, or ``-o start``).
    """

    ids: list[str]
    values: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    times: np.ndarray | None
    frequency: Frequency | None
    value_name: str
    source: str
    time_column: str | None = None

    @property
    def steps(self) -> int:
        return self.values.shape[1]

    def select(self, ids: list[str], what: str = "the run") -> Panel:
        """The series ``ids`` in that order; a missing one is a DataError."""
        index = {name: i for i, name in enumerate(self.ids)}
        absent = [name for name in ids if name not in index]
        if absent:
            raise DataError(
                f"{self.source} has no series {absent[0]!r}, which {what} was trained on "
                f"({len(absent)} of its {len(ids)} series are missing). Its series are: "
                f"{_listing(self.ids)}.")
        rows = np.array([index[name] for name in ids], dtype=np.int64)
        return Panel(list(ids), self.values[rows], self.starts[rows], self.ends[rows],
                     self.times, self.frequency, self.value_name, self.source, self.time_column)


@dataclass(frozen=True)
class PanelSpec:
    """Which columns make the series (the ``-o`` options of a many-series run)."""

    id_column: str | None  # a long file's id column; None for a wide file
    time_column: str = "auto"
    target: str | None = None  # long: the value column; wide: "a,b,c" or None (all columns)
    start: str = ""
    freq: str = ""
    missing: str = "error"


def read_panel(table: Table, spec: PanelSpec) -> Panel:
    """Build the panel a many-series run reads.

    Raises:
        ConfigError: a named column that does not exist, contradictory options.
        DataError: no id column values, duplicated (id, time) rows, one row per series,
            non-numeric values, unreadable times, missing values under ``missing=error``.
    """
    if spec.id_column:
        return _long_panel(table, spec)
    return _wide_panel(table, spec)


def _listing(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


# ---- long files: one row per (series, time) --------------------------------------------------

def _long_panel(table: Table, spec: PanelSpec) -> Panel:
    id_col = spec.id_column
    if id_col not in table.columns:
        raise ConfigError(
            f"-o id={id_col!r}: {table.source} has no such column; its columns are "
            f"{', '.join(table.names)}. A long file has one row per (series, time) with an id, "
            f"a time and a value column; for a wide file (one column per series) leave -o id "
            f"unset and use -o layout=global or joint.")
    if spec.start or spec.freq:
        raise ConfigError("-o start and -o freq describe a wide file without a time column; "
                          "a long file's rows carry their own times. Drop them.")
    ids = np.array([str(v).strip() for v in table.columns[id_col]], dtype=object)
    blank = np.flatnonzero(ids == "")
    if len(blank):
        raise DataError(f"id column {id_col!r} of {table.source} is empty at "
                        f"{table.where(int(blank[0]))}; every row needs its series id.")
    numbers = {name: numeric(col) for name, col in table.columns.items()}
    time_name, times = _long_times(table, spec.time_column, id_col, numbers)
    value = _long_value(table, spec.target, {id_col, time_name}, numbers)
    names, first_row, inverse, counts = np.unique(ids, return_index=True, return_inverse=True,
                                                  return_counts=True)
    if counts.max() < 2:
        raise DataError(
            f"id column {id_col!r} of {table.source} names a different series on every row "
            f"({len(ids)} rows, {len(names)} ids): a series needs at least 2 rows. Is "
            f"{id_col!r} the series id? Columns: {', '.join(table.names)}.")
    rows = np.lexsort((times.astype(np.int64), inverse))  # (R,) by series, then time
    _check_unique_times(table, names, id_col, rows, inverse, times)
    grid, freq = _common_grid(times)
    values = np.full((len(names), len(grid)), np.nan)  # (S, N)
    observed = np.zeros((len(names), len(grid)), dtype=bool)
    at = np.searchsorted(grid, times[rows])
    values[inverse[rows], at] = numbers[value][rows]
    observed[inverse[rows], at] = True
    order = np.argsort(first_row, kind="stable")  # series in order of first appearance
    values, observed = values[order], observed[order]
    starts = observed.argmax(axis=1)
    ends = len(grid) - observed[:, ::-1].argmax(axis=1)
    panel = Panel([str(n) for n in names[order]], values, starts, ends, grid, freq, value,
                  table.source, time_name)
    _apply_missing(panel, spec.missing)
    return panel


def _long_times(table: Table, choice: str, id_col: str, numbers: dict):
    """The time column of a long file and its parsed values: (name, (R,) datetime64[s])."""
    if choice == "none":
        raise ConfigError("a long file needs its time column to line the series up; drop -o "
                          "time_column=none (or name the column).")
    if choice != "auto":
        if choice not in table.columns:
            raise ConfigError(f"time column {choice!r} is not in {table.source}. Its columns "
                              f"are: {', '.join(table.names)}.")
        col = table.columns[choice]
        times = years_from_numbers(numbers[choice]) if numbers[choice] is not None \
            else parse_times(col)
        if times is None:
            raise DataError(f"time column {choice!r} of {table.source} does not hold timestamps "
                            f"(e.g. {col[0]!r}). Expected dates like 2010-01-31.")
        found = {choice: times}
    else:
        found = {name: t for name, col in table.columns.items()
                 if name != id_col and numbers[name] is None
                 and (t := parse_times(col)) is not None}
        if len(found) > 1:
            named = [n for n in found if n.lower() in _TIME_NAMES]
            if len(named) != 1:
                raise ConfigError(f"{table.source} has several date columns "
                                  f"({', '.join(found)}); choose one with -o time_column=NAME.")
            found = {named[0]: found[named[0]]}
        if not found:
            raise ConfigError(
                f"{table.source} has no column of dates besides the id column {id_col!r}; a "
                f"long file needs one to line the series up (-o time_column=NAME). Columns: "
                f"{', '.join(table.names)}.")
    name, times = next(iter(found.items()))
    bad = np.flatnonzero(np.isnat(times))
    if len(bad):
        raise DataError(f"time column {name!r} of {table.source} has an empty or unreadable "
                        f"timestamp at {table.where(int(bad[0]))}. Every row needs a time.")
    return name, times


def _long_value(table: Table, target: str | None, taken: set, numbers: dict) -> str:
    if target is None and table.default_target in table.columns:
        target = table.default_target
    if target is None:
        candidates = [n for n in table.names if n not in taken and numbers[n] is not None]
        if len(candidates) != 1:
            raise ConfigError(
                f"{table.source} has {len(candidates)} numeric value columns besides the id and "
                f"time ({', '.join(candidates) or 'none'}); choose one with -o target=COLUMN.")
        return candidates[0]
    if target not in table.columns:
        raise ConfigError(f"value column {target!r} is not in {table.source}. Its columns are: "
                          f"{', '.join(table.names)}.")
    if target in taken:
        raise ConfigError(f"value column {target!r} is also the id or the time column.")
    _require_numbers(table, target, numbers)
    return target


def _require_numbers(table: Table, name: str, numbers: dict) -> None:
    if numbers[name] is None:
        col = table.columns[name]
        row = next(i for i, cell in enumerate(col) if numeric(np.array([cell], object)) is None)
        raise DataError(f"column {name!r} of {table.source} is not numeric: {col[row]!r} at "
                        f"{table.where(row)}. Series values must be numbers.")


def _check_unique_times(table: Table, names: np.ndarray, id_col: str, rows: np.ndarray,
                        inverse: np.ndarray, times: np.ndarray) -> None:
    """``rows`` sorted by series then time: two rows of one series at one time are an error."""
    clock = times[rows].astype(np.int64)
    same = np.flatnonzero((np.diff(inverse[rows]) == 0) & (np.diff(clock) == 0))
    if len(same):
        a, b = sorted((int(rows[same[0]]), int(rows[same[0] + 1])))
        raise DataError(
            f"series {str(names[inverse[a]])!r} (column {id_col!r}) of {table.source} has two "
            f"rows at time {times[a]} ({table.where(a)} and {table.where(b)}); each (id, time) "
            f"pair must appear once. Remove the duplicates or aggregate them first.")


def _common_grid(times: np.ndarray) -> tuple[np.ndarray, Frequency | None]:
    """The grid every series is placed on: a regular range when the union of the times is
    regular and every time lies on it, else the sorted distinct times themselves."""
    union = np.unique(times)
    freq = infer_frequency(union)
    if freq is None:
        return union, None
    if freq.unit == "months":
        months = union.astype("datetime64[M]").astype(np.int64)
        if np.all((months - months[0]) % freq.step == 0):
            grid = np.arange(months[0], months[-1] + 1, freq.step).astype("datetime64[M]")
            return grid.astype("datetime64[s]"), freq
        return union, None
    secs = union.astype(np.int64)
    if np.all((secs - secs[0]) % freq.step == 0):
        return np.arange(secs[0], secs[-1] + 1, freq.step).astype("datetime64[s]"), freq
    return union, None


# ---- wide files: one column per series -------------------------------------------------------

def _wide_panel(table: Table, spec: PanelSpec) -> Panel:
    numbers = {name: numeric(col) for name, col in table.columns.items()}
    time_name, times = _time_axis(table, spec.time_column, numbers)
    freq = infer_frequency(times)
    if spec.start or spec.freq:
        if not (spec.start and spec.freq):
            raise ConfigError("-o start and -o freq go together: the first time and the step "
                              "(e.g. -o start=2012-03-01T00:00 -o freq=5min).")
        if time_name is not None:
            raise ConfigError(f"{table.source} has a time column ({time_name!r}); -o start and "
                              f"-o freq are for files without one. Drop them (or pass -o "
                              f"time_column=none to ignore the column).")
        freq = parse_frequency(spec.freq)
        times = regular_times(spec.start, freq, len(table))
    names = _wide_columns(table, spec.target, time_name, numbers)
    values = np.stack([numbers[name] for name in names])  # (S, N)
    if spec.missing == "interpolate" and times is not None and freq is not None:
        times, values = _regular_rows(times, freq, values)
    finite = np.isfinite(values)
    starts = np.where(finite.any(axis=1), finite.argmax(axis=1), 0)
    ends = np.where(finite.any(axis=1), values.shape[1] - finite[:, ::-1].argmax(axis=1), 0)
    panel = Panel(names, values, starts, ends, times, freq, "value", table.source, time_name)
    _apply_missing(panel, spec.missing, table)
    return panel


def _wide_columns(table: Table, target: str | None, time_name: str | None,
                  numbers: dict) -> list[str]:
    """The series columns: ``-o target=a,b,c``, else every column but the time column."""
    if target and target.strip():
        names = [n.strip() for n in target.split(",") if n.strip()]
        for name in names:
            if name not in table.columns:
                raise ConfigError(f"series column {name!r} is not in {table.source}. Its "
                                  f"columns are: {_listing(table.names)}.")
            if name == time_name:
                raise ConfigError(f"series column {name!r} is also the time column.")
    else:
        names = [n for n in table.names if n != time_name]
    if not names:
        raise DataError(f"{table.source} has no value columns besides the time column.")
    for name in names:
        if numbers[name] is None:
            col = table.columns[name]
            row = next(i for i, cell in enumerate(col)
                       if numeric(np.array([cell], object)) is None)
            raise DataError(
                f"column {name!r} of the wide file {table.source} is not a series of numbers: "
                f"{col[row]!r} at {table.where(row)}. In a wide file every column but the time "
                f"column is a series; name the series columns with -o target=a,b,c, or, if "
                f"rows are (id, time, value), pass -o id=COLUMN for the long format.")
    return names


def _regular_rows(times: np.ndarray, freq: Frequency, values: np.ndarray):
    """Insert the skipped timestamps of a regular wide file as NaN rows (filled later)."""
    if freq.unit == "months":
        pos = times.astype("datetime64[M]").astype(np.int64)
        grid = np.arange(pos[0], pos[-1] + 1, freq.step)
        new_times = grid.astype("datetime64[M]").astype("datetime64[s]")
    else:
        pos = times.astype(np.int64)
        grid = np.arange(pos[0], pos[-1] + 1, freq.step)
        new_times = grid.astype("datetime64[s]")
    if len(grid) == len(times) or np.any((pos - pos[0]) % freq.step):
        return times, values  # nothing skipped, or off-grid times: rows stay consecutive
    out = np.full((values.shape[0], len(grid)), np.nan)  # (S, N')
    out[:, (pos - pos[0]) // freq.step] = values
    return new_times, out


# ---- missing values inside a span -----------------------------------------------------------

def _apply_missing(panel: Panel, missing: str, table: Table | None = None) -> None:
    """Fill (``interpolate``) or reject (``error``) the holes inside each series' span."""
    for s in range(len(panel.ids)):
        lo, hi = int(panel.starts[s]), int(panel.ends[s])
        row = panel.values[s, lo:hi]
        holes = np.isnan(row)
        if not holes.any():
            continue
        first = lo + int(np.flatnonzero(holes)[0])
        if missing == "error":
            at = format_times(panel.times[first:first + 1], panel.frequency)[0] \
                if panel.times is not None else f"step {first + 1}"
            where = f" ({table.where(first)})" if table is not None and \
                panel.steps == len(table) else ""
            raise DataError(
                f"series {panel.ids[s]!r} of {panel.source} has {int(holes.sum())} missing "
                f"value(s) inside its span, the first at {at}{where} (an empty cell or a "
                f"time step with no row). Fill them, or pass -o missing=interpolate.")
        index = np.arange(lo, hi)
        row[holes] = np.interp(index[holes], index[~holes], row[~holes])
