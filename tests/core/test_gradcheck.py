"""check_gradients: passes on the built-in cells, catches a wrong backward, refuses float32."""

from __future__ import annotations

import pytest
from seqframe_numpy import NumpyOps

from seqframe.cells import GRUCell, LSTMCell, RNNCell
from seqframe.diagnostics.gradcheck import GradCheckReport, check_gradients
from seqframe.errors import ConfigError

OPS = NumpyOps("float64")


@pytest.mark.parametrize("cls", [RNNCell, LSTMCell, GRUCell])
def test_two_layer_cells_pass_at_1e_minus_6(cls):
    report = check_gradients(OPS, cls, layers=2)
    assert isinstance(report, GradCheckReport)
    assert report.passed and report.ok, report.format()
    assert report.max_rel_error < 1e-6
    assert len(report.rows) == 10  # 4 tensors x 2 layers + readout weight and bias


@pytest.mark.parametrize(("cls", "options"), [
    (LSTMCell, dict(bidirectional=True, dropout=0.5, hidden=2)),
    (GRUCell, dict(readout="last", loss="mse", bidirectional=True, dropout=0.3, hidden=2)),
    (RNNCell, dict(readout="mean", loss="gaussian_nll", layers=3)),
    (LSTMCell, dict(readout="last", loss="gaussian_nll", with_masks=False)),
    (GRUCell, dict(readout="mean", loss="cross_entropy", truncation=False, with_resets=False)),
    (LSTMCell, dict(readout="max", bidirectional=True, dropout=0.3, hidden=2)),
    (GRUCell, dict(readout="max", loss="mse", layers=2)),
])
def test_every_readout_loss_and_feature_passes(cls, options):
    report = check_gradients(OPS, cls(), **options)
    assert report.passed, report.format()


class _ForgetsTheForgetGate(LSTMCell):
    """A plausible bug: the cell state's gradient does not flow back through f."""

    def step_backward(self, ops, d_state, cache):
        d_xp, d_hp, (d_h, d_c) = super().step_backward(ops, d_state, cache)
        return d_xp, d_hp, (d_h, d_c * 0.0)


def test_a_wrong_backward_fails_and_is_named():
    report = check_gradients(OPS, _ForgetsTheForgetGate())
    assert not report.passed
    assert "weight_hh_l0" in report.failing()
    assert "FAILED (" in report.format() and "weight_hh_l0" in report.format()


def test_format_is_a_table_of_every_parameter():
    report = check_gradients(OPS, RNNCell, layers=1)
    text = report.format()
    title = "gradient check: rnn on numpy float64 on cpu; 1 layer(s)"
    assert text.splitlines()[0].startswith(title)
    assert "max rel err" in text.splitlines()[1]
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "readout.weight"):
        assert name in text
    assert text.splitlines()[-1].startswith("passed: max relative error")
    assert str(report) == text


def test_float32_needs_a_relaxed_tolerance():
    ops32 = NumpyOps("float32")
    with pytest.raises(ConfigError, match=r"in float32 cannot reach a relative tolerance of 1e-06.*"
                                          r"--dtype float64.*relax the tolerance to 0.01"):
        check_gradients(ops32, LSTMCell)
    assert check_gradients(ops32, LSTMCell, tolerance=1e-2).passed


def test_only_cells_are_accepted():
    with pytest.raises(ConfigError, match="needs a Cell instance or class; got 'lstm'"):
        check_gradients(OPS, "lstm")
