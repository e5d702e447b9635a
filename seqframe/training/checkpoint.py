"""Backend-neutral checkpoints: tensors in safetensors, everything else in JSON. No pickle.

A checkpoint is a directory ``checkpoints/NAME/`` (``latest`` or ``best``) holding

* ``tensors.safetensors`` -- host NumPy arrays: parameters (``param/NAME``), optimizer slots
  (``optim/SLOT/NAME``) and the carried hidden state (``state/I``);
* ``meta.json`` -- the resolved config, the task's fitted state, optimizer metadata, RNG states,
  step, epoch, data cursor, best metric, clipping statistics, the nested layout of the state.

Because the tensors are plain arrays with PyTorch's parameter names, a checkpoint written by one
backend loads in any other. This module only reads and writes files: what goes into a training
checkpoint is :meth:`seqframe.training.trainer.Trainer.state_dict`'s business.

Writes are atomic at the directory level: the new checkpoint is written completely into a
sibling temporary directory, then swapped in with two renames. A crash at any moment leaves either
the old or the new checkpoint whole (the one moment with neither under its name, between the two
renames, is recovered by :func:`load_checkpoint` from the ``.NAME.old`` sibling).
"""

from __future__ import annotations

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

FORMAT_VERSION = 1
TENSORS = "tensors.safetensors"
META = "meta.json"


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | Path, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write a checkpoint directory atomically (see the module docstring).

    Args:
        path: the checkpoint directory, e.g. ``RUN/checkpoints/latest``.
        tensors: host arrays by name.
        meta: JSON-serialisable metadata.

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = path.parent / f".{path.name}.old"
    try:
        arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        save_file(arrays, str(tmp / TENSORS))
        text = json.dumps({"format_version": FORMAT_VERSION, **meta}, indent=1, allow_nan=True)
        (tmp / META).write_text(text, encoding="utf-8")
        _fsync_dir_files(tmp)
        if old.exists():
            shutil.rmtree(old)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path


def _fsync_dir_files(folder: Path) -> None:
    """Flush the files to disk before the rename makes them visible (power-loss safety)."""
    for child in folder.iterdir():
        fd = os.open(child, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def load_checkpoint(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint directory back: ``(tensors, meta)``.

    Raises:
        DataError: no checkpoint there, or its files cannot be read.
    """
    path = Path(path)
    if not (path / META).exists():
        fallback = path.parent / f".{path.name}.old"
        if (fallback / META).exists():
            path = fallback  # interrupted between the two renames of save_checkpoint
        else:
            raise DataError(
                f"no checkpoint at {str(path)!r} (expected {META} and {TENSORS} there). "
                f"Give the run directory of a run that has written a checkpoint."
            )
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        tensors = load_file(str(path / TENSORS))
    except (OSError, ValueError, SafetensorError) as exc:
        raise DataError(f"checkpoint {str(path)!r} cannot be read: {exc}.") from None
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise DataError(
            f"checkpoint {str(path)!r} has format {meta['format_version']}, newer than this "
            f"seqframe understands ({FORMAT_VERSION}); upgrade seqframe."
        )
    return tensors, meta


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
    """Host parameters of a run's checkpoint ``name`` (else its ``latest``), and its meta."""
    folder = Path(run_dir) / "checkpoints"
    if not (folder / name / META).exists() and not (folder / f".{name}.old" / META).exists():
        name = "latest"
    tensors, meta = load_checkpoint(folder / name)
    return split_prefix(tensors, "param"), meta
