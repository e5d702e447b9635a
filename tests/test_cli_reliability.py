"""One-line errors (exit code 2) instead of tracebacks for what a user can get wrong at the
command line (items 8 and 12 of the reliability issue)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from seqframe.runs import api, rundir

ARGS = ("run", "--task", "timeseries", "--hidden", "4", "--steps", "2", "--quiet")


def one_error(sf, *args) -> tuple[int, str]:
    code, _, err = sf(*args)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return code, lines[0]


@pytest.mark.parametrize("extra, message", [
    (("--seed", "-1"), "--seed must be a whole number >= 0; got -1."),
    (("--time-budget", "-1"), "time_budget must be a number >= 0 (0 = off); got -1."),
    (("--explode-factor", "-2"), "explode_factor must be a number >= 0 (0 = off); got -2."),
])
def test_values_out_of_range_are_refused_before_anything_is_created(sf, tmp_path, extra,
                                                                   message):
    out = tmp_path / "run"
    code, line = one_error(sf, *ARGS, *extra, "--out", str(out))
    assert code == 2 and line == f"error: {message}"
    assert not out.exists()


def test_a_negative_optimizer_eps_is_refused(sf, tmp_path):
    (tmp_path / "run.toml").write_text("eps = -1.0\n")
    code, line = one_error(sf, *ARGS, "--config", str(tmp_path / "run.toml"), "--out",
                           str(tmp_path / "run"))
    assert code == 2
    assert line == "error: eps must be a small positive number (default 1e-08); got -1."


def test_a_config_that_is_a_folder_or_binary_is_one_line(sf, tmp_path):
    code, line = one_error(sf, *ARGS, "--config", str(tmp_path))
    assert code == 2 and "is a folder; --config expects a TOML file" in line
    (tmp_path / "bin.toml").write_bytes(bytes(range(256)))
    code, line = one_error(sf, *ARGS, "--config", str(tmp_path / "bin.toml"))
    assert code == 2 and "is not UTF-8 text (byte 128 cannot be decoded)" in line


def test_an_out_that_is_a_file_is_one_line(sf, tmp_path):
    (tmp_path / "afile").write_text("mine")
    code, line = one_error(sf, *ARGS, "--out", str(tmp_path / "afile"))
    assert code == 2 and "is an existing file, not a folder; choose another --out" in line
    assert (tmp_path / "afile").read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_parent_is_one_line_for_real(sf, tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        code, line = one_error(sf, *ARGS, "--out", str(parent / "run"))
    finally:
        parent.chmod(0o755)
    assert code == 2 and "cannot be created: Permission denied" in line


def test_a_read_only_parent_is_one_line(sf, tmp_path, monkeypatch):
    """As the test above, for a user (root) the operating system does not refuse."""
    original = Path.mkdir

    def refuse(self, *args, **kwargs):
        if self == tmp_path / "ro" / "run":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    code, line = one_error(sf, *ARGS, "--out", str(tmp_path / "ro" / "run"))
    assert code == 2 and "cannot be created: Permission denied" in line


def test_a_read_only_run_directory_is_one_line_on_resume(sf, tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert sf(*ARGS, "--out", str(out))[0] == 0
    original = os.open

    def refuse(path, flags, *args, **kwargs):
        if str(path).endswith(rundir.LOCK_FILE):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return original(path, flags, *args, **kwargs)

    monkeypatch.setattr(rundir.os, "open", refuse)
    code, line = one_error(sf, "run", "--resume", str(out))
    assert code == 2 and f"cannot write in run directory {str(out)!r}: permission denied" in line


@pytest.mark.parametrize("error, code", [
    (PermissionError(errno.EACCES, "Permission denied", "/data/x.csv"), 2),
    (OSError(errno.ENOSPC, "No space left on device", "/runs/r/metrics.jsonl"), 1),
])
def test_any_other_operating_system_error_is_one_line(sf, monkeypatch, error, code):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(api, "train_config", fail)
    got, line = one_error(sf, *ARGS)
    assert got == code
    assert line.startswith(f"error: {error.strerror}: {error.filename!r}. ")
