"""The encoder-decoder on torch: training parity with the NumPy reference (generic and fused),
the recurrences' start-state gradient, and the same translations on both backends."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqframe_numpy.ops import NumpyOps  # noqa: E402
from seqframe_torch.ops import TorchOps  # noqa: E402

from seqframe.diagnostics.parity import TOLERANCES  # noqa: E402
from seqframe.diagnostics.seq2seq_check import (  # noqa: E402
    VARIANTS,
    Seq2SeqWorkload,
    make_model,
    seq2seq_parity,
    synthetic_pairs,
)
from seqframe.engine.seq2seq import decoding  # noqa: E402

IDS = [",".join(f"{k}={v}" for k, v in c.items()) for c in VARIANTS]


@pytest.mark.parametrize("fused", [False, True], ids=["generic", "fused"])
@pytest.mark.parametrize("choices", VARIANTS, ids=IDS)
def test_training_matches_the_numpy_reference(choices, fused):
    report = seq2seq_parity("gru", fused=fused, steps=6, **choices)
    kind = "fused" if fused else "generic"
    assert report.tolerance == TOLERANCES[("float64", kind)]
    assert report.passed, report.format()
    assert report.param_rel_diff < report.tolerance
    assert report.tested.path.startswith("encoder " + ("fused gru" if fused else "generic"))


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_other_cells_match_with_fused_kernels(cell):
    report = seq2seq_parity(cell, fused=True, steps=4, attention="additive", bidirectional=True,
                            layers=2, dropout=0.2)
    assert report.passed, report.format()


def test_float32_stays_within_its_tolerance():
    report = seq2seq_parity("gru", dtype="float32", steps=6, attention="general",
                            bidirectional=True)
    assert report.passed, report.format()


def test_the_fused_recurrence_returns_the_start_state_gradient():
    # what a decoder started from the encoder needs: dLoss/d(start) from torch's kernels equals
    # the generic backward's, for a padded batch in both directions
    from seqframe.cells import GRUCell
    from seqframe.engine.recurrence import GenericRecurrence
    from seqframe.engine.window import host_window

    ops = TorchOps(dtype="float64", device="cpu")
    rng = np.random.default_rng(0)
    T, B, D, H = 5, 3, 2, 4
    weights = {k: ops.asarray(v) for k, v in GRUCell().init_params(rng, D, H).items()}
    mask = np.arange(T)[None, :] < np.array([[5], [3], [1]])
    window = host_window(ops, ops.asarray(np.zeros((B, T))), None, mask, mask, np.zeros(B, bool))
    x, start = ops.asarray(rng.normal(size=(T, B, D))), (ops.asarray(rng.normal(size=(B, H))),)
    d_out = ops.asarray(rng.normal(size=(T, B, H)) * mask.T[:, :, None])
    for reverse in (False, True):
        got = []
        for recurrence in (GenericRecurrence(ops, GRUCell()), ops.fused_recurrence(GRUCell())):
            run = recurrence.forward(weights, x, start, window, reverse=reverse, carry_at=None,
                                     keep=True, need_dstart=True)
            recurrence.backward(run, d_out, None)
            got.append(ops.to_numpy(run.d_start[0]))
        np.testing.assert_allclose(got[1], got[0], rtol=1e-7, atol=1e-10)
        assert np.abs(got[0]).max() > 1e-3


@pytest.mark.parametrize("choices", [{"attention": "additive", "bidirectional": True},
                                     {"attention": "general", "input_feed": True, "layers": 2}])
def test_both_backends_translate_alike(choices):
    work = Seq2SeqWorkload(batch=6, source_vocab=11, target_vocab=9, hidden=8, embed=5,
                           source_len=7, target_len=6)
    model = make_model("gru", work, **choices)
    host = model.init_params(3)
    batch = synthetic_pairs(work, np.random.default_rng(1))
    budgets = np.array([3, 8, 12, 5, 9, 10])
    out, logits = {}, {}
    for ops in (NumpyOps("float64"), TorchOps(dtype="float64", device="cpu")):
        predictor = model.predictor(ops, {k: ops.asarray(v) for k, v in host.items()})
        logits[ops.name] = predictor.logits(batch)
        out[ops.name] = [predictor.translate(batch.source, batch.source_mask, beam=beam,
                                             max_len=budgets, length_penalty=0.7)
                         for beam in (1, 5)]
    np.testing.assert_allclose(logits["torch"], logits["numpy"], rtol=1e-10, atol=1e-12)
    assert out["torch"] == out["numpy"]
    greedy, beam = out["numpy"]
    assert greedy != beam  # the search differs from greedy somewhere, so both were exercised


def test_beam_search_batches_rows_independently():
    # a sentence's translation does not depend on the other sentences of its batch
    work = Seq2SeqWorkload(batch=5, source_vocab=11, target_vocab=9, hidden=8, embed=5,
                           source_len=6, target_len=5)
    model = make_model("gru", work, attention="general", bidirectional=True)
    ops = TorchOps(dtype="float64", device="cpu")
    predictor = model.predictor(ops, {k: ops.asarray(v) for k, v in model.init_params(4).items()})
    batch = synthetic_pairs(work, np.random.default_rng(2))
    together = decoding.beam_search(model, ops, predictor.params, batch.source,
                                    batch.source_mask, 4, 9)
    for b in range(work.batch):
        width = int(batch.source_mask[b].sum())
        alone = decoding.beam_search(model, ops, predictor.params, batch.source[b:b + 1, :width],
                                     batch.source_mask[b:b + 1, :width], 4, 9)
        assert alone[0] == together[b]


# ---- the hand-written torch.nn model: an independent oracle, and the benchmark's bar ------------


def test_numpy_backward_equals_torch_autograd_on_a_torch_nn_model():
    from seqframe_torch.seq2seq_reference import seq2seq_reference_stepper

    from seqframe.diagnostics.seq2seq_bench import Seq2SeqBenchWorkload, bench_model, make_pairs
    from seqframe.engine.seq2seq import network

    work = Seq2SeqBenchWorkload(source_vocab=30, target_vocab=20, hidden=6, embed=5, batch=4,
                                shortest=2, longest=7)
    model = bench_model(work)
    host = model.init_params(0)
    batch = make_pairs(work, 1)[0]
    reference = seq2seq_reference_stepper(work, "float64", host).model
    loss = reference.loss(batch, "cpu")
    loss.backward()
    ops = NumpyOps("float64")
    ours = network.window_loss_and_grad(model, ops, {k: ops.asarray(v) for k, v in host.items()},
                                        batch)
    assert ours.loss_sum / ours.count == pytest.approx(loss.item(), rel=1e-13)
    names = dict(reference.named_parameters())
    assert set(names) == set(ours.grads)
    for name, param in names.items():
        np.testing.assert_allclose(ours.grads[name] / ours.count, param.grad.numpy(), rtol=1e-9,
                                   atol=1e-15, err_msg=name)


def test_bench_rows_for_both_implementations_and_both_widths():
    from seqframe.diagnostics.seq2seq_bench import (
        Seq2SeqBenchWorkload,
        format_seq2seq_rows,
        run_seq2seq_bench,
    )

    work = Seq2SeqBenchWorkload(source_vocab=40, target_vocab=30, hidden=8, embed=6, batch=6,
                                shortest=3, longest=6)
    rows = run_seq2seq_bench(steps=1, rounds=2, warmup=1, threads=1, work=work,
                             decode_sentences=5)
    assert [r["impl"] for r in rows] == ["seqframe torch", "torch-nn", "beam 1", "beam 5"]
    train = rows[:2]
    assert train[1]["vs_reference"] == 1.0 and all(r["threads"] == 1 for r in rows)
    for r in train:
        assert r["tokens_per_s"] > 0 and r["cpu_ms_per_step"] > 0 and r["spread"] >= 1.0
    for r in rows[2:]:
        assert r["sentences_per_s"] == pytest.approx(1000 / r["ms_per_sentence"])
    text = format_seq2seq_rows(rows)
    assert "vs torch-nn" in text and "sentences/s" in text and "beam 5" in text


def test_both_implementations_train_the_same_model_the_same_way():
    from seqframe.diagnostics.seq2seq_bench import (
        Seq2SeqBenchWorkload,
        make_pairs,
        reference_stepper,
        seqframe_stepper,
    )

    work = Seq2SeqBenchWorkload(source_vocab=40, target_vocab=30, hidden=8, embed=6, batch=6,
                                shortest=3, longest=6, lr=0.01)
    batches = make_pairs(work, 2)
    ours, theirs = seqframe_stepper(work, dtype="float64"), reference_stepper(work, "float64")
    a = [ours(batches[i % 2]) for i in range(20)]
    b = [theirs(batches[i % 2]) for i in range(20)]
    np.testing.assert_allclose(a, b, rtol=1e-9)  # same weights, same data, same Adam
    assert a[-1] < a[0] - 0.5
