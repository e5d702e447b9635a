"""``seqframe new-plugin``: the packages it writes install, pass their own tests, and train."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seqframe.cli.scaffold import new_plugin
from seqframe.errors import UsageError

KINDS = {"task": "echo-demo", "cell": "leaky-demo", "backend": "np-demo",
         "loss": "logcosh-demo"}
# a few fast training steps with each kind of plugin, through the real command line
RUN_FLAGS = {
    "task": ["--task", "echo-demo", "-o", "train_size=32", "-o", "length=8"],
    "cell": ["--cell", "leaky-demo", "--task", "adding", "-o", "length=6", "-o", "train_size=32"],
    "backend": ["--backend", "np-demo", "--task", "adding", "-o", "length=6",
                "-o", "train_size=32"],
    # no --loss flag: a run names its loss in a run file (written by the test)
    "loss": ["--task", "adding", "-o", "length=6", "-o", "train_size=32"],
}


# ---- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Sine", "2sine", "my sine", "sine-", "a--b", "x" * 41, ""])
def test_invalid_names_are_refused(tmp_path, name):
    with pytest.raises(UsageError, match="is not a valid plugin name: use lowercase letters"):
        new_plugin("task", name, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(UsageError, match=r"unknown plugin kind 'model'; expected one of task, "
                                         r"cell, backend"):
        new_plugin("model", "x", tmp_path)


def test_a_taken_name_is_refused(tmp_path):
    with pytest.raises(UsageError, match=r"the name 'gru' is taken by plugin 'cells'"):
        new_plugin("cell", "gru", tmp_path / "out")
    with pytest.raises(UsageError, match=r"the name 'numpy' is taken by plugin 'numpy'"):
        new_plugin("task", "numpy", tmp_path / "out")
    with pytest.raises(UsageError, match=r"the name 'mse' is taken by plugin 'losses'"):
        new_plugin("loss", "mse", tmp_path / "out")


def test_a_non_empty_directory_is_never_overwritten(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="already exists and is not empty; new-plugin never "
                                         "overwrites files"):
        new_plugin("task", "sine", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_file_in_the_way_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="exists and is not a directory"):
        new_plugin("task", "sine", tmp_path / "file")


def test_cli_errors_exit_2(sf, tmp_path):
    code, _, err = sf("new-plugin", "--kind", "task", "Bad", "--directory", str(tmp_path / "a"))
    assert code == 2 and "error: 'Bad' is not a valid plugin name" in err
    code, _, err = sf("new-plugin", "--kind", "model", "x")
    assert code == 2 and "'model' is not one of 'task', 'cell', 'backend'" in err
    code, _, err = sf("new-plugin", "x")
    assert code == 2 and "Missing option '--kind'" in err
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    code, _, err = sf("new-plugin", "--kind", "cell", "okname", "--directory", str(full))
    assert code == 2 and "already exists and is not empty" in err


def test_cli_writes_into_an_empty_directory_and_lists_the_files(sf, tmp_path):
    code, out, _ = sf("new-plugin", "--kind", "cell", "mycell", "--directory", str(tmp_path))
    assert code == 0
    written = [Path(line) for line in out.splitlines()]
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        "pyproject.toml", "README.md", "seqframe_mycell/__init__.py",
        "seqframe_mycell/plugin.py", "seqframe_mycell/cell.py", "tests/test_mycell.py"}
    assert all(p.is_file() for p in written)


def test_default_directory_is_seqframe_name_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = new_plugin("backend", "fastnp")
    assert written[0] == tmp_path / "seqframe-fastnp" / "pyproject.toml"


# ---- the packages work -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    """One package of each kind, pip-installed together into a private site directory."""
    root = tmp_path_factory.mktemp("scaffold")
    dirs = {kind: root / f"pkg-{kind}" for kind in KINDS}
    for kind, name in KINDS.items():
        new_plugin(kind, name, dirs[kind])
    site = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), *map(str, dirs.values())],
        check=True, capture_output=True, text=True)
    return dirs, site


def _env(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}


def test_generated_code_renders_completely_and_is_lint_clean(scaffolded):
    dirs, _ = scaffolded
    for directory in dirs.values():
        for path in directory.rglob("*"):
            if path.is_file():
                assert "{{" not in path.read_text(), path
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    result = subprocess.run([ruff, "check", "--isolated", "--line-length", "100",
                             "--select", "E,F,W,B,UP", *map(str, dirs.values())],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("kind", list(KINDS))
def test_installed_package_is_listed_as_a_plugin(scaffolded, kind):
    _, site = scaffolded
    result = subprocess.run([sys.executable, "-m", "seqframe", "plugins", "--json"],
                            env=_env(site), capture_output=True, text=True)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    name = KINDS[kind]
    assert rows[name]["status"] == "ok"
    assert rows[name]["distribution"] == f"seqframe-{name}"
    assert rows[name]["registered"] == {kind: [name]}


@pytest.mark.parametrize("kind", list(KINDS))
def test_generated_tests_pass(scaffolded, kind):
    dirs, site = scaffolded
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            cwd=dirs[kind], env=_env(site), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.parametrize("kind", list(KINDS))
def test_seqframe_run_trains_with_the_new_plugin(scaffolded, kind, tmp_path):
    _, site = scaffolded
    out, flags = tmp_path / "run", list(RUN_FLAGS[kind])
    if kind == "loss":
        (tmp_path / "run.toml").write_text(f'loss = "{KINDS[kind]}"\n')
        flags += ["--config", str(tmp_path / "run.toml")]
    result = subprocess.run(
        [sys.executable, "-m", "seqframe", "run", *flags, "--steps", "2",
         "--hidden", "4", "--out", str(out), "--quiet"],
        env=_env(site), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2
    if kind == "loss":  # the summary names no loss; the run's resolved config does
        assert f'loss = "{KINDS[kind]}"' in (out / "config.toml").read_text()
    else:
        assert summary[kind] == KINDS[kind]
