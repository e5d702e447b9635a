"""Reading tables: CSV, Parquet, a Hugging Face dataset, or a data set shipped with the package.

A table is an ordered ``{column name: (N,) array}``; CSV cells stay text (object arrays) until
:mod:`seqframe_timeseries.series` decides what each column is, Parquet and Hugging Face columns
arrive typed (float64 for numbers with NaN for nulls, ``datetime64`` for timestamps).
"""

from __future__ import annotations

import csv
import io as _io
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from seqframe.errors import DataError, MissingDependencyError

# name -> (file in data/, target column); the time column and the season are inferred
BUILTIN = {
    "airline": ("airline.csv", "Passengers"),
    "seattle-temps": ("seattle-temps.csv", "temp"),
}
# many-series sets in long format: name -> (file in data/, value column, id column)
BUILTIN_PANELS = {
    "stocks": ("stocks.csv", "price", "symbol"),
}
DEFAULT_DATA = "airline"
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass
class Table:
    """Columns of one data source, in file order."""

    columns: dict[str, np.ndarray]
    source: str  # what the user asked for, for messages
    default_target: str | None = None
    lines: np.ndarray | None = None  # (N,) CSV line number of each row, for messages
    default_id: str | None = None  # the series-id column of a built-in many-series set

    def where(self, row: int) -> str:
        """Where data row ``row`` (0-based) is, in words."""
        return f"line {self.lines[row]}" if self.lines is not None else f"row {row + 1}"

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))


def load_table(spec: str | None, numbered_header: bool = False) -> Table:
    """Load ``--data``: a built-in name, ``hf:NAME``, or a ``.csv``/``.parquet`` path.

    Args:
        spec: what ``--data`` said; None is the default data set.
        numbered_header: accept a CSV header of whole numbers (the sensor ids of a wide
            many-series file); a header of other numbers still reads as a missing header.

    Raises:
        DataError: a missing, unreadable or malformed file.
        MissingDependencyError: Parquet without pyarrow, ``hf:`` without ``datasets``.
    """
    spec = spec or DEFAULT_DATA
    if spec in BUILTIN:
        filename, target = BUILTIN[spec]
        with files("seqframe_timeseries").joinpath("data", filename).open("rb") as fh:
            table = read_csv_bytes(fh.read(), spec)
        table.default_target = target
        return table
    if spec in BUILTIN_PANELS:
        filename, target, id_column = BUILTIN_PANELS[spec]
        with files("seqframe_timeseries").joinpath("data", filename).open("rb") as fh:
            table = read_csv_bytes(fh.read(), spec)
        table.default_target, table.default_id = target, id_column
        return table
    if spec.startswith("hf:"):
        return read_hf(spec)
    path = Path(spec)
    if not path.is_file():
        raise DataError(
            f"data {spec!r} is neither a file nor a built-in data set. Built-in: "
            f"{', '.join([*BUILTIN, *BUILTIN_PANELS])}; or pass a .csv/.parquet file, or "
            f"hf:NAME for Hugging Face."
        )
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return read_parquet(path)
    if suffix in CSV_SUFFIXES:
        return read_csv_bytes(path.read_bytes(), str(path), tab=suffix == ".tsv",
                              numbered_header=numbered_header)
    raise DataError(
        f"cannot read {str(path)!r}: unknown file type {suffix or '(none)'!r}. Expected one of "
        f"{', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}."
    )


def read_csv_bytes(raw: bytes, source: str, tab: bool = False,
                   numbered_header: bool = False) -> Table:
    """Parse a CSV file with a header row; the delimiter (``,``, ``;`` or tab) is detected.

    ``numbered_header`` accepts a header of whole numbers (see :func:`load_table`).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{source} is not UTF-8 text ({exc.reason} at byte {exc.start}); expected a CSV "
            f"file with a header row."
        ) from None
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise DataError(f"{source} is empty; expected a CSV file with a header row.")
    delimiter = "\t" if tab or "\t" in first else ";" if ";" in first and "," not in first else ","
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise DataError(f"{source} is not valid CSV (line {reader.line_num}): {exc}.") from None
    header = [name.strip() for name in rows[0][1]]
    _check_header(header, source, numbered_header)
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise DataError(
                f"{source} line {line} has {len(row)} fields, expected {len(header)} like the "
                f"header ({', '.join(header)}). Check for a stray delimiter or a missing value."
            )
    if len(rows) < 2:
        raise DataError(f"{source} has a header but no data rows.")
    body = [row for _, row in rows[1:]]
    columns = {name: np.array([row[j].strip() for row in body], dtype=object)
               for j, name in enumerate(header)}
    return Table(columns, source, lines=np.array([line for line, _ in rows[1:]]))


def _check_header(header: list[str], source: str, numbered: bool = False) -> None:
    if any(not name for name in header):
        raise DataError(f"{source}: the header row has an empty column name: {header}.")
    dupes = sorted({name for name in header if header.count(name) > 1})
    if dupes:
        raise DataError(f"{source}: duplicate column name(s) {', '.join(dupes)} in the header.")
    if all(_is_float(name) for name in header) and not (
            numbered and all(name.isdigit() for name in header)):
        shown = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
        raise DataError(
            f"{source}: the first row ({shown}) looks like data, not a header. "
            f"Add a header row naming the columns"
            + ("." if numbered else " (a header of whole-number series ids, as in a wide file "
                                    "of sensors, is read as such with -o layout=global).")
        )


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_parquet(path: Path) -> Table:
    """Read a Parquet file with pyarrow."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependencyError(
            f"reading {path.name} needs pyarrow, which is not installed. Install it with "
            f"`pip install pyarrow`, or save the data as CSV."
        ) from None
    try:
        arrow = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for bad files
        raise DataError(f"cannot read Parquet file {str(path)!r}: {exc}") from None
    return arrow_to_table(arrow, str(path))


def read_hf(spec: str) -> Table:
    """Read a Hugging Face dataset (its ``train`` split, or its only split)."""
    from seqframe.hfdata import load_hf

    dataset = load_hf(spec)
    if hasattr(dataset, "column_names") and isinstance(dataset.column_names, dict):
        splits = list(dataset)
        if "train" not in splits and len(splits) != 1:
            raise DataError(
                f"{spec} has splits {', '.join(splits)} and no 'train' split; a time series "
                f"task reads one table. Point --data at one split's files instead."
            )
        dataset = dataset["train" if "train" in splits else splits[0]]
    return arrow_to_table(dataset.with_format("arrow")[:], spec)


def arrow_to_table(arrow, source: str) -> Table:
    """Convert a ``pyarrow.Table``: numbers to float64 (null -> NaN), times to datetime64."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arrow.num_rows == 0:
        raise DataError(f"{source} has no rows.")
    columns = {}
    for name in arrow.column_names:
        col = arrow.column(name)
        kind = col.type
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            if pa.types.is_timestamp(kind) and kind.tz is not None:
                col = pc.cast(col, pa.timestamp(kind.unit))  # stored as UTC instants already
            columns[name] = np.array(col.to_pylist(), dtype="datetime64[s]")
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or \
                pa.types.is_boolean(kind) or pa.types.is_decimal(kind):
            columns[name] = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        else:
            columns[name] = np.array(["" if v is None else str(v) for v in col.to_pylist()],
                                     dtype=object)
    return Table(columns, source)
