"""The pytest suites as a plugin author uses them: subclassed in their own test file.

A generated test module subclasses each suite (a correct task, a cell with a broken backward,
one with a wrong gradient for its own parameter, a cell that calls NumPy directly, a backend with
a broken op) and runs under pytest in a
subprocess, with torch hidden so the "backend not installed" path is exercised too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

AUTHOR_TESTS = '''
import numpy as np
from seqframe_numpy.ops import NumpyOps

from seqframe.cells import RNNCell
from seqframe.testing import (BackendConformance, CellConformance, FunctionPredictor,
                              MetricCase, TaskConformance)
from tests.testing.test_checks_catch_faults import CountTask, WrongOwnGradientCell


class ForgetfulCell(RNNCell):
    name = "forgetful"

    def step_backward(self, ops, d_state, cache):
        return d_state[0], d_state[0], (ops.zeros_like(cache),)


class NumpyTanhCell(RNNCell):
    name = "nptanh"

    def step(self, ops, xp, hp, state):
        h = np.tanh(xp + hp)
        return (h,), h


class ClippedTanhOps(NumpyOps):
    name = "clipped"

    def tanh(self, x):
        return np.clip(x, -1, 1)


class TestCount(TaskConformance):
    task = CountTask
    batch_size = 3

    def metric_cases(self, task):
        return [MetricCase("val", FunctionPredictor(lambda x, m: x.sum(axis=1)), {"mse": 0.0})]


class TestForgetful(CellConformance):
    cell = ForgetfulCell
    backends = ("numpy", "torch")


class TestWrongOwn(CellConformance):
    cell = WrongOwnGradientCell  # own parameter u, its gradient missing a factor
    backends = ("numpy",)


class TestNumpyTanh(CellConformance):
    cell = NumpyTanhCell
    backends = ("numpy",)


class TestClipped(BackendConformance):
    backend = staticmethod(lambda dtype: ClippedTanhOps(dtype=dtype))
    cells = ("rnn",)
'''


def run_author_tests(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "test_author.py").write_text(AUTHOR_TESTS)
    # hide torch, as on a machine without it: importing it raises ModuleNotFoundError
    (tmp_path / "conftest.py").write_text("import sys\nsys.modules['torch'] = None\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-W", "error",
         "--rootdir", str(tmp_path), str(tmp_path / "test_author.py")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    outcomes = dict(re.findall(r"::(\S+) (PASSED|FAILED|SKIPPED|ERROR)", result.stdout))
    assert outcomes, result.stdout + result.stderr
    return outcomes


def test_author_subclasses_run_and_fail_where_the_plugin_is_wrong(tmp_path):
    outcomes = run_author_tests(tmp_path)
    # the base classes themselves are not collected
    assert not [name for name in outcomes if "Conformance" in name]
    # a correct task passes everything but the entry-point check (it is not installed)
    task = {k: v for k, v in outcomes.items() if k.startswith("TestCount::")}
    assert task.pop("TestCount::test_registered") == "FAILED"
    assert set(task.values()) == {"PASSED"}, task
    # a cell with a wrong backward fails its gradient checks on numpy ...
    assert outcomes["TestForgetful::test_contract"] == "PASSED"
    assert outcomes["TestForgetful::test_step_gradients[numpy]"] == "FAILED"
    assert outcomes["TestForgetful::test_window_gradients[numpy]"] == "FAILED"
    # ... and torch, hidden here, is skipped rather than failed
    assert outcomes["TestForgetful::test_step_gradients[torch]"] == "SKIPPED"
    assert outcomes["TestForgetful::test_backend_neutrality[numpy]"] == "PASSED"
    # a cell with its own parameters and a wrong gradient for one of them fails both gradient
    # checks and nothing else (its forward, hence parity, is right)
    own = {k: v for k, v in outcomes.items() if k.startswith("TestWrongOwn::")}
    assert own.pop("TestWrongOwn::test_registered") == "FAILED"  # not installed
    assert own.pop("TestWrongOwn::test_step_gradients[numpy]") == "FAILED"
    assert own.pop("TestWrongOwn::test_window_gradients[numpy]") == "FAILED"
    assert set(own.values()) == {"PASSED", "SKIPPED"}, own
    # a cell that calls np.tanh is right on numpy, so only the neutrality test fails
    cell = {k: v for k, v in outcomes.items() if k.startswith("TestNumpyTanh::")}
    assert cell.pop("TestNumpyTanh::test_registered") == "FAILED"  # not installed
    assert cell.pop("TestNumpyTanh::test_backend_neutrality[numpy]") == "FAILED"
    assert cell.pop("TestNumpyTanh::test_step_gradients[numpy]") == "PASSED"
    assert set(cell.values()) == {"PASSED", "SKIPPED"}, cell  # numpy float64 parity: skipped
    # a backend with a wrong tanh fails exactly the checks that involve tanh
    assert outcomes["TestClipped::test_ops_contract[float64-unary_functions]"] == "FAILED"
    assert outcomes["TestClipped::test_ops_contract[float64-matmul]"] == "PASSED"
    assert outcomes["TestClipped::test_step_gradients[rnn]"] == "FAILED"  # 1 - h**2 != clip'
    assert outcomes["TestClipped::test_window_parity_with_numpy[float64-rnn-"
                    "every_step-cross_entropy-2layers]"] == "FAILED"


def test_the_docstring_example_names_exist():
    import seqframe.testing as testing

    for name in testing.__all__:
        assert getattr(testing, name) is not None
    assert textwrap.dedent(testing.__doc__).count("Conformance") >= 3
