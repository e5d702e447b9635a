"""`seqframe check` through the CLI: passes for the built-in cells, fails for a wrong backward."""

from __future__ import annotations

import pytest

from tests.test_cli import with_plugins  # noqa: F401  (fixture)
from tests.test_plugins import fixture_ep


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradient_check_passes_for_builtin_cells_with_two_layers(sf, cell):
    code, out, _ = sf("check", "--backend", "numpy", "--cell", cell, "--layers", "2")
    assert code == 0, out
    assert f"gradient check: {cell} on numpy float64" in out
    assert "masks, resets, truncation" in out and "weight_hh_l1" in out
    assert "passed: max relative error" in out


def test_gradient_check_catches_a_wrong_backward_and_exits_1(sf, with_plugins):  # noqa: F811
    with_plugins(fixture_ep("wrong", "wrong_cell"))
    code, out, _ = sf("check", "--backend", "numpy", "--cell", "sloppy", "--layers", "1")
    assert code == 1
    assert "FAILED" in out or "failed" in out


def test_parity_and_grad_flow_together_is_a_usage_error(sf):
    code, _, err = sf("check", "--parity", "numpy", "--grad-flow")
    assert code == 2 and "choose one of --parity and --grad-flow" in err


def test_unknown_cell_exits_2(sf):
    code, _, err = sf("check", "--cell", "lstn")
    assert code == 2 and "did you mean 'lstm'" in err


def test_grad_flow_writes_a_plot_and_a_table(sf, tmp_path):
    plot = tmp_path / "flow.png"
    code, out, _ = sf("check", "--grad-flow", "--cell", "rnn,lstm", "--layers", "1",
                      "--length", "30", "--out", str(plot))
    assert code == 0 and plot.stat().st_size > 0
    assert "rnn" in out and "lstm" in out
