"""The tutorials' example plugins install, pass their own tests, and train through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.docs._tools import DOCS

EXAMPLES = DOCS / "plugins" / "examples"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    target = tmp_path_factory.mktemp("examples-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(EXAMPLES / "sine-task"),
         str(EXAMPLES / "mgu-cell")],
        check=True, capture_output=True, text=True)
    return target


def env(site) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("example", ["sine-task", "mgu-cell"])
def test_example_tests_pass(site, example):
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            cwd=EXAMPLES / example, env=env(site), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_the_tutorials_run_command_trains_the_mgu_on_the_sine_task(site, tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "seqframe", "run", "--task", "sine", "--cell", "mgu", "--steps",
         "3", "-o", "train_size=32", "-o", "eval_size=8", "--out", str(out), "--quiet"],
        env=env(site), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["task"], summary["cell"], summary["steps"]) == ("sine", "mgu", 3)
    assert set(summary["baselines"]) == {"zero", "persistence", "noise_floor"}
    assert (out / "sine_forecast.png").is_file()
