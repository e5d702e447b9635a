"""Token inputs and sampled softmax against torch's own autograd, float64.

* Embedding: ``torch.nn.functional.embedding(ids, W, padding_idx=P)`` feeding ``nn.LSTM``/
  ``nn.GRU``/``nn.RNN`` and a readout (``F.linear`` on the same ``W`` when tied), trained by
  autograd, is the oracle for seqframe's lookup and scatter-add backward on the numpy backend and
  on torch's generic and fused paths: loss, every gradient (the embedding table's included) and
  the outputs within 1e-10. The padding id sits at real steps, with a non-zero row, so its
  semantics show: the row is read as it is, and learns nothing from lookups.
* Sampled softmax: the loss written directly with torch autograd from the same draw, with the
  expected counts computed from TensorFlow's documented log-uniform formula (not from seqframe's
  ``proposal``): one readout, and a whole window through ``nn.LSTM``.
* Planted bugs (the padding row learning from lookups; a wrong proposal in the forward) make the
  comparison fail.
"""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from seqframe_numpy.ops import NumpyOps  # noqa: E402
from seqframe_torch.ops import TorchOps  # noqa: E402

from seqframe.cells import GRUCell, LSTMCell, RNNCell  # noqa: E402
from seqframe.engine import bptt  # noqa: E402
from seqframe.engine.model import Model, ModelConfig  # noqa: E402
from seqframe.losses import SampledSoftmax  # noqa: E402
from seqframe.rowsparse import dense  # noqa: E402
from seqframe.task import Batch  # noqa: E402
from tests.plugins.torch.test_torch_nn_oracle import MODULES, nn_state  # noqa: E402
from tests.plugins.torch.window_cases import random_state  # noqa: E402

CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
V, PAD, B, T = 11, 3, 4, 6
TOL = dict(rtol=1e-10, atol=1e-12)


def make_token_case(cell, *, tie, bidirectional, loss=None, embed=None, hidden=4, seed=0):
    """A 2-layer token model (V = 11, padding id 3 at real steps, its row non-zero), its host
    parameters, and a batch with every step real and no resets (as torch.nn runs it)."""
    directions = 2 if bidirectional else 1
    embed = embed or (hidden * directions if tie else 5)
    config = ModelConfig(cell, V, hidden, V, layers=2, tokens=True, embed=embed, padding_id=PAD,
                         tie_weights=tie, bidirectional=bidirectional,
                         loss=loss.name if loss else "cross_entropy")
    model = Model(config, CELLS[cell](), loss)
    params = model.init_params(seed)
    rng = np.random.default_rng(seed + 10)
    params["embedding.weight"][PAD] = rng.normal(size=embed)  # as after some tied training
    ids = rng.integers(0, V, size=(B, T))
    ids[0, 1] = ids[2, 4] = ids[3, 0] = PAD  # padding at real steps
    ids[1, :3] = 7  # an id read three times in a row
    targets = rng.integers(0, V, size=(B, T))
    batch = Batch(ids, targets, np.ones((B, T), bool), np.zeros(B, bool))
    return model, params, batch


def seqframe_window(ops, model, params, batch, fused, loss_seed=0):
    state = random_state(ops, model, B)
    device = {k: ops.asarray(v) for k, v in params.items()}
    recurrence = ops.fused_recurrence(model.cell) if fused else None
    result = bptt.window_loss_and_grad(model, ops, device, bptt.to_window(ops, batch), state,
                                       fused=recurrence,
                                       loss_rng=np.random.default_rng(loss_seed))
    assert result.path.startswith("fused") == fused
    return result, state


def torch_rnn(model, params):
    cfg = model.config
    rnn = MODULES[cfg.cell](cfg.embed, cfg.hidden_size, num_layers=cfg.layers,
                            bidirectional=cfg.bidirectional, batch_first=True).double()
    rnn.load_state_dict({k: torch.tensor(v) for k, v in params.items()
                         if not k.startswith(("readout", "embedding"))})
    return rnn


def oracle_top(model, params, batch, state, ops):
    """The embedding and the recurrent stack in torch.nn; returns (leaves, top (B, T, F))."""
    table = torch.tensor(params["embedding.weight"], requires_grad=True)
    rnn = torch_rnn(model, params)
    x = F.embedding(torch.tensor(batch.inputs), table, padding_idx=model.config.padding_id)
    hx = nn_state(model, tuple(tuple(tuple(torch.as_tensor(ops.to_numpy(s)) for s in cell)
                                     for cell in layer) for layer in state))
    top, _ = rnn(x, hx)
    leaves = {"embedding.weight": table, **dict(rnn.named_parameters())}
    if not model.config.tie_weights:
        leaves["readout.weight"] = torch.tensor(params["readout.weight"], requires_grad=True)
    leaves["readout.bias"] = torch.tensor(params["readout.bias"], requires_grad=True)
    return leaves, top


