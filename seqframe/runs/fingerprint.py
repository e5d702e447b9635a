"""The fingerprint of a run's data files, so that a resume notices when they changed.

A run records, at its start, the size, modification time and SHA-256 of each data file it names
(``--data`` when it is a local file or folder -- ``hf:PATH`` included -- and any task option
whose value is a path to an existing file); a resume computes them again and refuses a file
whose *content* changed unless the user says ``--allow-data-change``. Content, not the time:
a copied or touched file with the same bytes trains the same model, while the same size and
time with other bytes would not. Hashing the files rather than the task's prepared arrays keeps
this independent of the task (the Task contract exposes no arrays); its limit is data a task
reads without the run naming it (a built-in data set or a Hugging Face hub name, versioned by
the package or the hub instead, or a sibling file found by convention such as ``X_TEST.ts``).

Paths are stored absolute (:func:`resolve_data`), so a run can be resumed from another working
directory.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ..errors import DataError

HF_PREFIX = "hf:"
MAX_FILES = 10_000  # a folder with more files than this is fingerprinted by its first ones


def _local(data: str | None) -> Path | None:
    """The local path ``--data`` names (``PATH`` or ``hf:PATH``), if it exists."""
    if not isinstance(data, str) or not data.strip():
        return None
    raw = data[len(HF_PREFIX):] if data.startswith(HF_PREFIX) else data
    path = Path(raw).expanduser()
    return path if path.exists() else None


def resolve_data(config):
    """``config`` with ``data`` made absolute when it names a local file or folder."""
    path = _local(config.data)
    if path is None:
        return config
    prefix = HF_PREFIX if config.data.startswith(HF_PREFIX) else ""
    return config.replace(data=prefix + str(path.resolve()))


def data_files(config) -> list[Path]:
    """The local files the run's settings name, sorted: ``--data`` (every file of a folder,
    hidden ones skipped) and task options whose value is an existing file."""
    found: set[Path] = set()
    path = _local(config.data)
    if path is not None:
        found |= set(_files(path))
    for value in config.options.values():
        # a value that looks like a path ("a/b", "x.ts") and is a file; not a word such as "de"
        if isinstance(value, str) and ("/" in value or "." in value) and \
                Path(value).expanduser().is_file():
            found.add(Path(value).expanduser().resolve())
    return sorted(found)


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path.resolve()]
    out = []
    for folder, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(folder, n).resolve() for n in sorted(names) if not n.startswith(".")]
        if len(out) >= MAX_FILES:
            return out[:MAX_FILES]
    return out


def fingerprint(config) -> dict[str, Any]:
    """``{"files": [{"path", "size", "mtime", "sha256"}, ...]}`` of :func:`data_files`."""
    return {"files": [_describe(path) for path in data_files(config)]}


def _describe(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"data file {str(path)!r} cannot be read: {exc.strerror or exc}.") \
            from None
    return {"path": str(path), "size": stat.st_size, "mtime": stat.st_mtime,
            "sha256": digest.hexdigest()}


def changes(recorded: Any, current: dict[str, Any]) -> list[str]:
    """What differs between a run's recorded fingerprint and the data now, in words."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), list):
        return []  # a checkpoint written before fingerprints were recorded: nothing to compare
    before = {f.get("path"): f for f in recorded["files"] if isinstance(f, dict)}
    now = {f["path"]: f for f in current["files"]}
    out = []
    for path in sorted(set(before) | set(now)):
        if path not in now:
            out.append(f"{path} is gone")
        elif path not in before:
            out.append(f"{path} is new")
        elif before[path].get("sha256") != now[path]["sha256"]:
            out.append(f"{path} changed ({before[path].get('size')} -> {now[path]['size']} "
                       f"bytes, new content)")
    return out


def check_unchanged(recorded: Any, config, allow: bool, log) -> tuple[dict[str, Any], bool]:
    """``(the current fingerprint, whether it changed)``; a :class:`DataError` when the data
    changed and not ``allow``.

    With ``allow`` a change is logged as a warning; the caller records the new fingerprint.
    """
    current = fingerprint(config)
    diff = changes(recorded, current)
    if diff and not allow:
        raise DataError(
            f"the data changed since this run started: {'; '.join(diff[:3])}"
            f"{f' (and {len(diff) - 3} more)' if len(diff) > 3 else ''}. Resuming would train on "
            f"other data than the run's checkpoints saw. Restore the data, or resume anyway "
            f"with --allow-data-change.")
    if diff:
        log(f"warning: the data changed since this run started ({'; '.join(diff[:3])}); "
            f"continuing on the new data (--allow-data-change)")
    return current, bool(diff)
