"""The encoder-decoder on the NumPy reference: gradients against finite differences, two decoder
implementations against each other, masks, and decoding against exhaustive search."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from seqframe_numpy import NumpyOps

from seqframe.cells import GRUCell, LSTMCell
from seqframe.diagnostics.seq2seq_check import (
    VARIANTS,
    Seq2SeqWorkload,
    check_seq2seq_gradients,
    make_model,
    synthetic_pairs,
)
from seqframe.engine.seq2seq import Seq2SeqConfig, Seq2SeqModel, decoding, network
from seqframe.errors import ConfigError, ShapeError
from seqframe.task import Seq2SeqBatch

OPS = NumpyOps("float64")
WORK = Seq2SeqWorkload()


def params_of(model, seed=0):
    return {k: OPS.asarray(v) for k, v in model.init_params(seed).items()}


@pytest.mark.parametrize("choices", VARIANTS[:3] + VARIANTS[5:],
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_gradients_match_finite_differences(choices):
    report = check_seq2seq_gradients(OPS, "gru", **choices)
    assert report.passed, report.format()
    assert len(report.rows) == len(make_model("gru", WORK, **choices).param_shapes())


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
@pytest.mark.parametrize("choices", VARIANTS,
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_every_variant_and_cell_passes(cell, choices):
    report = check_seq2seq_gradients(OPS, cell, **choices)
    assert report.passed, report.format()


def test_scheduled_sampling_and_dropout_pass():
    report = check_seq2seq_gradients(OPS, LSTMCell(), attention="additive", sampling=0.5,
                                     dropout=0.3, input_feed=True)
    assert report.passed, report.format()


def test_a_wrong_attention_backward_fails(monkeypatch):
    from seqframe.engine.seq2seq import attention

    real = attention.attend_backward

    def forgets_the_softmax_centering(kind, ops, params, memory, cache, d_h, grad):
        d_q, grads = real(kind, ops, params, memory, cache, d_h, grad)
        grad.keys = grad.keys * 1.5  # what a missing `- sum(a * d_a)` term would perturb
        return d_q, grads

    monkeypatch.setattr(attention, "attend_backward", forgets_the_softmax_centering)
    report = check_seq2seq_gradients(OPS, "gru", attention="general")
    assert not report.passed
    assert "attention.key.weight" in report.failing()


def _grads(model, batch, params, **kw):
    result = network.window_loss_and_grad(model, OPS, params, batch, **kw)
    return OPS.item(result.loss_sum), {k: OPS.to_numpy(v) for k, v in result.grads.items()}


@pytest.mark.parametrize("attention", ["general", "additive", "none"])
def test_parallel_and_stepped_decoders_agree(attention):
    # sampling=1e-12 forces the step-by-step decoder while every coin still says "teacher"
    batch = synthetic_pairs(WORK, np.random.default_rng(3))
    parallel = make_model("gru", WORK, attention=attention, bidirectional=True)
    stepped = make_model("gru", WORK, attention=attention, bidirectional=True, sampling=1e-12)
    params = params_of(parallel)
    loss_a, grads_a = _grads(parallel, batch, params)
    loss_b, grads_b = _grads(stepped, batch, params, dropout_rng=np.random.default_rng(0))
    assert loss_b == pytest.approx(loss_a, rel=1e-12)
    for name, g in grads_a.items():
        np.testing.assert_allclose(grads_b[name], g, rtol=1e-10, atol=1e-13, err_msg=name)


def _padded(batch: Seq2SeqBatch, extra_source: int, extra_target: int) -> Seq2SeqBatch:
    def pad(a, n, value):
        return np.concatenate([a, np.full((a.shape[0], n), value, a.dtype)], axis=1)
    return Seq2SeqBatch(pad(batch.source, extra_source, 0), pad(batch.source_mask, extra_source,
                                                                 False),
                        pad(batch.target_in, extra_target, 0),
                        pad(batch.target_out, extra_target, 0),
                        pad(batch.target_mask, extra_target, False))


@pytest.mark.parametrize("choices", [{"attention": "additive", "bidirectional": True},
                                     {"attention": "general", "input_feed": True}])
def test_more_padding_changes_nothing(choices):
    # masks make padding exact: the bidirectional encoder's reverse direction starts at each
    # row's own end, attention gives padding no weight, the loss counts real tokens only
    model = make_model("gru", WORK, **choices)
    batch = synthetic_pairs(WORK, np.random.default_rng(4))
    params = params_of(model)
    loss_a, grads_a = _grads(model, batch, params)
    loss_b, grads_b = _grads(model, _padded(batch, 3, 2), params)
    assert loss_b == pytest.approx(loss_a, rel=1e-12)
    for name, g in grads_a.items():
        np.testing.assert_allclose(grads_b[name], g, rtol=1e-10, atol=1e-13, err_msg=name)


def test_attention_weights_are_a_distribution_over_real_positions():
    model = make_model("gru", WORK, attention="additive", bidirectional=True)
    batch = synthetic_pairs(WORK, np.random.default_rng(5))
    weights = model.predictor(OPS, params_of(model)).attention(batch)  # (B, T, S)
    assert weights.shape == batch.target_in.shape + (batch.source.shape[1],)
    np.testing.assert_allclose(weights.sum(axis=2), 1.0, rtol=1e-12)
    assert (weights[~np.broadcast_to(batch.source_mask[:, None, :], weights.shape)] == 0).all()


def test_teacher_forced_loss_is_the_cross_entropy_of_the_logits():
    model = make_model("gru", WORK, attention="dot", layers=2)
    batch = synthetic_pairs(WORK, np.random.default_rng(6))
    params = params_of(model)
    logits = model.predictor(OPS, params).logits(batch)  # (B, T, V)
    log_p = logits - np.log(np.exp(logits).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(log_p, batch.target_out[:, :, None], axis=2)[:, :, 0]
    expected = -picked[batch.target_mask].sum()
    loss_sum, count = network.window_loss(model, OPS, params, batch)
    assert OPS.item(loss_sum) == pytest.approx(expected, rel=1e-12)
    assert count == batch.target_mask.sum()


# ---- decoding -----------------------------------------------------------------------------------

TINY = Seq2SeqWorkload(batch=3, source_vocab=7, target_vocab=5, hidden=4, embed=3)


def _sequence_log_prob(model, params, source, mask, sequence):
    """log p(sequence | source) by teacher forcing: the oracle for the decoders."""
    T = len(sequence)
    batch = Seq2SeqBatch(source[None], mask[None], np.array([[2, *sequence[:-1]]]),
                         np.array([sequence]), np.ones((1, T), bool))
    logits = model.predictor(OPS, params).logits(batch)[0]  # (T, V)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(log_p[np.arange(T), sequence].sum())


def _exhaustive(model, params, source, mask, budget, penalty):
    """The best sequence over every sequence the search may return: ending in <eos> within the
    budget, or of exactly the budget's length without it."""
    V, eos = model.config.target_vocab, model.config.eos_id
    best = (-math.inf, None)
    for length in range(1, budget + 1):
        for words in itertools.product([v for v in range(V) if v != eos], repeat=length - 1):
            for last in ([eos] if length < budget else range(V)):
                seq = [*words, last]
                score = _sequence_log_prob(model, params, source, mask, seq) / length ** penalty
                best = max(best, (score, seq), key=lambda item: item[0])
    return best[1]


