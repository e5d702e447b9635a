"""Run directories: one writer at a time, starting afresh, and tidying up after a crash.

* **One writer.** A run or resume holds an exclusive ``flock`` on ``DIR/.lock`` for its whole
  life; the operating system releases it when the process ends, however it ends (no stale lock
  after a kill). A second process that wants to write the same run gets
  :class:`RunLockedError` naming the holder's PID. Data-parallel runs write from rank 0 only, so
  rank 0 alone locks.
* **Starting afresh.** A new run may reuse an ``--out`` that holds no checkpoint (a run that
  failed or was killed before its first one: there is nothing to resume), and ``--overwrite``
  replaces a run on purpose. A folder holding a run with a checkpoint is refused otherwise.
* **After a crash.** Under the lock, :func:`tidy` gives a checkpoint its name back after a crash
  between the renames of a save and deletes the temporary files interrupted writes left.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError, UsageError
from ..training.checkpoint import META, clean_folder
from ..training.safefiles import check_no_link, refuse_links, remove_orphans

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; runs are not locked there
    fcntl = None

LOCK_FILE = ".lock"
CONFIG_FILE = "config.toml"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class RunLockedError(UsageError):
    """Another process is writing this run directory (it holds the directory's lock)."""


class RunLock:
    """An exclusive lock on a run directory, held from :meth:`acquire` to :meth:`release`.

    Args:
        run_dir: the run directory (it must exist).
    """

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise :class:`RunLockedError` naming the process holding it."""
        if fcntl is None or self.fd is not None:
            return self
        check_no_link(self.path)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o644)
        except PermissionError:
            raise UsageError(
                f"cannot write in run directory {str(self.run_dir)!r}: permission denied. Give a "
                f"--out you can write to (or fix the folder's permissions).") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunLockedError(
                f"run directory {str(self.run_dir)!r} is in use by another seqframe process "
                f"({holder}), which holds its lock {str(self.path)!r}; two processes writing one "
                f"run would mix its metrics and checkpoints. Wait for that process to end (or "
                f"stop it: its checkpoint lets you --resume later), or choose another --out."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    """``PID 1234 on host`` from the lock file, as far as it can be read."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        parts = os.read(fd, 200).decode("utf-8", "replace").split()
    except OSError:
        parts = []
    if not parts or not parts[0].isdigit():
        return "PID unknown"
    host = f" on {parts[1]}" if len(parts) > 1 and parts[1] != socket.gethostname() else ""
    return f"PID {parts[0]}{host}"


def has_checkpoint(run_dir: Path) -> bool:
    """Whether ``run_dir`` (or an ensemble member inside it) holds a checkpoint to resume."""
    patterns = ("checkpoints/*/" + META, "checkpoints/.*.old/" + META,
                "member-*/checkpoints/*/" + META, "member-*/checkpoints/.*.old/" + META)
    return any(list(run_dir.glob(pattern)) for pattern in patterns)  # whole: no open scandir


def holds_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds (the start of) a seqframe run."""
    return (run_dir / CONFIG_FILE).exists() or (run_dir / "checkpoints").exists()


def claim_new(config, overwrite: bool, log: Callable[[str], None]) -> tuple[Path, RunLock]:
    """Create (or reuse) the directory of a new run and lock it.

    ``config.out`` names it (default ``runs/<task>-<cell>-<time>``). A folder without a
    checkpoint is started afresh (what it held is removed, with a message); a run with one is
    refused unless ``overwrite``.

    Returns:
        ``(path, lock)``; release the lock when the run ends.

    Raises:
        ConfigError: ``--out`` is a file, cannot be created, or holds a run to resume.
        RunLockedError: another process is writing it.
    """
    path = Path(config.out) if config.out else _auto_name(config)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {str(path)!r} is an existing file, not a folder; choose "
                          f"another --out (a folder to create, or an empty one).")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {str(path)!r} cannot be created: {exc.strerror or exc}. "
                          f"Choose a folder you can write to.") from None
    lock = RunLock(path).acquire()
    try:
        _make_room(path, overwrite, log)
        refuse_links(path)
    except BaseException:
        lock.release()
        raise
    return path, lock


def _make_room(path: Path, overwrite: bool, log: Callable[[str], None]) -> None:
    """Empty ``path`` of an old run when that is allowed (see :func:`claim_new`)."""
    if not holds_run(path):
        if overwrite and [p for p in path.iterdir() if p.name != LOCK_FILE]:
            raise ConfigError(f"--overwrite replaces a run directory, but {str(path)!r} holds "
                              f"other files and no run; choose another --out.")
        return
    if has_checkpoint(path) and not overwrite:
        raise ConfigError(
            f"--out {str(path)!r} already holds a run; continue it with `seqframe run --resume "
            f"{path}`, replace it with --overwrite, or choose another --out.")
    if has_checkpoint(path):
        log(f"--overwrite: removing the run in {path}")
    else:
        log(f"{path} holds a run that stopped before its first checkpoint (nothing to resume); "
            f"starting it afresh")
    clear(path)


def clear(path: Path) -> None:
    """Remove everything in ``path`` but its lock file (links are removed, never followed)."""
    for entry in path.iterdir():
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _auto_name(config) -> Path:
    stem = Path("runs") / f"{config.task}-{config.cell}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = stem, 1
    while path.exists():
        n += 1
        path = stem.with_name(f"{stem.name}-{n}")
    return path


def open_existing(run_dir: Path) -> RunLock:
    """Lock a run directory to resume it, and tidy it (see :func:`tidy`).

    Raises:
        RunLockedError: another process is writing it.
        UsageError: it holds a symbolic link.
    """
    lock = RunLock(run_dir).acquire()
    try:
        tidy(run_dir)
    except BaseException:
        lock.release()
        raise
    return lock


def tidy(run_dir: Path) -> None:
    """Refuse links; recover checkpoints and remove temporary leftovers of interrupted writes."""
    refuse_links(run_dir)
    for folder in [run_dir, *sorted(run_dir.glob("member-*"))]:
        remove_orphans(folder)
        clean_folder(folder / "checkpoints")


def require_checkpoint(run_dir: Path) -> None:
    """Explain a run directory with nothing to resume: it is restartable instead."""
    if not has_checkpoint(run_dir):
        raise UsageError(
            f"{str(run_dir)!r} holds no checkpoint: the run stopped before writing its first "
            f"one, so there is nothing to continue. Start it again with its own settings: "
            f"`seqframe run --config {run_dir / CONFIG_FILE}` (a run directory without a "
            f"checkpoint is started afresh).")
