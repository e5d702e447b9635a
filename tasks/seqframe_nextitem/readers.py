"""Reading interaction logs: one row per (user, item[, time]) event, from any of the usual formats.

Formats (``-o format=``, ``auto`` guesses from the name):

* ``recbole`` -- RecBole atomic ``.inter``: tab-separated, typed header
  (``user_id:token  item_id:token  rating:float  timestamp:float``);
* ``udata`` -- MovieLens 100K ``u.data``: tab-separated ``user item rating timestamp``, no header;
* ``ratings_dat`` -- MovieLens 1M/10M ``ratings.dat``: ``user::item::rating::timestamp``;
* ``sasrec`` -- the SASRec/BERT4Rec ``user item`` lines, already in time order per user; a third
  field on every line is read as the event time and must not decrease within a user;
* ``csv`` -- a CSV (``.tsv``: tab-separated) file with a header row;
* ``parquet`` -- a Parquet file (read with ``pyarrow``);
* ``hf:NAME`` -- a Hugging Face data set, through :func:`seqframe.hfdata.load_hf`.

Headerless formats name their columns ``user_id``, ``item_id``, ``rating``, ``timestamp``, so the
column options ``-o user=... item=... time=...`` mean the same everywhere. A folder is searched for
``*.inter``, ``u.data``, ``ratings.dat`` or ``*.txt``, in that order.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from seqframe.errors import ConfigError, DataError, MissingDependencyError

FORMATS = ("auto", "recbole", "udata", "ratings_dat", "sasrec", "csv", "parquet")
ID_KINDS = ("int", "token")
FIXED_COLUMNS = {"udata": ("user_id", "item_id", "rating", "timestamp"),
                 "ratings_dat": ("user_id", "item_id", "rating", "timestamp"),
                 "sasrec": ("user_id", "item_id", "timestamp")}
DEFAULT_COLUMNS = {"user": "user_id", "item": "item_id", "time": "timestamp"}
_MISSING = {"", "nan", "none", "null", "na", "n/a"}
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass
class Interactions:
    """Events as read, in file order.

    Attributes:
        users: (E,) int64 or str user ids.
        items: (E,) int64 or str item ids.
        times: (E,) float64 event times, or None when the source has none (file order is then the
            time order within each user).
        rows: (E,) int64, where each event is in the source (1-based line of a text file, or
            0-based row of a table), for error messages.
        source: the path or ``hf:`` spec, for error messages.
        row_kind: ``"line"`` or ``"row"``.
        file_ordered: the format promises time order within a user (SASRec).
        sessions: (E,) str session ids when ``-o session=COL`` names a column, else None.
    """

    users: np.ndarray
    items: np.ndarray
    times: np.ndarray | None
    rows: np.ndarray
    source: str
    row_kind: str = "line"
    file_ordered: bool = False
    sessions: np.ndarray | None = None

    def where(self, index: int) -> str:
        return f"{self.source}, {self.row_kind} {int(self.rows[index])}"


@dataclass(frozen=True)
class Columns:
    """Which columns hold the user, item, time (and session) of an event; None = not wanted."""

    user: str
    item: str
    time: str | None
    session: str | None
    time_required: bool  # -o time= was given: a missing column is an error, not "no times"


def columns_from(opts: dict[str, Any]) -> Columns:
    """The column names of ``-o user/item/time/session`` (defaults ``user_id``, ...)."""
    return Columns(opts["user"] or DEFAULT_COLUMNS["user"], opts["item"] or DEFAULT_COLUMNS["item"],
                   opts["time"] or DEFAULT_COLUMNS["time"], opts["session"] or None,
                   time_required=bool(opts["time"]))


# ---- which format ------------------------------------------------------------------------------

def _in_folder(folder: Path) -> Path:
    for pattern in ("*.inter", "u.data", "ratings.dat", "*.txt"):
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    raise DataError(f"folder {str(folder)!r} holds no interaction file (*.inter, u.data, "
                    "ratings.dat or *.txt); pass --data with the file itself.")


def resolve(data: str, fmt: str) -> tuple[Path, str]:
    """The file ``--data`` names (a folder is searched) and its format (``auto`` guessed)."""
    path = Path(data).expanduser()
    if path.is_dir():
        path = _in_folder(path)
    if not path.is_file():
        raise DataError(
            f"--data {data!r} is not a file, a folder, the built-in 'synthetic' data set or a "
            "Hugging Face source (hf:NAME). Pass an interaction file (.inter, u.data, "
            "ratings.dat, SASRec .txt, .csv, .tsv, .parquet)."
        )
    if fmt != "auto":
        return path, fmt
    name, suffix = path.name.lower(), path.suffix.lower()
    guess = {".inter": "recbole", ".data": "udata", ".dat": "ratings_dat", ".txt": "sasrec",
             ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix)
    if name == "u.data":
        guess = "udata"
    if guess is None:
        raise DataError(
            f"cannot tell the format of {str(path)!r} from its name; pass -o format=NAME, one of "
            f"{', '.join(FORMATS[1:])}."
        )
    return path, guess


# ---- values ------------------------------------------------------------------------------------

def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in _MISSING


def parse_ids(values: Sequence[Any], kind: str, what: str, where) -> np.ndarray:
    """Ids as int64 (``kind="int"``) or str (``"token"``); ``where(i)`` names row i in errors."""
    out = []
    for i, value in enumerate(values):
        if _is_missing(value):
            raise DataError(f"{where(i)}: the {what} id is missing; every event needs a user and "
                            "an item. Remove or fill that row.")
        if kind == "token":
            out.append(str(value).strip())
            continue
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            out.append(int(value))
        elif isinstance(value, (float, np.floating)) and float(value).is_integer():
            out.append(int(value))
        elif isinstance(value, str) and _INTEGER.match(value.strip()):
            out.append(int(value))
        else:
            raise DataError(
                f"{where(i)}: the {what} id is {value!r}, not an integer. Ids are integers by "
                "default; for string ids (e.g. product codes) pass -o ids=token."
            )
    return np.array(out, dtype=np.int64 if kind == "int" else str)


def _time_value(value: Any) -> float:
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return stamp.timestamp()
    if isinstance(value, np.datetime64):
        return float(value.astype("datetime64[us]").astype(np.int64)) / 1e6
    try:
        return float(value)
    except (TypeError, ValueError):
        text = str(value).strip().replace("Z", "+00:00")
        return _time_value(datetime.fromisoformat(text))  # ValueError when not a date either


def parse_times(values: Sequence[Any], where) -> np.ndarray:
    """Event times as float64: numbers as given, ISO 8601 dates and datetimes as Unix seconds."""
    out = np.empty(len(values), dtype=np.float64)  # (E,)
    for i, value in enumerate(values):
        if _is_missing(value):
            raise DataError(f"{where(i)}: the time is missing. Fill it, or drop the time "
                            "column so that file order is the time order.")
        try:
            out[i] = _time_value(value)
        except (TypeError, ValueError):
            raise DataError(f"{where(i)}: the time is {value!r}; expected a number or an ISO "
                            "8601 date/time (2024-01-31T12:00:00).") from None
        if not np.isfinite(out[i]):
            raise DataError(f"{where(i)}: the time is {value!r}; expected a finite number.")
    return out


# ---- tables: named columns ---------------------------------------------------------------------

def _pick(names: Sequence[str], wanted: str, option: str, source: str) -> int:
    bare = [n.split(":", 1)[0] for n in names]  # RecBole headers carry ':type'
    for candidates in (list(names), bare):
        if wanted in candidates:
            return candidates.index(wanted)
    raise DataError(
        f"{source} has no column {wanted!r} (for the {option}); its columns are "
        f"{', '.join(bare)}. Name the right one with -o {option}=COLUMN."
    )


def from_columns(names: Sequence[str], get, n_rows: int, cols: Columns, ids: str,
                 source: str, where, row_kind: str) -> Interactions:
    """Interactions from a table: ``get(index)`` returns the values of column ``index``."""
    user = _pick(names, cols.user, "user", source)
    item = _pick(names, cols.item, "item", source)
    times = sessions = None
    bare = [n.split(":", 1)[0] for n in names]
    if cols.time is not None and (cols.time_required or cols.time in names or cols.time in bare):
        times = parse_times(get(_pick(names, cols.time, "time", source)), where)
    if cols.session is not None:
        raw = get(_pick(names, cols.session, "session", source))
        sessions = np.array([str(v) for v in raw], dtype=str)
    users = parse_ids(get(user), ids, "user", where)
    items = parse_ids(get(item), ids, "item", where)
    rows = np.arange(n_rows, dtype=np.int64)
    return Interactions(users, items, times, rows, source, row_kind, False, sessions)


# ---- text files --------------------------------------------------------------------------------

def _split_lines(path: Path, fmt: str) -> tuple[list[str] | None, list[list[str]], list[int]]:
    """(header or None, fields of each non-empty line, 1-based line numbers)."""
    encoding = "latin-1" if fmt in ("udata", "ratings_dat") else "utf-8"  # MovieLens is latin-1
    with path.open(newline="", encoding=encoding) as fh:
        if fmt == "csv":
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
            lines = [(n, row) for n, row in enumerate(csv.reader(fh, delimiter=delimiter), 1)
                     if any(cell.strip() for cell in row)]
        else:
            split = {"recbole": lambda s: s.split("\t"), "udata": lambda s: s.split("\t"),
                     "ratings_dat": lambda s: s.split("::"), "sasrec": str.split}[fmt]
            lines = [(n, split(line.rstrip("\r\n"))) for n, line in enumerate(fh, 1)
                     if line.strip()]
    if not lines:
        raise DataError(f"{str(path)!r} holds no interactions (it is empty).")
    header = None
    if fmt in ("recbole", "csv"):
        header = [h.strip() for h in lines[0][1]]
        lines = lines[1:]
    return header, [fields for _, fields in lines], [n for n, _ in lines]


def _check_widths(path: Path, fields: list[list[str]], numbers: list[int], width: int,
                  names: Sequence[str]) -> None:
    for fs, n in zip(fields, numbers, strict=True):
        if len(fs) != width:
            raise DataError(
                f"{path}, line {n}: {len(fs)} field(s); expected {width} "
                f"({', '.join(names)}). Check the separator (-o format=)."
            )


def read_text(path: Path, fmt: str, cols: Columns, ids: str) -> Interactions:
    """A text interaction file in format ``fmt`` (not ``auto``, not ``parquet``)."""
    header, fields, numbers = _split_lines(path, fmt)
    if fmt == "sasrec":
        width = len(fields[0]) if fields else 2
        if width not in (2, 3):
            raise DataError(f"{path}, line {numbers[0]}: {width} fields; the SASRec format has "
                            "'user item' or 'user item time' on each line.")
        header = list(FIXED_COLUMNS["sasrec"][:width])
    elif header is None:
        header = list(FIXED_COLUMNS[fmt])
    _check_widths(path, fields, numbers, len(header), header)
    line_of = np.array(numbers, dtype=np.int64)

    def where(i: int) -> str:
        return f"{path}, line {int(line_of[i])}"

    def get(index: int) -> list[str]:
        return [fs[index] for fs in fields]

    if fmt == "sasrec" and len(header) == 2 and cols.time_required:
        raise DataError(f"{path} has no time column ('user item' lines); drop -o time= (file "
                        "order is the time order in the SASRec format).")
    inter = from_columns(header, get, len(fields), cols, ids, str(path), where, "line")
    inter.rows, inter.file_ordered = line_of, fmt == "sasrec"
    return inter


def read_parquet(path: Path, cols: Columns, ids: str) -> Interactions:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError(
            "reading Parquet needs the 'pyarrow' package, which is not installed. Install it "
            "with: pip install 'seqframe[hf]' (or pip install pyarrow)."
        ) from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataError(f"cannot read Parquet file {str(path)!r}: {exc}") from exc
    names = table.column_names

    def get(index: int) -> list[Any]:
        return table.column(index).to_pylist()

    return from_columns(names, get, table.num_rows, cols, ids, str(path),
                        lambda i: f"{path}, row {i}", "row")


def read_hf(spec: str, cols: Columns, ids: str, split: str) -> Interactions:
    from seqframe.hfdata import load_hf  # imports datasets lazily, with a clear error if missing

    dataset = load_hf(spec)
    if hasattr(dataset, "keys"):  # a DatasetDict: the events are in one of its splits
        if split not in dataset:
            raise DataError(f"Hugging Face data set {spec!r} has no split {split!r} (it has "
                            f"{', '.join(dataset.keys())}); pick one with -o hf_split=NAME.")
        dataset = dataset[split]
    names = list(dataset.column_names)
    return from_columns(names, lambda index: dataset[names[index]], len(dataset), cols, ids,
                        spec, lambda i: f"{spec}, row {i}", "row")


def read(data: str, opts: dict[str, Any]) -> Interactions:
    """Read the interactions ``--data`` names, as the ``-o`` options say."""
    from seqframe.hfdata import is_hf_spec

    if opts["ids"] not in ID_KINDS:
        raise ConfigError(f"-o ids must be one of {', '.join(ID_KINDS)}; got {opts['ids']!r}.")
    cols = columns_from(opts)
    if is_hf_spec(data):
        return read_hf(data, cols, opts["ids"], opts["hf_split"])
    path, fmt = resolve(data, opts["format"])
    if fmt == "parquet":
        return read_parquet(path, cols, opts["ids"])
    return read_text(path, fmt, cols, opts["ids"])
