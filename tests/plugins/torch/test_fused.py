"""When the fused recurrence runs, when core steps around it, and how a run can tell."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqframe_numpy.ops import NumpyOps  # noqa: E402
from seqframe_torch.fused import FusedRecurrence  # noqa: E402
from seqframe_torch.ops import TorchOps  # noqa: E402

from seqframe.cells import Cell, LSTMCell  # noqa: E402
from seqframe.engine import bptt  # noqa: E402
from seqframe.engine.model import Model, ModelConfig  # noqa: E402
from tests.plugins.torch.window_cases import differences, make_case, run_window  # noqa: E402


class ThirdPartyLSTM(Cell):
    """A plugin cell that calls itself ``lstm`` but computes something else (h = tanh(xp + hp))."""

    name = "lstm"
    gates = 4
    state_names = ("h", "c")

    def step(self, ops, xp, hp, state):
        h = ops.tanh(xp + hp)[:, : state[0].shape[1]]
        return (h, state[1]), h

    def step_backward(self, ops, d_state, cache):
        raise NotImplementedError


class TweakedLSTM(LSTMCell):
    """A subclass of the built-in LSTM: it may change the maths, so it gets no kernel."""


def model_with(cell) -> Model:
    return Model(ModelConfig(cell="lstm", input_size=3, hidden_size=4, output_size=2), cell)


@pytest.fixture
def ops():
    return TorchOps(dtype="float64", device="cpu", fused=True)


def test_builtin_cells_get_a_kernel_and_say_which(ops):
    fused = ops.fused_recurrence(LSTMCell())
    assert isinstance(fused, FusedRecurrence)
    assert fused.path.startswith("fused lstm kernels (")  # (oneDNN) on most CPUs
    assert f"float64 on cpu (torch {torch.__version__}" in ops.describe()
    assert fused.path in ops.describe()  # what the trainer's run log shows


@pytest.mark.parametrize("cell", [ThirdPartyLSTM(), TweakedLSTM()])
def test_other_cells_use_the_generic_path_even_when_named_lstm(ops, cell):
    assert cell.name == "lstm"
    assert ops.fused_recurrence(cell) is None
    assert "generic BPTT (no kernel for this cell)" in ops.describe()


def test_fused_can_be_switched_off(monkeypatch):
    cell = LSTMCell()
    assert TorchOps(dtype="float64", device="cpu", fused=False).fused_recurrence(cell) is None
    monkeypatch.setenv("SEQFRAME_TORCH_FUSED", "0")
    assert TorchOps(dtype="float64", device="cpu").fused_recurrence(cell) is None
    assert "fused kernels off" in TorchOps(dtype="float64", device="cpu").describe()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_gap_in_a_mask_falls_back_to_the_exact_generic_path(ops, cell):
    model, params, batch = make_case(cell, masks="gap", bidirectional=True)
    got = run_window(ops, model, params, batch, fused=True, carry_at=4)
    numpy_ops = NumpyOps(dtype="float64")
    ref = run_window(numpy_ops, model, params, batch, fused=False, carry_at=4)
    assert got.path == "generic BPTT"  # core stepped around the kernels for this window
    assert max(differences(ops, got, numpy_ops, ref).values()) <= 1e-12


def test_the_result_says_the_fused_path_ran(ops):
    model, params, batch = make_case("gru")  # prefix masks: the kernels can run it
    got = run_window(ops, model, params, batch, fused=True)
    assert got.path == ops.fused_recurrence(model.cell).path
    assert got.path.startswith("fused gru kernels (")


def test_every_row_empty_or_reset_edge_cases(ops):
    """All rows empty: nothing moves and nothing is learnt; all rows reset: zeros in."""
    generic = TorchOps(dtype="float64", device="cpu", fused=False)
    model, params, batch = make_case("lstm", masks="none")
    batch.mask[:] = False
    batch.reset[:] = True
    for loss_from in (0, 3):
        got = run_window(ops, model, params, batch, fused=True, loss_from=loss_from)
        ref = run_window(generic, model, params, batch, fused=False, loss_from=loss_from)
        assert float(got.count) == 0.0 and ops.item(got.loss_sum) == 0.0
        assert max(differences(ops, got, generic, ref).values()) <= 1e-12
        assert all(float(torch.abs(s).max()) == 0.0 for lay in got.state for c in lay for s in c)


def test_errors_are_the_reference_errors(ops):
    """Bad shapes raise the same seqframe errors with the fused path as with the generic one."""
    model, params, batch = make_case("rnn", masks="none")
    device_params = {k: ops.asarray(v) for k, v in params.items()}
    bad = bptt.to_window(ops, type(batch)(batch.inputs[:, :, :2], batch.targets, batch.mask,
                                          batch.reset))
    with pytest.raises(Exception) as fused_err:
        bptt.window_loss_and_grad(model, ops, device_params, bad, None,
                                  fused=ops.fused_recurrence(model.cell))
    with pytest.raises(Exception) as generic_err:
        bptt.window_loss_and_grad(model, ops, device_params, bad, None)
    assert type(fused_err.value) is type(generic_err.value)
    assert str(fused_err.value) == str(generic_err.value)


def test_carry_at_out_of_range_is_the_reference_error(ops):
    model, params, batch = make_case("gru", masks="none")
    with pytest.raises(Exception, match="carry_at=99 is outside the window") as err:
        run_window(ops, model, params, batch, fused=True, carry_at=99)
    assert type(err.value).__name__ == "ConfigError"


def test_float32_fused_agrees_with_float64_reference():
    ops32 = TorchOps(dtype="float32", device="cpu", fused=True)
    ref_ops = NumpyOps(dtype="float64")
    model, params, batch = make_case("lstm", bidirectional=True, dropout=0.2)
    got = run_window(ops32, model, params, batch, fused=True, carry_at=3)
    ref = run_window(ref_ops, model, params, batch, fused=False, carry_at=3)
    assert got.loss_sum.dtype == torch.float32
    assert all(g.dtype == torch.float32 for g in got.grads.values())
    assert max(differences(ops32, got, ref_ops, ref).values()) <= 1e-5
    np.testing.assert_allclose(ops32.item(got.loss_sum), ref_ops.item(ref.loss_sum), rtol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("amp", ["off", "bf16"])
def test_cuda_fused_matches_cpu(amp):
    cuda = TorchOps(dtype="float32", device="cuda", fused=True, amp=amp)
    cpu = TorchOps(dtype="float64", device="cpu", fused=False)
    model, params, batch = make_case("lstm", bidirectional=True, hidden=16)
    got = run_window(cuda, model, params, batch, fused=True, carry_at=3)
    ref = run_window(cpu, model, params, batch, fused=False, carry_at=3)
    tol = 1e-4 if amp == "off" else 5e-2
    assert max(differences(cuda, got, cpu, ref).values()) <= tol


@pytest.mark.parametrize("readout", ["every_step", "last", "mean", "max"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fused_eval_forward_matches_the_reference_forward(ops, cell, readout):
    from tests.plugins.torch.window_cases import flat_state, random_state

    model, params, batch = make_case(cell, readout=readout, bidirectional=True,
                                     loss="mse" if readout == "mean" else "cross_entropy")
    device_params = {k: ops.asarray(v) for k, v in params.items()}
    args = (device_params, ops.asarray(batch.inputs), ops.asarray(batch.mask),
            random_state(ops, model, batch.batch_size), ops.asarray(batch.reset))
    got, got_state = bptt.forward(model, ops, *args, fused=ops.fused_recurrence(model.cell))
    want, want_state = bptt.forward(model, ops, *args)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    for a, b in zip(flat_state(ops, got_state), flat_state(ops, want_state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_padded_windows_run_generic_on_the_cpu_unless_fused_is_forced(monkeypatch):
    """torch's packed kernels are slow on the CPU (see FusedRecurrence): by default a window
    with padding runs core's generic BPTT there, one without keeps the kernels; fused=True (or a
    GPU) runs the kernels on both."""
    monkeypatch.delenv("SEQFRAME_TORCH_FUSED", raising=False)
    default, forced = TorchOps(dtype="float64", device="cpu"), \
        TorchOps(dtype="float64", device="cpu", fused=True)
    padded = make_case("gru", masks="prefix")
    full = make_case("gru", masks="none")
    assert run_window(default, *padded, fused=True).path == "generic BPTT"
    assert run_window(default, *full, fused=True).path.startswith("fused gru kernels (")
    assert run_window(forced, *padded, fused=True).path.startswith("fused gru kernels (")
    assert (default.fused_recurrence(LSTMCell()).runs_ragged,
            forced.fused_recurrence(LSTMCell()).runs_ragged) == (False, True)


def test_core_asks_the_fused_recurrence_whether_it_runs_padded_windows(ops):
    model, params, batch = make_case("lstm", masks="prefix")
    window = bptt.to_window(ops, batch)

    class Picky:
        path, runs_ragged = "picky", False

    class Willing:
        path = "willing"  # says nothing: assumed to run them, as before the attribute existed

    assert bptt.choose_recurrence(model, ops, window, Picky()).path == "generic BPTT"
    assert bptt.choose_recurrence(model, ops, window, Willing()).path == "willing"
