"""Item titles, for recommendations people can read: from an item file beside the interactions.

Found automatically (or named with ``-o items=PATH``):

* RecBole ``X.inter`` -> ``X.item`` (tab-separated, typed header; the title is the first column
  named ``movie_title``, ``title`` or ending in ``title`` or ``name``);
* MovieLens ``u.data`` -> ``u.item`` (``id|title|date|...``, latin-1);
* MovieLens ``ratings.dat`` -> ``movies.dat`` (``id::title::genres``, latin-1);
* a ``.csv``/``.tsv`` with a header holding the item column (``-o item``) and a title column.

Ids are read like the interactions' (``-o ids``); items without a title get None.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from seqframe.errors import DataError

from .readers import parse_ids

_SIBLINGS = {".inter": lambda p: p.with_suffix(".item"),
             "u.data": lambda p: p.with_name("u.item"),
             "ratings.dat": lambda p: p.with_name("movies.dat")}


def sibling(path: Path) -> Path | None:
    """The item file beside an interaction file, when one exists there."""
    make = _SIBLINGS.get(path.name.lower()) or _SIBLINGS.get(path.suffix.lower())
    found = make(path) if make else None
    return found if found is not None and found.is_file() else None


def _title_column(names: list[str], path: Path) -> int:
    bare = [n.split(":", 1)[0].strip().lower() for n in names]
    for test in (lambda n: n in ("movie_title", "title"),
                 lambda n: n.endswith("title") or n.endswith("name")):
        hits = [i for i, n in enumerate(bare) if test(n)]
        if hits:
            return hits[0]
    raise DataError(f"item file {str(path)!r} has no title column (columns: {', '.join(bare)}); "
                    "name one 'title', or drop -o items.")


def _rows(path: Path) -> tuple[list[str] | None, list[list[str]], int, int | None]:
    """(header, rows, id column, title column or None when the header decides)."""
    name = path.name.lower()
    if name == "u.item":
        text = path.read_text(encoding="latin-1")
        return None, [line.split("|") for line in text.splitlines() if line.strip()], 0, 1
    if name == "movies.dat":
        text = path.read_text(encoding="latin-1")
        return None, [line.split("::") for line in text.splitlines() if line.strip()], 0, 1
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.reader(fh, delimiter=delimiter) if row]
    if not rows:
        raise DataError(f"item file {str(path)!r} is empty.")
    return rows[0], rows[1:], -1, None


def read_titles(path: Path, item_column: str, ids: str) -> dict[Any, str]:
    """Raw item id -> title, from the item file ``path``."""
    header, rows, id_col, title_col = _rows(path)
    if header is not None:
        bare = [h.split(":", 1)[0].strip() for h in header]
        if item_column not in bare:
            raise DataError(f"item file {str(path)!r} has no column {item_column!r} (columns: "
                            f"{', '.join(bare)}); it must hold the same item ids.")
        id_col, title_col = bare.index(item_column), _title_column(header, path)
    width = max(id_col, title_col) + 1
    rows = [r for r in rows if len(r) >= width]
    keys = parse_ids([r[id_col] for r in rows], ids, "item",
                     lambda i: f"item file {path}, entry {i + 1}")
    return {key.item() if hasattr(key, "item") else key: rows[i][title_col].strip()
            for i, key in enumerate(keys)}