@pytest.mark.parametrize("penalty", [0.0, 1.0])
def test_a_beam_wider_than_every_hypothesis_finds_the_exhaustive_best(penalty):
    model = make_model("gru", TINY, attention="general", input_feed=True)
    params = params_of(model, seed=1)
    batch = synthetic_pairs(TINY, np.random.default_rng(7))
    budget, V = 3, TINY.target_vocab
    got = decoding.beam_search(model, OPS, params, batch.source, batch.source_mask,
                               beam=V ** budget, max_len=budget, length_penalty=penalty)
    for b in range(batch.batch_size):
        assert got[b] == _exhaustive(model, params, batch.source[b], batch.source_mask[b],
                                     budget, penalty)


def test_greedy_takes_the_likeliest_word_and_beam_one_is_greedy():
    model = make_model("gru", TINY, attention="additive", bidirectional=True)
    params = params_of(model, seed=2)
    batch = synthetic_pairs(TINY, np.random.default_rng(8))
    budgets = np.array([2, 5, 4])
    greedy = decoding.greedy(model, OPS, params, batch.source, batch.source_mask, budgets)
    beam_one = decoding.beam_search(model, OPS, params, batch.source, batch.source_mask, 1,
                                    budgets)
    assert beam_one == greedy
    for b, ids in enumerate(greedy):
        assert len(ids) <= budgets[b] and (ids[-1] == 3 or len(ids) == budgets[b])
        assert 3 not in ids[:-1]
        for t in range(len(ids)):  # each word is the argmax given the words before it
            prefix = ids[:t]
            scores = [_sequence_log_prob(model, params, batch.source[b], batch.source_mask[b],
                                         [*prefix, v]) for v in range(TINY.target_vocab)]
            assert ids[t] == int(np.argmax(scores))


