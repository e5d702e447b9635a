"""`seqframe check` through the CLI: the cell conformance suite and the gradient table.

It passes for the built-in cells and the tutorial's MGU, and fails (exit 1) for planted faults:
a wrong backward, a cell that writes into its inputs, a cell that calls NumPy directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seqframe.testing import NEUTRALITY_RULE, SCENARIOS
from tests.docs._tools import DOCS
from tests.test_cli import with_plugins  # noqa: F401  (fixture)
from tests.test_plugins import FakeEntryPoint, fixture_ep


def lines(out: str) -> dict[str, str]:
    """``check name -> STATUS`` from the PASS/FAIL/SKIP lines of ``seqframe check``."""
    found = {}
    for line in out.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("PASS", "FAIL", "SKIP"):
            found[rest.split(": ")[0]] = status
    return found


def suite(backend: str) -> set[str]:
    """The checks `seqframe check --cell` must run on ``backend`` (CellConformance's tests)."""
    parity = [f"{backend} parity {dtype} [{s.name}]" for dtype in ("float32", "float64")
              for s in SCENARIOS if (backend, dtype) != ("numpy", "float64")]
    return {"contract", "registered", f"{backend} backend neutrality",
            f"{backend} step gradients", f"{backend} window gradients (2 layers, float64)",
            *parity}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradient_check_passes_for_builtin_cells_with_two_layers(sf, cell):
    code, out, _ = sf("check", "--backend", "numpy", "--cell", cell, "--layers", "2")
    assert code == 0, out
    assert lines(out) == dict.fromkeys(suite("numpy"), "PASS"), out
    assert f"gradient check: {cell} on numpy float64" in out
    assert "masks, resets, truncation" in out and "weight_hh_l1" in out
    assert "passed: max relative error" in out


@pytest.mark.torch
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_builtin_cells_pass_the_suite_on_torch(sf, cell):
    pytest.importorskip("torch")
    code, out, _ = sf("check", "--backend", "torch", "--cell", cell)
    assert code == 0, out
    assert lines(out) == dict.fromkeys(suite("torch"), "PASS"), out


@pytest.fixture
def with_mgu(with_plugins, monkeypatch):  # noqa: F811
    """The tutorial's MGU plugin, importable from the docs tree and registered as `mgu`."""
    monkeypatch.syspath_prepend(str(DOCS / "plugins" / "examples" / "mgu-cell"))
    with_plugins(FakeEntryPoint("mgu", "seqframe_mgu.plugin", "seqframe-mgu"))


@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=pytest.mark.torch)])
def test_the_tutorial_mgu_cell_passes(sf, with_mgu, backend):
    pytest.importorskip(backend)
    code, out, _ = sf("check", "--backend", backend, "--cell", "mgu")
    assert code == 0, out
    assert lines(out) == dict.fromkeys(suite(backend), "PASS"), out


def test_other_layers_add_the_suites_window_check_beside_the_table(sf):
    code, out, _ = sf("check", "--backend", "numpy", "--cell", "gru", "--layers", "1")
    assert code == 0, out
    checks = lines(out)
    assert checks.pop("numpy window gradients (1 layer, float64)") == "PASS"
    assert checks.pop("numpy window gradients") == "PASS"  # the suite's own: 2 layers
    assert set(checks) == suite("numpy") - {"numpy window gradients (2 layers, float64)"}
    assert "gradient check: gru on numpy float64" in out and "weight_hh_l1" not in out


def test_a_float32_gradient_table_is_still_a_usage_error(sf):
    code, out, err = sf("check", "--backend", "numpy", "--cell", "gru", "--dtype", "float32")
    assert code == 2 and "Run it in float64 (--dtype float64)" in err
    assert "PASS" not in out  # refused before the suite ran


def test_gradient_check_catches_a_wrong_backward_and_exits_1(sf, with_plugins):  # noqa: F811
    with_plugins(fixture_ep("wrong", "wrong_cell"))
    code, out, _ = sf("check", "--backend", "numpy", "--cell", "sloppy", "--layers", "1")
    assert code == 1
    checks = lines(out)
    assert checks["numpy step gradients"] == "FAIL"
    assert checks["numpy window gradients (1 layer, float64)"] == "FAIL"
    assert "FAILED (weight_ih_l0" in out  # the table names the parameters that disagree


@pytest.mark.parametrize(("cell", "argument"), [("inplace", "xp"), ("statewriter", "state[0]")])
def test_a_cell_that_writes_into_its_inputs_fails(sf, with_plugins, cell, argument):  # noqa: F811
    with_plugins(fixture_ep("inplace", "inplace_cell"))
    code, out, _ = sf("check", "--backend", "numpy", "--cell", cell)
    assert code == 1, out
    assert (f"FAIL numpy step gradients: {cell}: step or step_backward wrote into its "
            f"{argument}\n") in out
    assert lines(out)["numpy backend neutrality"] == "PASS"


