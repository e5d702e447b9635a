"""The IndRNN and minGRU example plugins (docs/plugins/examples/): installed as a user would, they
pass their own tests and ``seqframe check`` on both backends, and train on the char-LM task."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest

from tests.docs._tools import DOCS

EXAMPLES = DOCS / "plugins" / "examples"
CELLS = {"indrnn": "indrnn-cell", "mingru": "mingru-cell"}
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="torch is not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    target = tmp_path_factory.mktemp("cell-examples-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), *(str(EXAMPLES / d) for d in CELLS.values())],
        check=True, capture_output=True, text=True)
    return target


def env(site) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}


def seqframe(site, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqframe", *args], env=env(site),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("example", sorted(CELLS.values()))
def test_example_tests_pass(site, example):
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            cwd=EXAMPLES / example, env=env(site), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=needs_torch)])
def test_seqframe_check_passes_in_float64(site, cell, backend):
    result = seqframe(site, "check", "--backend", backend, "--cell", cell)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "PASS registered" in result.stdout and ", 0 failed," in result.stdout
    assert f"gradient check: {cell} on {backend} float64" in result.stdout
    assert "weight_hh_l0" not in result.stdout  # neither cell has a dense recurrent matrix
    if cell == "indrnn":
        assert "weight_hh_diag_l0" in result.stdout  # its own parameter is gradient-checked


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_the_cell_trains_on_charlm(site, tmp_path, cell):
    out = tmp_path / "run"
    result = seqframe(site, "run", "--task", "charlm", "--cell", cell, "--hidden", "32",
                      "--batch-size", "8", "--bptt", "25", "--lr", "1e-2", "--steps", "40",
                      "--eval-every", "20", "-o", "max_chars=20000", "-o", "sample_length=20",
                      "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["cell"], summary["steps"]) == (cell, 40)
    # 40 steps take a 66-way guess (ln 66 = 4.19 nats/char) well below uniform
    assert summary["metrics"]["val"]["loss"] < math.log(66) - 0.5, summary["metrics"]