def test_a_wider_beam_never_scores_worse_than_greedy():
    model = make_model("gru", TINY, attention="dot")
    params = params_of(model, seed=3)
    batch = synthetic_pairs(TINY, np.random.default_rng(9))
    greedy = decoding.greedy(model, OPS, params, batch.source, batch.source_mask, 6)
    beam = decoding.beam_search(model, OPS, params, batch.source, batch.source_mask, 4, 6,
                                length_penalty=0.0)
    for b in range(batch.batch_size):
        def score(seq, b=b):
            return _sequence_log_prob(model, params, batch.source[b], batch.source_mask[b], seq)
        if greedy[b][-1] == 3 and beam[b][-1] == 3:
            assert score(beam[b]) >= score(greedy[b]) - 1e-12


# ---- configuration and input checks -------------------------------------------------------------


@pytest.mark.parametrize(("changes", "message"), [
    ({"attention": "cosine"}, "unknown attention 'cosine'"),
    ({"attention": "dot", "bidirectional": True}, "dot attention compares decoder states"),
    ({"attention": "none", "input_feed": True}, "input_feed feeds the previous attentional"),
    ({"embed": 0}, "an encoder-decoder embeds its token ids"),
    ({"sampling": 1.5}, "sampling .* in \\[0, 1\\]"),
    ({"tie_weights": True, "embed": 3, "hidden_size": 4}, "--embed \\(3\\) must equal"),
])
def test_bad_configs_say_what_to_change(changes, message):
    base = dict(cell="gru", source_vocab=7, target_vocab=6, hidden_size=4, embed=4)
    with pytest.raises(ConfigError, match=message):
        Seq2SeqConfig(**{**base, **changes})


def test_a_batch_that_does_not_fit_is_a_shape_error():
    model = make_model("gru", WORK)
    batch = synthetic_pairs(WORK, np.random.default_rng(0))
    params = params_of(model)
    bad = Seq2SeqBatch(batch.source + 10, batch.source_mask, batch.target_in, batch.target_out,
                       batch.target_mask)
    with pytest.raises(ShapeError, match="source holds id .* outside the vocabulary"):
        network.window_loss_and_grad(model, OPS, params, bad)
    with pytest.raises(ShapeError, match="trains on Seq2SeqBatch pairs"):
        network.window_loss_and_grad(model, OPS, params, object())
    with pytest.raises(ConfigError, match="truncated BPTT"):
        model.window_loss_and_grad(OPS, params, batch, None, loss_from=1)


def test_parameter_names_follow_torch_and_tied_weights_drop_the_output_matrix():
    config = Seq2SeqConfig("gru", 7, 6, 4, 4, bidirectional=True, attention="additive")
    names = list(Seq2SeqModel(config, GRUCell()).param_shapes())
    assert names[:3] == ["encoder.embedding.weight", "encoder.rnn.weight_ih_l0",
                         "encoder.rnn.weight_hh_l0"]
    assert "encoder.rnn.weight_ih_l0_reverse" in names and "output.weight" in names
    tied = Seq2SeqModel(Seq2SeqConfig("gru", 7, 6, 4, 4, tie_weights=True), GRUCell())
    assert "output.weight" not in tied.param_shapes()
    params = tied.init_params(0)
    assert (params["decoder.embedding.weight"][0] == 0).all()  # the padding row


def test_sampled_softmax_and_tied_output_weights_pass():
    # the loss scores only the sampled classes (a fixed draw outside training), and the tied
    # target embedding gets both its input and its output-layer gradients
    report = check_seq2seq_gradients(OPS, "gru", work=Seq2SeqWorkload(embed=3),
                                     attention="general", loss="sampled_softmax",
                                     tie_weights=True, bidirectional=True)
    assert report.passed, report.format()
    assert "output.weight" not in {row.name for row in report.rows}
