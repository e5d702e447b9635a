"""docs/reference/python-api.md runs as written, on both backends, and so does its example."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests.docs._tools import DOCS

REPO = DOCS.parent
PAGE = DOCS / "reference" / "python-api.md"


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.fixture
def in_a_fresh_folder(tmp_path, monkeypatch):
    """The page's paths are relative to the repository root: give it the run file it names."""
    (tmp_path / "docs" / "benchmarks").mkdir(parents=True)
    shutil.copy(DOCS / "benchmarks" / "adding.toml", tmp_path / "docs" / "benchmarks")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_page_runs_as_written(in_a_fresh_folder, backend, capsys):
    if backend == "torch":
        pytest.importorskip("torch")
    text = PAGE.read_text(encoding="utf-8").replace('BACKEND = "torch"', f'BACKEND = "{backend}"')
    blocks = code_blocks(text)
    assert len(blocks) >= 7  # a guard against the test passing because nothing was found
    scope: dict = {}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), scope)  # noqa: S102 - our own documentation
    out = capsys.readouterr().out
    reopened = scope["again"].evaluate("test")
    assert reopened == pytest.approx(scope["metrics"], rel=1e-4)
    assert "forecast.csv" in out and "does not support sample" in out
    assert "model hidden_size must be a positive integer; got -1." in out
    assert scope["again"].backend == backend and (in_a_fresh_folder / "runs" / "demo").is_dir()


def test_the_contracts_are_importable_from_the_package():
    import seqframe

    for name in ("Ops", "Cell", "Task", "Batch", "ModelSpec", "TaskOption", "hookimpl",
                 "train", "load", "resume", "Run", "RunConfig", "SeqframeError"):
        assert name in seqframe.__all__ and getattr(seqframe, name) is not None


def test_the_example_script_runs(tmp_path):
    pytest.importorskip("torch")
    script = DOCS / "examples" / "python_api.py"
    result = subprocess.run([sys.executable, str(script), "--backend", "torch", "--steps", "20",
                             "--out", str(tmp_path / "tour")], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "on torch: test MAPE" in result.stdout and "forecast.png" in result.stdout
    assert "as expected: `seqframe sample` does not apply to this run" in result.stdout
