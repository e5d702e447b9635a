"""Backend-neutral checkpoints: tensors in safetensors, everything else in JSON. No pickle.

A checkpoint is a directory ``checkpoints/NAME/`` (``latest`` or ``best``) holding

* ``tensors.safetensors`` -- host NumPy arrays: parameters (``param/NAME``), optimizer slots
  (``optim/SLOT/NAME``) and the carried hidden state (``state/I``);
* ``meta.json`` -- the resolved config, the task's fitted state, optimizer metadata, RNG states,
  step, epoch, data cursor, best metric, clipping statistics, the nested layout of the state.

Because the tensors are plain arrays with PyTorch's parameter names, a checkpoint written by one
backend loads in any other. This module only reads and writes files: what goes into a training
checkpoint is :meth:`seqframe.training.trainer.Trainer.state_dict`'s business.

Writes are crash-safe: whatever moment a process dies at -- a kill, an exception, a full disk --
a loadable checkpoint survives, and so it does when the process dies again during the save that
follows a recovery. A save writes the new checkpoint whole (files flushed to disk) into a
temporary sibling ``.NAME.XXXX.tmp``, then swaps it in with two renames, keeping the previous
checkpoint as ``.NAME.old`` until the new one has its name. The invariant: ``NAME`` exists only
when it is whole, and ``.NAME.old`` is removed only while a whole ``NAME`` exists. A crash between
the two renames leaves only ``.NAME.old``: :func:`load_checkpoint` reads it, and the next save
(or :func:`recover`, run when a run starts or resumes) first renames it back to ``NAME`` -- never
deleting it before a new ``NAME`` is in place. Temporary folders a crash left behind are removed
by :func:`clean_folder` when the run starts again. ``tests/trainer/test_crash_safety.py`` proves
this by crashing a run at every filesystem step of a save, and its resume at every step of the
next save.

Integrity: ``meta.json`` records the SHA-256 of the tensor file, checked on every load, so a
bit flip or a swapped tensor file is an error rather than a silently different model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from ..errors import DataError
from .safefiles import (
    atomic_write_text,
    check_no_link,
    fsync_dir,
    make_dirs,
    remove_orphans,
    write_new_file,
)

FORMAT_VERSION = 2  # 2: meta.json holds the tensor file's checksum
TENSORS = "tensors.safetensors"
META = "meta.json"
NAMES = ("latest", "best")

__all__ = ["atomic_write_text", "load_checkpoint", "read_params", "save_checkpoint"]


def _old(path: Path) -> Path:
    return path.parent / f".{path.name}.old"


def _whole(folder: Path) -> bool:
    return (folder / META).is_file() and (folder / TENSORS).is_file()


def recover(path: str | Path) -> None:
    """Give ``.NAME.old`` its name back when a crash between the two renames of a save left only
    that copy (a no-op otherwise)."""
    path = Path(path)
    old = _old(path)
    if not path.exists() and not path.is_symlink() and _whole(old) and not old.is_symlink():
        os.replace(old, path)
        fsync_dir(path.parent)


def clean_folder(folder: str | Path) -> list[Path]:
    """Recover every checkpoint of ``folder`` and delete what interrupted saves left behind.

    Call it only while holding the run's lock: a live save's temporary folder looks the same.

    Returns:
        The temporary files and folders removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    check_no_link(folder)
    for name in NAMES:
        check_no_link(folder / name)
        recover(folder / name)
    return remove_orphans(folder)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(path: str | Path, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write a checkpoint directory crash-safely (see the module docstring).

    Args:
        path: the checkpoint directory, e.g. ``RUN/checkpoints/latest``.
        tensors: host arrays by name.
        meta: JSON-serialisable metadata.

    Returns:
        ``path``.

    Raises:
        UsageError: ``path``, its folder or ``.NAME.old`` is a symbolic link.
    """
    path = Path(path)
    folder = make_dirs(path.parent)
    old = check_no_link(_old(path))
    check_no_link(path)
    recover(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder))
    try:
        arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        save_file(arrays, str(tmp / TENSORS))
        _fsync_file(tmp / TENSORS)
        record = {"format_version": FORMAT_VERSION, **meta,
                  "checksums": {TENSORS: sha256_file(tmp / TENSORS)}}
        write_new_file(tmp / META, json.dumps(record, indent=1, allow_nan=True).encode("utf-8"))
        fsync_dir(tmp)
        if path.exists():
            if old.exists():  # stale: a whole `path` exists, so this older copy is not needed
                shutil.rmtree(old)
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a no-op once it has become `path`
        raise
    fsync_dir(folder)
    shutil.rmtree(old, ignore_errors=True)
    return path


def _fsync_file(path: Path) -> None:
    """Flush a file to disk before a rename makes it visible (power-loss safety)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_checkpoint(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint directory back: ``(tensors, meta)``, its checksum verified.

    Raises:
        DataError: no checkpoint there, its files cannot be read, its format is unknown, or the
            tensor file does not match the checksum recorded with it.
    """
    path = Path(path)
    if not (path / META).exists() and _whole(_old(path)):
        path = _old(path)  # interrupted between the two renames of save_checkpoint
    if not (path / META).exists():
        raise DataError(
            f"no checkpoint at {str(path)!r} (expected {META} and {TENSORS} there). "
            f"Give the run directory of a run that has written a checkpoint."
        )
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"checkpoint {str(path)!r} cannot be read: {exc}.") from None
    _check_format(meta, path)
    _verify(meta, path)
    try:
        tensors = load_file(str(path / TENSORS))
    except (OSError, ValueError, SafetensorError) as exc:
        raise DataError(f"checkpoint {str(path)!r} cannot be read: {exc}.") from None
    return tensors, meta


def _check_format(meta: Any, path: Path) -> None:
    damaged = ("The checkpoint was edited or damaged; resume from another copy, or start the "
               "run again.")
    if not isinstance(meta, dict):
        raise DataError(f"checkpoint {str(path)!r}: {META} holds {type(meta).__name__}, not a "
                        f"JSON object. {damaged}")
    version = meta.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise DataError(f"checkpoint {str(path)!r} has format_version {version!r}; expected a "
                        f"whole number (this seqframe writes {FORMAT_VERSION}). {damaged}")
    if version > FORMAT_VERSION:
        raise DataError(
            f"checkpoint {str(path)!r} has format {version}, newer than this "
            f"seqframe understands ({FORMAT_VERSION}); upgrade seqframe."
        )


def _verify(meta: dict, path: Path) -> None:
    """Compare the tensor file with the checksum in ``meta`` (format 2 on; format 1 had none)."""
    if meta["format_version"] < 2:
        return
    expected = meta.get("checksums", {}).get(TENSORS) if isinstance(
        meta.get("checksums"), dict) else None
    if not isinstance(expected, str):
        raise DataError(f"checkpoint {str(path)!r}: {META} has no checksum of {TENSORS}; the "
                        f"checkpoint was edited or damaged. Resume from another copy, or start "
                        f"the run again.")
    try:
        actual = sha256_file(path / TENSORS)
    except OSError as exc:
        raise DataError(f"checkpoint {str(path)!r} cannot be read: {exc}.") from None
    if actual != expected:
        raise DataError(
            f"checkpoint {str(path)!r}: {TENSORS} does not match the checksum recorded in "
            f"{META} (SHA-256 {actual[:16]}... instead of {expected[:16]}...): the file was "
            f"changed or damaged on disk since it was written. Restore it from a backup, resume "
            f"from the other checkpoint, or start the run again."
        )


# ---- nested hidden states <-> flat named arrays ---------------------------------------------


def flatten_state(state: Any, to_host) -> tuple[dict[str, np.ndarray], Any]:
    """A nested tuple/list of arrays -> ``({"state/0": ..., ...}, layout)``.

    ``layout`` is JSON: ``None`` for no state, an int index for a leaf, a list for a tuple.
    ``to_host`` converts one backend array to NumPy.
    """
    tensors: dict[str, np.ndarray] = {}

    def walk(node):
        if node is None:
            return None
        if isinstance(node, (tuple, list)):
            return [walk(child) for child in node]
        index = len(tensors)
        tensors[f"state/{index}"] = to_host(node)
        return index

    return tensors, walk(state)


def unflatten_state(tensors: dict[str, np.ndarray], layout: Any, to_device) -> Any:
    """The inverse of :func:`flatten_state`; ``to_device`` converts one NumPy array back."""
    if layout is None:
        return None
    if isinstance(layout, list):
        return tuple(unflatten_state(tensors, child, to_device) for child in layout)
    return to_device(tensors[f"state/{layout}"])


def split_prefix(tensors: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The entries under ``prefix/``, with the prefix removed."""
    start = len(prefix) + 1
    return {k[start:]: v for k, v in tensors.items() if k.startswith(prefix + "/")}


# ---- reading a run's parameters ----------------------------------------------------------------


def read_params(run_dir: str | Path, name: str = "best") -> tuple[dict[str, np.ndarray], dict]:
    """Host parameters of a run's checkpoint ``name`` (else its ``latest``), and its meta.

    Raises:
        DataError: no checkpoint, a damaged one, or parameters of another dtype than the run's.
    """
    folder = Path(run_dir) / "checkpoints"
    if not (folder / name / META).exists() and not _whole(_old(folder / name)):
        name = "latest"
    tensors, meta = load_checkpoint(folder / name)
    params = split_prefix(tensors, "param")
    check_dtypes(params, meta.get("dtype"), folder / name)
    return params, meta


def check_dtypes(params: dict[str, np.ndarray], dtype: Any, where: Path) -> None:
    """Refuse parameters whose dtype is not the run's (``meta["dtype"]``, e.g. ``float32``)."""
    if not isinstance(dtype, str):
        return  # a checkpoint written before the dtype was recorded
    for key, value in params.items():
        if value.dtype != np.dtype(dtype):
            raise DataError(
                f"checkpoint {str(where)!r}: parameter {key!r} is {value.dtype}, but the run "
                f"trains in {dtype}; the checkpoint was altered. Resume from another copy, or "
                f"start the run again."
            )


def check_params(params: dict[str, np.ndarray], expected: dict[str, tuple], dtype: Any,
                 where: Path | str) -> None:
    """A checkpoint's parameters: the model's names and ``expected`` shapes, the run's dtype.

    Raises:
        DataError: naming the first parameter that differs and what was expected.
    """
    found = {k: tuple(v.shape) for k, v in params.items()}
    if found != expected:
        wrong = sorted(set(expected) ^ set(found)) or sorted(
            k for k in expected if expected[k] != found[k])
        raise DataError(
            f"checkpoint {str(where)!r} holds parameters that do not fit this run's model "
            f"(first difference: {wrong[0]!r}: {found.get(wrong[0])} in the checkpoint, "
            f"{expected.get(wrong[0])} expected). Its config.toml or checkpoint was edited; "
            f"resume with the settings it was trained with.")
    check_dtypes(params, dtype, where)
