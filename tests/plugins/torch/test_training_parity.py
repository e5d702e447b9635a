"""Training parity over 50 optimizer steps: numpy vs torch, generic and fused (float64).

Two routes: :func:`seqframe.diagnostics.parity.parity_check` (what ``seqframe check --parity``
runs), and the
real :class:`seqframe.training.trainer.Trainer` on a small in-memory task, whose per-step training
losses
are read back from ``metrics.jsonl`` (one evaluation per step).
"""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqframe_numpy.ops import NumpyOps  # noqa: E402
from seqframe_torch.ops import TorchOps  # noqa: E402

from seqframe.diagnostics.parity import (  # noqa: E402
    ParityWorkload,
    compare,
    parity_check,
    synthetic_batches,
    train_trace,
)
from seqframe.engine.model import Model, ModelConfig  # noqa: E402
from seqframe.errors import ConfigError  # noqa: E402
from tests.plugins.torch.copy_task import trainer_losses  # noqa: E402
from tests.plugins.torch.window_cases import CELLS  # noqa: E402


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_parity_check_50_steps(cell, fused):
    report = parity_check(cell, "numpy", steps=50, dtype="float64", fused=fused, layers=2,
                          work=ParityWorkload(dropout=0.2))
    assert report.tested.path.startswith("fused" if fused else "generic"), report.tested.path
    assert report.tolerance == (1e-7 if fused else 1e-9)
    assert report.passed, report.format()
    assert report.steps == 50 and report.tested.clipped > 0  # clipping was part of it
    assert report.param_rel_diff < 1e-9
    json.dumps(report.as_dict())
    assert "PASS" in report.format()


class SkewedTorchOps(TorchOps):
    """A subtly wrong backend: tanh off by one part in a million."""

    def tanh(self, x):
        return torch.tanh(x) * (1.0 + 1e-6)


def test_parity_catches_a_subtly_wrong_backend():
    work = ParityWorkload()
    model = Model(ModelConfig(cell="rnn", input_size=work.features, hidden_size=work.hidden,
                              output_size=work.classes), CELLS["rnn"]())
    batches = synthetic_batches(work)
    ref = train_trace(NumpyOps(dtype="float64"), model, batches, work, 10)
    bad = train_trace(SkewedTorchOps(dtype="float64", device="cpu", fused=False), model,
                      batches, work, 10)
    report = compare("rnn", "float64", bad, ref)
    assert not report.passed and 1e-9 < report.max_rel_diff < 1e-3
    assert "FAIL" in report.format()


def test_fused_parity_needs_a_fused_path():
    from seqframe.cells import Cell

    class Plain(Cell):
        name, gates = "plain", 1
        step = CELLS["rnn"].step
        step_backward = CELLS["rnn"].step_backward

    with pytest.raises(ConfigError, match="has no fused path for cell 'plain'"):
        parity_check(Plain(), fused=True, steps=1)
    report = parity_check(Plain(), steps=3)  # a third-party cell: generic on both, still exact
    assert report.passed and report.tested.path == "generic BPTT"


def test_parity_needs_a_step():
    with pytest.raises(ConfigError, match="at least 1 step"):
        parity_check("rnn", steps=0)


# ---- the real trainer ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_trainer_per_step_losses_agree(tmp_path, cell):
    path_n, ref = trainer_losses(NumpyOps(dtype="float64"), cell, tmp_path / "numpy")
    path_g, generic = trainer_losses(TorchOps(dtype="float64", device="cpu", fused=False), cell,
                                     tmp_path / "generic")
    path_f, fused = trainer_losses(TorchOps(dtype="float64", device="cpu", fused=True), cell,
                                   tmp_path / "fused")
    assert (path_n, path_g) == ("generic BPTT", "generic BPTT") and path_f.startswith("fused")
    assert len(ref) == len(generic) == len(fused) == 50
    np.testing.assert_allclose(generic, ref, rtol=1e-9, atol=0)
    np.testing.assert_allclose(fused, ref, rtol=1e-7, atol=0)


def test_parity_in_float32():
    report = parity_check("gru", "numpy", steps=20, dtype="float32", fused=True)
    assert report.tolerance == 1e-5 and report.passed, report.format()