@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=pytest.mark.torch)])
def test_a_cell_that_calls_numpy_fails_quoting_the_rule(sf, with_plugins, backend):  # noqa: F811
    pytest.importorskip(backend)
    with_plugins(fixture_ep("nptanh", "numpy_cell"))
    code, out, _ = sf("check", "--backend", backend, "--cell", "nptanh")
    assert code == 1, out
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert failed[0].startswith(f"FAIL {backend} backend neutrality: cell 'nptanh' on {backend} ")
    assert "called numpy.tanh (" in failed[0] and "numpy_cell.py:13)" in failed[0]
    assert f"The rule: {NEUTRALITY_RULE}." in failed[0]
    if backend == "numpy":
        assert len(failed) == 1, out  # its maths is right there: only neutrality catches it


def test_parity_and_grad_flow_together_is_a_usage_error(sf):
    code, _, err = sf("check", "--parity", "numpy", "--grad-flow")
    assert code == 2 and "choose one of --parity and --grad-flow, not both" in err


def test_unknown_cell_exits_2(sf):
    code, _, err = sf("check", "--cell", "lstn")
    assert code == 2 and "did you mean 'lstm'" in err


def test_grad_flow_writes_a_plot_and_a_table(sf, tmp_path):
    plot = tmp_path / "flow.png"
    code, out, _ = sf("check", "--grad-flow", "--cell", "rnn,lstm", "--layers", "1",
                      "--length", "30", "--out", str(plot))
    assert code == 0 and plot.stat().st_size > 0
    assert "rnn" in out and "lstm" in out


def test_grad_flow_without_out_writes_into_a_new_folder(sf, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = sf("check", "--grad-flow", "--cell", "rnn", "--layers", "1", "--length", "12")
    assert code == 0
    folders = list(tmp_path.iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("gradflow-rnn-")
    plot, numbers = folders[0] / "gradient-flow.png", folders[0] / "gradient-flow.json"
    wrote = [Path(line.split(" ", 1)[1]).resolve() for line in out.splitlines()
             if line.startswith("wrote ")]
    assert wrote == [plot.resolve(), numbers.resolve()]
    assert plot.read_bytes()[:4] == b"\x89PNG"
    norms = json.loads(numbers.read_text())["norms"]["rnn"]
    assert len(norms) == 12
    lag0 = next(line for line in out.splitlines() if line.split()[:1] == ["0"])
    assert float(lag0.split()[1]) == pytest.approx(norms[0], rel=1e-3)  # the table's numbers
    code, _, _ = sf("check", "--grad-flow", "--cell", "rnn", "--layers", "1", "--length", "12")
    assert code == 0 and len(list(tmp_path.iterdir())) == 2  # a second check: its own folder


def test_check_seq2seq_parity_covers_every_variant(sf):
    code, out, err = sf("check", "--seq2seq", "--backend", "torch", "--cell", "gru",
                        "--parity", "numpy", "--steps", "3")
    if "torch" in err and code == 3:
        pytest.skip("torch is not installed")
    assert code == 0, err
    assert out.count("PASS") == 6 and "6 of 6 variants passed" in out
    for kind in ("additive", "general", "dot", "none"):
        assert f"attention {kind}" in out


def test_check_seq2seq_refuses_flags_it_does_not_use(sf):
    code, _, err = sf("check", "--seq2seq", "--grad-flow")
    assert code == 2 and "drop --grad-flow and --layers" in err


@pytest.mark.slow
def test_check_seq2seq_gradient_tables(sf):
    code, out, err = sf("check", "--seq2seq", "--backend", "numpy", "--cell", "lstm")
    assert code == 0, err
    assert out.count("passed: max relative error") == 6 and "6 of 6 variants passed" in out
    assert "attention.v.weight" in out and "bridge.0.weight" in out


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_check_layer_norm_runs_the_suite_on_the_layer_normalised_cell(sf, cell):
    code, out, err = sf("check", "--cell", cell, "--layer-norm", "--layers", "1")
    assert code == 0, err
    assert f"ln-{cell}" in out and "0 failed" in out
    assert "ln_weight_ih_l0" in out  # the LN parameters are in the gradient table


@pytest.mark.parametrize("args, message", [
    (("--cell", "rnn", "--layer-norm"),
     "--layer-norm has no layer-normalised variant of cell 'rnn'; it exists for gru, lstm."),
    (("--cell", "lstm", "--layer-norm", "--parity", "numpy"), "does not combine with --parity"),
    (("--cell", "lstm", "--layer-norm", "--embed", "4"), "checks the layer-normalised cell alone"),
])
def test_check_layer_norm_refusals(sf, args, message):
    code, _, err = sf("check", *args)
    assert code == 2 and message in err, err


def test_bench_has_no_layer_norm_flag(sf):
    code, _, err = sf("bench", "--layer-norm")
    assert code == 2 and "No such option '--layer-norm'" in err
