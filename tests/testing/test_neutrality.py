"""The backend-neutrality check: a cell that computes with NumPy instead of `ops` fails it.

Each planted cell is a correct Elman RNN except for how it computes; the check must name the
NumPy function and the line, quote the rule, leave NumPy as it was, and let the legitimate
uses through (NumPy inside an Ops method, NumPy in init_params).
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from numpy import tanh  # bound in this module, as `from numpy import tanh` in a cell would be
from seqframe_numpy.ops import NumpyOps

from seqframe.cells import GRUCell, LSTMCell, RNNCell
from seqframe.testing import NEUTRALITY_RULE, check_backend_neutrality, check_cell
from tests.docs._tools import DOCS

BACKENDS = ["numpy", pytest.param("torch", marks=pytest.mark.torch)]
ORIGINAL_TANH = np.tanh


def make_ops(backend: str):
    if backend == "numpy":
        return NumpyOps(dtype="float32")
    pytest.importorskip("torch")
    from seqframe_torch.ops import TorchOps

    return TorchOps(dtype="float32", device="cpu")


def line_of(obj, text: str) -> int:
    """The number of the first line of ``obj``'s source (in this file) that contains ``text``."""
    source, start = inspect.getsourcelines(obj)
    return start + next(i for i, line in enumerate(source) if text in line)


class NpTanhCell(RNNCell):
    name = "nptanh"

    def step(self, ops, xp, hp, state):
        h = np.tanh(xp + hp)
        return (h,), h


class ImportedTanhCell(RNNCell):
    name = "importedtanh"

    def step(self, ops, xp, hp, state):
        h = tanh(xp + hp)
        return (h,), h


def _squash(a):
    return 2.0 / (1.0 + np.exp(-2.0 * a)) - 1.0  # tanh, the long way


class HelperCell(RNNCell):
    name = "helper"

    def step(self, ops, xp, hp, state):
        h = _squash(xp + hp)  # NumPy one call away, in a helper of the cell's package
        return (h,), h


class NumpyBackwardCell(RNNCell):
    name = "npbackward"

    def step_backward(self, ops, d_state, cache):
        d_a = d_state[0] * (1.0 - np.square(cache))
        return d_a, d_a, (np.zeros_like(cache),)


class HostRoundTripCell(RNNCell):
    name = "hostroundtrip"

    def step(self, ops, xp, hp, state):
        h = ops.to_numpy(ops.tanh(xp + hp))  # no NumPy call of its own, but a host array out
        return (h,), h


class NumpyInitCell(RNNCell):
    name = "numpyinit"

    def init_params(self, rng, input_size, hidden_size):
        params = super().init_params(rng, input_size, hidden_size)
        return {k: np.clip(v, -0.5, 0.5) for k, v in params.items()}  # host init is allowed


class RaisingCell(RNNCell):
    name = "raising"

    def step(self, ops, xp, hp, state):
        raise RuntimeError("boom")


def _tanh_by_helper(x):
    return np.tanh(x)


class HelperOps(NumpyOps):
    """A backend whose method reaches NumPy through a module-level helper: still the backend's."""

    def tanh(self, x):
        return _tanh_by_helper(x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("cell_cls", "function", "line"), [
    (NpTanhCell, "numpy.tanh", "np.tanh("),
    (ImportedTanhCell, "numpy.tanh", "tanh(xp"),
    (NumpyBackwardCell, "numpy.square", "np.square("),
])
def test_a_cell_calling_numpy_fails_naming_the_call_and_quoting_the_rule(backend, cell_cls,
                                                                         function, line):
    ops = make_ops(backend)
    with pytest.raises(AssertionError) as info:
        check_backend_neutrality(cell_cls(), ops)
    message = str(info.value)
    assert message.startswith(f"cell {cell_cls.name!r} on {backend} float32 is not "
                              f"backend-neutral: called {function} (")
    assert f"test_neutrality.py:{line_of(cell_cls, line)})" in message
    assert f"The rule: {NEUTRALITY_RULE}." in message
    assert np.tanh is ORIGINAL_TANH and tanh is ORIGINAL_TANH  # everything put back


def test_every_numpy_call_is_listed_with_the_helper_line():
    with pytest.raises(AssertionError) as info:
        check_backend_neutrality(NumpyBackwardCell(), make_ops("numpy"))
    assert re.search(r"called numpy\.square \(.*\); called numpy\.zeros_like \(", str(info.value))
    # the line is the NumPy call itself, in the cell's helper
    with pytest.raises(AssertionError, match=r"called numpy\.exp \(.*test_neutrality\.py:"
                                             + str(line_of(_squash, "np.exp"))):
        check_backend_neutrality(HelperCell(), make_ops("numpy"))


@pytest.mark.torch
def test_a_host_array_returned_on_torch_fails():
    with pytest.raises(AssertionError,
                       match=r"step's state holds a numpy\.ndarray.*The rule: a cell computes"):
        check_backend_neutrality(HostRoundTripCell(), make_ops("torch"))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cell_cls", [RNNCell, LSTMCell, GRUCell, NumpyInitCell])
def test_cells_written_against_ops_pass(backend, cell_cls):
    check_backend_neutrality(cell_cls(), make_ops(backend))


def test_numpy_inside_a_backend_method_is_the_backends_business():
    check_backend_neutrality(GRUCell(), HelperOps(dtype="float64"))
    check_backend_neutrality(RNNCell(), HelperOps(dtype="float64"))


def test_a_cell_that_raises_gets_its_own_error_and_numpy_is_restored():
    before = [dict(vars(module)) for module in (np, np.linalg, np.random)] + [dict(globals())]
    with pytest.raises(RuntimeError, match="boom"):
        check_backend_neutrality(RaisingCell(), make_ops("numpy"))
    after = [dict(vars(module)) for module in (np, np.linalg, np.random)] + [dict(globals())]
    for old, new in zip(before, after, strict=True):
        assert [k for k in old if new.get(k) is not old[k]] == []


def test_check_cell_runs_the_neutrality_check_among_the_others():
    with pytest.raises(AssertionError) as info:
        check_cell(NpTanhCell, backends=["numpy"])
    assert str(info.value).startswith("1 check(s) failed:\n  numpy backend neutrality: ")
    assert check_cell(RNNCell, backends=["numpy"]) == []


def test_the_testing_reference_quotes_the_rule():
    page = " ".join((DOCS / "reference" / "testing.md").read_text().split())
    assert NEUTRALITY_RULE in page