def oracle_full_softmax(model, params, batch, state, ops):
    leaves, top = oracle_top(model, params, batch, state, ops)
    weight = leaves["embedding.weight" if model.config.tie_weights else "readout.weight"]
    logits = F.linear(top, weight, leaves["readout.bias"])  # (B, T, V)
    loss = F.cross_entropy(logits.reshape(-1, V), torch.tensor(batch.targets).reshape(-1),
                           reduction="sum")
    loss.backward()
    return loss.detach(), {k: p.grad for k, p in leaves.items()}, logits.detach()


def assert_matches(ops, result, loss, grads, outputs=None):
    got = {k: torch.as_tensor(ops.to_numpy(g)) for k, g in result.grads.items()}
    assert set(got) == set(grads)
    torch.testing.assert_close(torch.as_tensor(ops.item(result.loss_sum), dtype=torch.float64),
                               loss, **TOL)
    for name, want in grads.items():
        torch.testing.assert_close(got[name], want, **TOL, msg=name)
    if outputs is not None:
        torch.testing.assert_close(torch.as_tensor(ops.to_numpy(result.outputs)), outputs, **TOL)


BACKENDS = {"numpy": lambda: NumpyOps("float64"),
            "torch-generic": lambda: TorchOps(dtype="float64", device="cpu", fused=False),
            "torch-fused": lambda: TorchOps(dtype="float64", device="cpu", fused=True)}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize(("tie", "bidirectional"), [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_embedding_matches_functional_embedding_with_padding_idx(backend, cell, tie,
                                                                 bidirectional):
    ops = BACKENDS[backend]()
    model, params, batch = make_token_case(cell, tie=tie, bidirectional=bidirectional)
    result, state = seqframe_window(ops, model, params, batch, fused=backend == "torch-fused")
    loss, grads, logits = oracle_full_softmax(model, params, batch, state, ops)
    assert_matches(ops, result, loss, grads, logits)
    if not tie:  # the padding row was read at real steps but learned nothing
        assert not grads["embedding.weight"][PAD].any()


def test_the_oracle_catches_a_padding_row_that_learns(monkeypatch):
    def forgets_padding(model, ops, params, window, d_inputs):
        steps, batch, width = d_inputs.shape
        ids = ops.reshape(ops.permute_dims(window.inputs, (1, 0)), (steps * batch,))
        return ops.index_add(ops.zeros_like(params["embedding.weight"]), ids,
                             ops.reshape(d_inputs, (steps * batch, width)))

    ops = BACKENDS["torch-generic"]()
    model, params, batch = make_token_case("gru", tie=False, bidirectional=False)
    monkeypatch.setattr(bptt, "embedding_grad", forgets_padding)
    result, state = seqframe_window(ops, model, params, batch, fused=False)
    loss, grads, logits = oracle_full_softmax(model, params, batch, state, ops)
    with pytest.raises(AssertionError, match="embedding.weight"):
        assert_matches(ops, result, loss, grads, logits)


# ---- sampled softmax ---------------------------------------------------------------------------


def tf_log_expected_count(classes, samples, sampler="log_uniform", counts=None, alpha=0.75):
    """log of TensorFlow's expected count of each class among ``samples`` draws with
    replacement: ``samples * P(class)``, P from TF's documented log-uniform formula (or the
    unigram ``count ** alpha`` proposal)."""
    c = np.arange(classes, dtype=np.float64)
    if sampler == "log_uniform":
        p = (np.log(c + 2) - np.log(c + 1)) / math.log(classes + 1)
    else:
        w = np.asarray(counts, np.float64) ** alpha
        p = w / w.sum()
    return torch.tensor(np.log(samples * p))


def torch_sampled_softmax(features, weight, bias, targets, weights, drawn, log_q):
    """The sampled softmax in plain torch autograd (TF's sampled_softmax_loss semantics)."""
    targets, drawn = torch.as_tensor(targets), torch.as_tensor(drawn)
    z_true = (features * weight[targets]).sum(1) + bias[targets] - log_q[targets]  # (N,)
    z_drawn = features @ weight[drawn].T + bias[drawn] - log_q[drawn]  # (N, S)
    z_drawn = z_drawn.masked_fill(targets[:, None] == drawn[None, :], -math.inf)  # hits
    nll = torch.logsumexp(torch.cat([z_true[:, None], z_drawn], 1), 1) - z_true
    return (nll * torch.as_tensor(weights)).sum()


@pytest.mark.parametrize("sampler", ["log_uniform", "popularity"])
@pytest.mark.parametrize("backend", ["numpy", "torch-generic"])
def test_sampled_softmax_matches_torch_autograd_with_the_same_draw(backend, sampler):
    ops = BACKENDS[backend]()
    rng = np.random.default_rng(4)
    n, f, o, s = 9, 5, 40, 12
    counts = rng.integers(1, 50, size=o).astype(float)
    features, weight, bias = rng.normal(size=(n, f)), rng.normal(size=(o, f)), rng.normal(size=o)
    loss = SampledSoftmax(samples=s, sampler=sampler)
    if sampler == "popularity":
        loss.set_frequencies(counts)
    drawn = loss.draw(np.random.default_rng(7), o)
    targets = np.concatenate([drawn[:3], rng.integers(0, o, size=n - 3)])  # 3 sure hits
    weights = np.array([1.0] * 7 + [0.0, 1.0])
    res = loss.loss_and_grad_features(ops, *(ops.asarray(a) for a in (features, weight, bias)),
                                      ops.asarray(targets, "int64"), ops.asarray(weights),
                                      rng=np.random.default_rng(7))
    leaves = [torch.tensor(a, requires_grad=True) for a in (features, weight, bias)]
    want = torch_sampled_softmax(*leaves, targets, weights, drawn,
                                 tf_log_expected_count(o, s, sampler, counts))
    want.backward()
    got = [res.d_outputs, dense(ops, res.d_weight), dense(ops, res.d_bias)]
    torch.testing.assert_close(torch.tensor(ops.item(res.loss_sum), dtype=torch.float64),
                               want.detach(), **TOL)
    for name, g, leaf in zip(("features", "weight", "bias"), got, leaves, strict=True):
        torch.testing.assert_close(torch.as_tensor(ops.to_numpy(g)), leaf.grad, **TOL, msg=name)


class WrongProposal(SampledSoftmax):
    """Bug: a uniform proposal where log-uniform is asked for (forward and backward agree, so
    only an independent oracle can see it)."""

    def proposal(self, classes):
        return np.full(classes, 1.0 / classes)


@pytest.mark.parametrize("backend", ["numpy", "torch-generic", "torch-fused"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_window_with_sampled_softmax_matches_torch_autograd(backend, cell):
    ops = BACKENDS[backend]()
    loss = SampledSoftmax(samples=6)
    model, params, batch = make_token_case(cell, tie=True, bidirectional=False, loss=loss)
    result, state = seqframe_window(ops, model, params, batch, fused=backend == "torch-fused",
                                    loss_seed=5)
    assert result.outputs is None  # only some classes were scored
    leaves, top = oracle_top(model, params, batch, state, ops)
    drawn = SampledSoftmax(samples=6).draw(np.random.default_rng(5), V)
    want = torch_sampled_softmax(top.reshape(B * T, -1), leaves["embedding.weight"],
                                 leaves["readout.bias"], batch.targets.reshape(-1),
                                 np.ones(B * T), drawn, tf_log_expected_count(V, 6))
    want.backward()
    assert_matches(ops, result, want.detach(), {k: p.grad for k, p in leaves.items()})


def test_the_oracle_catches_a_wrong_proposal():
    ops = BACKENDS["numpy"]()
    model, params, batch = make_token_case("lstm", tie=True, bidirectional=False,
                                           loss=WrongProposal(samples=6))
    result, state = seqframe_window(ops, model, params, batch, fused=False, loss_seed=5)
    leaves, top = oracle_top(model, params, batch, state, ops)
    drawn = SampledSoftmax(samples=6).draw(np.random.default_rng(5), V)
    want = torch_sampled_softmax(top.reshape(B * T, -1), leaves["embedding.weight"],
                                 leaves["readout.bias"], batch.targets.reshape(-1),
                                 np.ones(B * T), drawn, tf_log_expected_count(V, 6))
    want.backward()
    with pytest.raises(AssertionError):
        assert_matches(ops, result, want.detach(), {k: p.grad for k, p in leaves.items()})


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fused_path_with_an_embedding_and_prefix_masks_matches_numpy(cell):
    """The embedding is core's, the fused kernels run the recurrence: with padded rows (a prefix
    mask, which the fused path packs) the two still agree with the numpy reference."""
    model, params, batch = make_token_case(cell, tie=True, bidirectional=True)
    batch.mask[1, 4:] = batch.mask[3, 2:] = False
    batch.inputs[~batch.mask] = PAD
    batch.reset[::2] = True
    ref_ops, fused_ops = BACKENDS["numpy"](), BACKENDS["torch-fused"]()
    ref, _ = seqframe_window(ref_ops, model, params, batch, fused=False)
    got, _ = seqframe_window(fused_ops, model, params, batch, fused=True)
    assert float(got.count) == float(ref.count)
    for name in ref.grads:
        np.testing.assert_allclose(fused_ops.to_numpy(got.grads[name]), ref.grads[name],
                                   **TOL, err_msg=name)
    np.testing.assert_allclose(fused_ops.item(got.loss_sum), ref_ops.item(ref.loss_sum), **TOL)
