"""One window, three ways: numpy reference, torch generic BPTT, torch fused kernels (float64).

(a) torch's generic path runs core's hand-written BPTT on tensors: it must match numpy to
~1e-12. (b) the fused path replaces the recurrence with torch's kernels and autograd: it must
match the generic path to 1e-7 (observed: ~1e-15). Cases cover truncation (``loss_from``,
``carry_at``), resets, prefix masks with an empty row, stacking, both directions, dropout and
every readout and loss.
"""

import pytest

torch = pytest.importorskip("torch")

from seqframe_numpy.ops import NumpyOps  # noqa: E402
from seqframe_torch.ops import TorchOps  # noqa: E402

from tests.plugins.torch.window_cases import differences, make_case, run_window  # noqa: E402

GENERIC_TOL = 1e-12
FUSED_TOL = 1e-7

SCENARIOS = {
    "every_step": ({}, {}),
    "truncated": ({}, {"loss_from": 2, "carry_at": 4}),
    "no_masks": ({"masks": "none", "layers": 1}, {"carry_at": 3}),
    "bidirectional": ({"bidirectional": True}, {}),
    "dropout_gaussian": (
        {"dropout": 0.25, "loss": "gaussian_nll"},
        {"loss_from": 1, "carry_at": 5},
    ),
    "last": ({"readout": "last", "dropout": 0.3}, {}),
    "last_bidirectional": ({"readout": "last", "bidirectional": True}, {}),
    "mean_mse": ({"readout": "mean", "loss": "mse", "bidirectional": True}, {}),
    "max_dropout": ({"readout": "max", "dropout": 0.3, "bidirectional": True}, {}),
}


@pytest.fixture(scope="module")
def backends():
    return (NumpyOps(dtype="float64"), TorchOps(dtype="float64", device="cpu", fused=False),
            TorchOps(dtype="float64", device="cpu", fused=True))


def assert_close(diffs: dict, tol: float):
    worst = {k: v for k, v in diffs.items() if not v <= tol}
    assert not worst, f"relative differences above {tol:g}: {worst}"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_generic_torch_matches_numpy(backends, cell, scenario):
    numpy_ops, torch_ops, _ = backends
    case_kw, run_kw = SCENARIOS[scenario]
    model, params, batch = make_case(cell, **case_kw)
    ref = run_window(numpy_ops, model, params, batch, fused=False, **run_kw)
    got = run_window(torch_ops, model, params, batch, fused=False, **run_kw)
    assert_close(differences(torch_ops, got, numpy_ops, ref), GENERIC_TOL)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fused_matches_generic(backends, cell, scenario):
    _, generic_ops, fused_ops = backends
    case_kw, run_kw = SCENARIOS[scenario]
    model, params, batch = make_case(cell, **case_kw)
    ref = run_window(generic_ops, model, params, batch, fused=False, **run_kw)
    got = run_window(fused_ops, model, params, batch, fused=True, **run_kw)
    assert got.path.startswith(f"fused {cell} kernels")  # not a silent fallback
    assert_close(differences(fused_ops, got, generic_ops, ref), FUSED_TOL)


def test_fused_path_changes_nothing_it_was_given(backends):
    """Parameters and the carried state are inputs only: no in-place update, no grad attached."""
    _, _, ops = backends
    model, params, batch = make_case("lstm")
    device_params = {k: ops.asarray(v) for k, v in params.items()}
    before = {k: v.clone() for k, v in device_params.items()}
    from seqframe.engine import bptt

    result = bptt.window_loss_and_grad(model, ops, device_params, bptt.to_window(ops, batch),
                                       None, fused=ops.fused_recurrence(model.cell))
    for k, v in device_params.items():
        assert torch.equal(v, before[k]) and not v.requires_grad and v.grad is None
    assert all(not g.requires_grad for g in result.grads.values())
    assert not result.loss_sum.requires_grad and not result.outputs.requires_grad
    assert all(not s.requires_grad for layer in result.state for c in layer for s in c)
