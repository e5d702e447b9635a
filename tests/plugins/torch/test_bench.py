"""seqframe.diagnostics.bench on a toy workload: rows, ratios, and that every implementation really
trains."""

import pytest

torch = pytest.importorskip("torch")

from seqframe.diagnostics.bench import (  # noqa: E402
    REFERENCE,
    Workload,
    format_rows,
    make_batches,
    reference_stepper,
    run_bench,
    seqframe_stepper,
)
from seqframe.errors import ConfigError  # noqa: E402

TOY = Workload(vocab=5, hidden=6, batch=3, length=4)


def test_rows_for_every_implementation_with_ratios():
    rows = run_bench(backends=("torch", "torch:generic", "numpy"), cells=("gru",), steps=1,
                     rounds=2, warmup=1, threads=1, work=TOY)
    impls = [r["impl"] for r in rows]
    assert impls == ["seqframe torch fused", "seqframe torch generic", "seqframe numpy generic",
                     REFERENCE]
    ref = next(r for r in rows if r["impl"] == REFERENCE)
    assert ref["vs_reference"] == 1.0
    for r in rows:
        assert r["tokens_per_s"] == pytest.approx(TOY.tokens_per_step * 1000 / r["ms_per_step"])
        assert r["spread"] >= 1.0 and r["cell"] == "gru" and r["cpu_ms_per_step"] > 0
    assert [r["threads"] for r in rows if r["backend"] != "numpy"] == [1, 1, 1]
    assert "vs torch-nn" in format_rows(rows)


@pytest.mark.parametrize("spec", ["torch", "torch:generic", "numpy"])
def test_seqframe_step_trains_like_the_reference(spec):
    """Same model, same data: the first loss is ln(V)-ish for both and both go down."""
    work = Workload(vocab=5, hidden=6, batch=3, length=4, lr=0.05)
    batches = make_batches(work, count=1)
    ours, _ = seqframe_stepper(spec, "lstm", work)
    theirs = reference_stepper("lstm", work)
    a = [ours(batches[0]) for _ in range(30)]
    b = [theirs(batches[0]) for _ in range(30)]
    for losses in (a, b):
        assert losses[0] == pytest.approx(1.609, abs=0.3) and losses[-1] < losses[0] - 0.3


def test_bad_backend_suffix_is_a_config_error():
    with pytest.raises(ConfigError, match="must be 'generic' or 'fused'"):
        run_bench(backends=("torch:turbo",), steps=1, rounds=1, work=TOY)


def test_fused_suffix_needs_a_fused_path():
    with pytest.raises(ConfigError, match="backend 'numpy' has no fused path for cell 'lstm'"):
        seqframe_stepper("numpy:fused", "lstm", TOY)
