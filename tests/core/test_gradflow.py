"""Gradient flow through time against independent oracles: finite differences, torch autograd,
and the contraction bound of a small-weight Elman network."""

from __future__ import annotations

import numpy as np
import pytest

from seqframe.diagnostics.gradflow import GradFlow, adding_like_batch, gradient_flow
from seqframe.errors import ConfigError


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


# ---- against oracles (need the numpy backend and the BPTT code) -------------------------------


@pytest.fixture(scope="module")
def ops():
    from seqframe.plugins import get_registry

    return get_registry().load("backend", "numpy")(dtype="float64")


def elman(hidden, rng, scale=0.5):
    """Small random Elman weights (PyTorch names) for a 2-input, 1-output last-step model."""
    return {
        "weight_ih_l0": rng.normal(0, scale, (hidden, 2)),
        "weight_hh_l0": rng.normal(0, scale, (hidden, hidden)),
        "bias_ih_l0": rng.normal(0, scale, hidden),
        "bias_hh_l0": rng.normal(0, scale, hidden),
        "readout.weight": rng.normal(0, scale, (1, hidden)),
        "readout.bias": rng.normal(0, scale, 1),
    }


def elman_step(p, x, h):
    """One Elman step written out independently of seqframe's cells."""
    pre = x @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
    return np.tanh(pre)


def elman_loss_from(p, batch, t, h_t):
    """Our own forward: the summed squared error of the last step, starting from h_t at step t."""
    h = h_t
    for s in range(t + 1, batch.length):
        h = elman_step(p, batch.inputs[:, s], h)
    y = h @ p["readout.weight"].T + p["readout.bias"]  # (B, 1)
    return ((y - batch.targets) ** 2).sum(axis=1)  # (B,) per row: rows are independent


def elman_states(p, batch):
    h, states = np.zeros((batch.batch_size, p["weight_hh_l0"].shape[0])), []
    for s in range(batch.length):
        h = elman_step(p, batch.inputs[:, s], h)
        states.append(h)
    return states


def central_difference_norms(p, batch, eps=1e-6):
    """Mean over rows of ||dE_T/dh_{T-k}|| by lag k, from central differences of our own forward."""
    states, hidden = elman_states(p, batch), p["weight_hh_l0"].shape[0]
    by_step = []
    for t in range(batch.length):
        grad = np.zeros((batch.batch_size, hidden))
        for j in range(hidden):
            bump = np.eye(hidden)[j] * eps
            up = elman_loss_from(p, batch, t, states[t] + bump)
            grad[:, j] = (up - elman_loss_from(p, batch, t, states[t] - bump)) / (2 * eps)
        by_step.append(np.linalg.norm(grad, axis=1).mean())
    return np.array(by_step[::-1])  # index = lag


def test_elman_norms_match_central_differences_through_the_hidden_state(ops):
    hidden, steps = 4, 7
    p = elman(hidden, np.random.default_rng(3))
    flow = gradient_flow(ops, "rnn", length=steps, hidden=hidden, batch_size=5, seed=11, params=p)
    batch = adding_like_batch(5, steps, np.random.default_rng([11, 1]))
    np.testing.assert_allclose(flow.norms["rnn"], central_difference_norms(p, batch), rtol=1e-6)


def test_identity_recurrence_decays_and_grows_exactly_geometrically(ops):
    # W_ih = 0 and zero biases keep h at 0, where tanh' = 1, so with W_hh = a*I the Jacobian
    # dh_t/dh_{t-1} is exactly a*I: each step back multiplies the gradient by a.
    hidden, steps = 3, 12
    for a in (0.7, 1.3):
        p = {
            "weight_ih_l0": np.zeros((hidden, 2)),
            "weight_hh_l0": a * np.eye(hidden),
            "bias_ih_l0": np.zeros(hidden),
            "bias_hh_l0": np.zeros(hidden),
            "readout.weight": np.ones((1, hidden)),
            "readout.bias": np.array([0.5]),
        }
        flow = gradient_flow(ops, "rnn", length=steps, hidden=hidden, batch_size=4, params=p)
        curve = flow.norms["rnn"]
        np.testing.assert_allclose(curve / curve[0], a ** np.arange(steps), rtol=1e-12)
        assert flow.step_factor("rnn") == pytest.approx(a)


def test_small_weight_elman_gradient_shrinks_at_least_by_the_spectral_norm(ops):
    # ||dE/dh_{t-1}|| = ||W_hh^T diag(1 - h_t^2) dE/dh_t|| <= ||W_hh||_2 ||dE/dh_t|| per row.
    hidden, steps, sigma = 8, 30, 0.8
    p = elman(hidden, np.random.default_rng(5), scale=0.7)
    w = p["weight_hh_l0"]
    p["weight_hh_l0"] = w * (sigma / np.linalg.norm(w, 2))
    curve = gradient_flow(ops, "rnn", length=steps, hidden=hidden, batch_size=16, params=p).norms[
        "rnn"
    ]
    assert np.all(np.diff(curve) < 0)
    assert np.all(curve <= curve[0] * sigma ** np.arange(steps) * (1 + 1e-12))
    assert curve[-1] < 1e-2 * curve[0]


