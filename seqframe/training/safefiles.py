"""Writing inside a run directory: atomically, durably, and never through a symbolic link.

Every file seqframe writes into a run directory -- checkpoints, ``metrics.jsonl``,
``summary.json``, ``config.toml``, ``curves.png`` -- goes through this module, so that a run
directory someone prepared with links (``metrics.jsonl -> ~/.bashrc``) cannot make seqframe
overwrite a file outside it. The rule is simple: a path inside the run directory whose final
component or any folder below the run directory is a symbolic link is refused with a
:class:`~seqframe.errors.UsageError`; the run directory itself may be a link (the user chose it).
Files are opened with ``O_NOFOLLOW`` as well, so a link that appears after the check is refused
by the operating system too.

The task artefacts (``samples.txt``, forecasts, plots) are written by each task's own code;
:func:`refuse_links` checks the whole run directory before they are written.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from ..errors import UsageError

# O_NOFOLLOW is POSIX; elsewhere the lstat checks alone stand guard
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def link_error(path: Path, run_dir: Path | None = None) -> UsageError:
    """The error for a symbolic link found where a run keeps its files."""
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    where = f" in run directory {str(run_dir)!r}" if run_dir is not None else ""
    return UsageError(
        f"{str(path)!r}{where} is a symbolic link (to {target!r}); seqframe never writes through "
        f"a link, so that a run directory cannot make it overwrite files elsewhere. Remove the "
        f"link (a run directory holds only the files seqframe wrote), or start a new --out."
    )


def check_no_link(path: str | Path, levels: int = 1) -> Path:
    """Refuse ``path`` when it, or one of its ``levels - 1`` parent folders, is a symbolic link.

    Missing components are fine (they will be created). Returns ``path`` as a Path.
    """
    path = Path(path)
    node = path
    for _ in range(levels):
        if node.is_symlink():
            raise link_error(node)
        node = node.parent
    return path


def refuse_links(run_dir: str | Path) -> None:
    """Refuse a run directory holding a symbolic link anywhere inside it (not followed)."""
    run_dir = Path(run_dir)
    for folder, dirs, files in os.walk(run_dir, followlinks=False):
        for name in sorted(dirs + files):
            entry = Path(folder) / name
            if entry.is_symlink():
                raise link_error(entry, run_dir)


def make_dirs(path: str | Path, levels: int = 1) -> Path:
    """``mkdir -p path``, refusing a link at ``path`` or its ``levels - 1`` parents."""
    path = check_no_link(path, levels)
    path.mkdir(parents=True, exist_ok=True)
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        raise UsageError(f"{str(path)!r} exists and is not a folder; seqframe needs a folder "
                         f"there. Move it away, or choose another --out.")
    return path


def fsync_dir(folder: str | Path) -> None:
    """Make renames and new names in ``folder`` durable (power-loss safety; best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY | _CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot fsync a folder; the rename is still atomic
        pass
    finally:
        os.close(fd)


def write_new_file(path: str | Path, data: bytes) -> None:
    """Create ``path`` (which must not exist) holding ``data``, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``path`` so that readers see the old file or the new one, never a part of either.

    The data goes to a temporary sibling first (flushed to disk), which then replaces ``path``.
    A symbolic link at ``path`` or at its folder is refused: ``os.replace`` would swap a linked
    file itself, but a linked folder would put the file elsewhere.
    """
    path = check_no_link(path, levels=2)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def open_append(path: str | Path):
    """``path`` opened for appending (created when missing), never through a link."""
    path = check_no_link(path, levels=2)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o644)
    except OSError as exc:
        if path.is_symlink():
            raise link_error(path) from None
        raise exc
    return os.fdopen(fd, "ab")


def remove_orphans(folder: str | Path) -> list[Path]:
    """Delete the temporary files and folders (``.NAME.*.tmp``) an interrupted write left.

    Only names of the form this module and :mod:`.checkpoint` create are touched. Call it only
    while holding the run's lock (:mod:`seqframe.runs.rundir`): a live writer's temporary files
    look the same.
    """
    import shutil

    folder = Path(folder)
    removed = []
    if not folder.is_dir() or folder.is_symlink():
        return removed
    for entry in folder.iterdir():
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
    return removed