def test_fresh_weights_give_one_curve_per_cell_and_layer(ops):
    flow = gradient_flow(ops, length=6, hidden=5, batch_size=3)
    assert list(flow.norms) == ["rnn", "lstm", "gru"]
    assert all(curve.shape == (6,) and np.all(curve > 0) for curve in flow.norms.values())
    stacked = gradient_flow(ops, "gru", length=6, hidden=5, layers=2, batch_size=3)
    assert list(stacked.norms) == ["gru layer 0", "gru layer 1"]
    assert "fresh weights (seed 0)" in flow.source and "numpy float64" in flow.source


def test_recurrent_scale_makes_an_elman_network_explode(ops):
    calm = gradient_flow(ops, "rnn", length=40, hidden=32, batch_size=8)
    wild = gradient_flow(ops, "rnn", length=40, hidden=32, batch_size=8, recurrent_scale=3.0)
    assert calm.step_factor("rnn") < 0.8 and wild.step_factor("rnn") > 1.0
    assert "W_hh x 3" in wild.source


def test_params_need_a_single_cell(ops):
    with pytest.raises(ConfigError, match="explicit params fit one cell, but 2 cells"):
        gradient_flow(ops, ["rnn", "lstm"], params={})


@pytest.mark.torch
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_norms_match_torch_autograd(ops, cell):
    torch = pytest.importorskip("torch")
    from seqframe.diagnostics.gradflow import _fresh_model, _resolve_cell

    hidden, steps, rows = 6, 9, 4
    model = _fresh_model(_resolve_cell(cell), hidden, 1)
    p = model.init_params(np.random.default_rng(7))
    flow = gradient_flow(ops, cell, length=steps, hidden=hidden, batch_size=rows, seed=2, params=p)
    batch = adding_like_batch(rows, steps, np.random.default_rng([2, 1]))
    kind = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[cell]
    module = kind(2, hidden).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(module, name).copy_(torch.from_numpy(p[f"{name}_l0"]))
    x = torch.from_numpy(batch.inputs)
    h = torch.zeros(rows, hidden, dtype=torch.float64)
    c = torch.zeros_like(h)
    states = []
    for t in range(steps):
        if cell == "lstm":
            h, c = module(x[:, t], (h, c))
        else:
            h = module(x[:, t], h)
        h.retain_grad()
        states.append(h)
    y = h @ torch.from_numpy(p["readout.weight"]).T + torch.from_numpy(p["readout.bias"])
    ((y - torch.from_numpy(batch.targets)) ** 2).sum().backward()
    expected = [s.grad.norm(dim=1).mean().item() for s in reversed(states)]
    np.testing.assert_allclose(flow.norms[cell], expected, rtol=1e-9)


# ---- trained weights from a run directory -----------------------------------------------------


@pytest.fixture(scope="module")
def elman_run(tmp_path_factory):
    from seqframe.runs.api import train_config as run
    from seqframe.runs.build import resolve_config

    out = tmp_path_factory.mktemp("runs") / "rnn"
    overrides = {
        "task": "adding",
        "backend": "numpy",
        "dtype": "float64",
        "cell": "rnn",
        "hidden": 4,
        "batch_size": 6,
        "steps": 3,
        "eval_every": 3,
        "out": str(out),
        "quiet": True,
        "options": {"length": 7, "train_size": 12, "val_size": 5, "test_size": 5},
    }
    run(resolve_config(overrides), log=lambda _line: None)
    return out


def test_trained_run_norms_match_finite_differences(elman_run):
    from seqframe.runs.api import open_run

    flow = gradient_flow(run_dir=elman_run, batch_size=6, seed=4)
    assert list(flow.norms) == ["rnn (trained)"] and flow.length == 7
    assert "trained weights of rnn, task adding, numpy float64" in flow.source
    task, predictor, _ = open_run(elman_run)
    p = {k: predictor.ops.to_numpy(v) for k, v in predictor.params.items()}
    batch = task.train_batches(0, 6, 4)[0]
    expected = central_difference_norms(p, batch)
    np.testing.assert_allclose(flow.norms["rnn (trained)"], expected, rtol=1e-6)


def test_asking_a_run_for_another_cell_is_an_error(elman_run):
    with pytest.raises(ConfigError, match="trained a 'rnn' cell; asked for lstm"):
        gradient_flow(None, "lstm", run_dir=elman_run)
    assert list(gradient_flow(None, "rnn", run_dir=elman_run).norms) == ["rnn (trained)"]


def test_a_run_is_measured_in_the_callers_dtype(elman_run):
    from seqframe.plugins import get_registry

    ops32 = get_registry().load("backend", "numpy")(dtype="float32")
    flow32 = gradient_flow(ops32, run_dir=elman_run, batch_size=6, seed=4)
    flow64 = gradient_flow(None, run_dir=elman_run, batch_size=6, seed=4)
    assert "numpy float32" in flow32.source and "numpy float64" in flow64.source
    np.testing.assert_allclose(
        flow32.norms["rnn (trained)"], flow64.norms["rnn (trained)"], rtol=1e-4
    )


def test_relative_divides_by_lag_zero():
    flow = make_flow()
    flow.norms["rnn"] = flow.norms["rnn"] * 4.0
    rel = flow.relative()
    np.testing.assert_allclose(rel.norms["rnn"], 0.5 ** np.arange(5))
    assert rel.source.endswith("relative to lag 0") and flow.norms["rnn"][0] == 4.0
