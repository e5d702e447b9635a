"""Row-sparse gradients (``--sparse-grads``): the gradient is the dense one kept to its rows, the
optimizers apply their dense rule to exactly those rows (torch.optim.SparseAdam as the oracle
for Adam), clipping sees the same norm, numpy and torch take the same steps, and settings that
cannot use it are refused with what to do."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_numpy.ops import NumpyOps

from seqframe.cells import LSTMCell
from seqframe.config import RunConfig
from seqframe.engine.bptt import to_window, window_loss_and_grad
from seqframe.engine.model import Model, ModelConfig
from seqframe.errors import ConfigError
from seqframe.losses import CrossEntropy, SampledSoftmax
from seqframe.rowsparse import RowSparse, add, dense
from seqframe.runs.build import make_seq2seq
from seqframe.task import Batch
from seqframe.training.clipping import Clipper
from seqframe.training.distributed import World, check_run
from seqframe.training.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from seqframe.training.step import TrainStep

OPS = NumpyOps(dtype="float64")


def torch_ops():
    pytest.importorskip("torch")
    from seqframe_torch.ops import TorchOps

    return TorchOps(dtype="float64")


BACKENDS = [pytest.param(lambda: OPS, id="numpy"), pytest.param(torch_ops, id="torch")]


def host(ops, x):
    return ops.to_numpy(dense(ops, x)).astype(np.float64)


# ---- the type ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make_ops", BACKENDS)
def test_scatter_holds_what_add_at_on_zeros_holds_each_row_once(make_ops):
    ops = make_ops()
    rng = np.random.default_rng(0)
    idx, values = np.array([7, 2, 7, 0, 2, 2]), rng.normal(size=(6, 3))
    grad = RowSparse.scatter(ops, (9, 3), idx, ops.asarray(values))
    expected = np.zeros((9, 3))
    np.add.at(expected, idx, values)
    assert grad.rows.tolist() == [0, 2, 7] and grad.shape == (9, 3)
    np.testing.assert_allclose(host(ops, grad), expected, rtol=1e-14)
    np.testing.assert_allclose(host(ops, grad / 4.0), expected / 4.0, rtol=1e-14)
    np.testing.assert_allclose(host(ops, 0.5 * grad), expected / 2.0, rtol=1e-14)


@pytest.mark.parametrize("make_ops", BACKENDS)
def test_sums_stay_sparse_only_when_both_terms_are(make_ops):
    ops = make_ops()
    rng = np.random.default_rng(1)
    a = RowSparse.scatter(ops, (6, 2), [1, 4], ops.asarray(rng.normal(size=(2, 2))))
    b = RowSparse.scatter(ops, (6, 2), [4, 5], ops.asarray(rng.normal(size=(2, 2))))
    full = ops.asarray(rng.normal(size=(6, 2)))
    both = add(ops, a, b)
    assert isinstance(both, RowSparse) and both.rows.tolist() == [1, 4, 5]
    np.testing.assert_allclose(host(ops, both), host(ops, a) + host(ops, b), rtol=1e-14)
    for mixed in (add(ops, a, full), add(ops, full, a)):
        assert not isinstance(mixed, RowSparse)
        np.testing.assert_allclose(host(ops, mixed), host(ops, a) + ops.to_numpy(full))


# ---- the backward ------------------------------------------------------------------------------


def _model(loss, *, sparse, tie=False, vocab=40, padding_id=0):
    config = ModelConfig(cell="lstm", input_size=vocab, hidden_size=6, output_size=vocab,
                         tokens=True, embed=6, padding_id=padding_id, tie_weights=tie,
                         loss=loss.name, sparse_grads=sparse)
    return Model(config, LSTMCell(), loss)


def _batch(rng, vocab=40, rows=3, steps=6, pad_every=4):
    ids = rng.integers(1, vocab, size=(rows, steps + 1))
    ids[:, ::pad_every] = 0  # some padding ids among the inputs
    return Batch(ids[:, :-1], np.ascontiguousarray(ids[:, 1:]), np.ones((rows, steps), bool),
                 np.zeros(rows, bool))


@pytest.mark.parametrize("make_ops", BACKENDS)
@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
@pytest.mark.parametrize("loss", [SampledSoftmax(samples=5), CrossEntropy()],
                         ids=["sampled", "full"])
def test_sparse_gradients_are_the_dense_ones_kept_to_their_rows(make_ops, tie, loss):
    ops = make_ops()
    got = {}
    for sparse in (False, True):
        model = _model(loss, sparse=sparse, tie=tie)
        params = {k: ops.asarray(v) for k, v in model.init_params(0).items()}
        window = to_window(ops, _batch(np.random.default_rng(2)))
        got[sparse] = window_loss_and_grad(model, ops, params, window, None,
                                           loss_rng=np.random.default_rng(3)).grads
    assert set(got[True]) == set(got[False])
    for name, value in got[False].items():
        np.testing.assert_allclose(host(ops, got[True][name]), host(ops, value), rtol=1e-12,
                                   atol=1e-15, err_msg=name)
    sparse_names = {k for k, v in got[True].items() if isinstance(v, RowSparse)}
    if loss.needs == "features":  # sampled: the table and the readout's rows
        expected = {"embedding.weight", "readout.bias"} | (set() if tie else {"readout.weight"})
    else:  # full softmax: the table only, and tied to the readout its gradient is dense
        expected = set() if tie else {"embedding.weight"}
    assert sparse_names == expected
    if not tie:  # the padding row is never touched
        assert 0 not in got[True]["embedding.weight"].rows


# ---- the optimizers ----------------------------------------------------------------------------


def _sparse_steps(rng, shape, steps=5):
    """Gradients on a different few rows at each step."""
    out = []
    for _ in range(steps):
        rows = np.sort(rng.choice(shape[0], size=3, replace=False))
        out.append(RowSparse(rows, rng.normal(size=(3,) + shape[1:]), shape))
    return out


@pytest.mark.parametrize("make", [lambda: SGD(OPS, momentum=0.0), lambda: Adagrad(OPS)],
                         ids=["sgd", "adagrad"])
def test_where_a_zero_gradient_changes_nothing_the_row_update_is_the_dense_update(make):
    rng = np.random.default_rng(4)
    start = rng.normal(size=(8, 3))
    sparse_opt, dense_opt = make(), make()
    sparse_params, dense_params = {"w": start.copy()}, {"w": start.copy()}
    for grad in _sparse_steps(rng, (8, 3)):
        sparse_opt.step(sparse_params, {"w": grad}, 0.1)
        dense_opt.step(dense_params, {"w": grad.dense(OPS)}, 0.1)
    np.testing.assert_allclose(sparse_params["w"], dense_params["w"], rtol=1e-14)


def test_lazy_adam_is_torch_sparse_adam():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    start = rng.normal(size=(10, 4))
    # eps where both place it alike: torch's SparseAdam adds eps before the bias correction of
    # the second moment, torch's (and our) Adam after it
    ours, params = Adam(OPS, eps=1e-30), {"w": start.copy()}
    table = torch.nn.Parameter(torch.tensor(start))
    theirs = torch.optim.SparseAdam([table], lr=0.05, eps=1e-30)
    for grad in _sparse_steps(rng, (10, 4), steps=6):
        ours.step(params, {"w": grad}, 0.05)
        table.grad = torch.sparse_coo_tensor(torch.tensor(grad.rows)[None], torch.tensor(
            grad.values), (10, 4), check_invariants=True)
        theirs.step()
    np.testing.assert_allclose(params["w"], table.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("make", [lambda: Adam(OPS), lambda: AdamW(OPS, weight_decay=0.1),
                                  lambda: RMSprop(OPS), lambda: SGD(OPS, momentum=0.9)],
                         ids=["adam", "adamw", "rmsprop", "sgd-momentum"])
def test_touched_rows_take_the_dense_rule_and_untouched_rows_keep_param_and_state(make):
    rng = np.random.default_rng(6)
    start = rng.normal(size=(6, 2))
    opt, params = make(), {"w": start.copy()}
    first = RowSparse(np.array([0, 3]), rng.normal(size=(2, 2)), (6, 2))
    opt.step(params, {"w": first}, 0.1)
    after_first = params["w"].copy()
    state_first = {slot: opt.state[slot]["w"].copy() for slot in opt.slots}
    second = RowSparse(np.array([1, 3]), rng.normal(size=(2, 2)), (6, 2))
    opt.step(params, {"w": second}, 0.1)
    untouched = [0, 2, 4, 5]
    np.testing.assert_array_equal(params["w"][untouched], after_first[untouched])
    for slot in opt.slots:
        np.testing.assert_array_equal(opt.state[slot]["w"][untouched],
                                      state_first[slot][untouched])
    # the touched rows: the dense rule on those two rows alone, with the global step count
    sub, sub_params = make(), {"w": np.array([start[1], after_first[3]])}
    sub.steps = 1
    sub.state = {slot: {"w": np.array([np.zeros(2), state_first[slot][3]])} for slot in sub.slots}
    sub.step(sub_params, {"w": second.values}, 0.1)
    np.testing.assert_allclose(params["w"][[1, 3]], sub_params["w"], rtol=1e-14)


def test_the_optimizer_never_writes_into_the_callers_arrays():
    start = np.arange(12.0).reshape(4, 3)
    start.flags.writeable = False  # as a table read from a checkpoint's buffer may be
    params = {"w": start}
    Adam(OPS).step(params, {"w": RowSparse(np.array([2]), np.ones((1, 3)), (4, 3))}, 0.1)
    np.testing.assert_array_equal(start, np.arange(12.0).reshape(4, 3))
    assert params["w"] is not start and (params["w"][2] < start[2]).all()


@pytest.mark.parametrize("make_ops", BACKENDS)
def test_a_gradient_that_touched_no_row_changes_nothing(make_ops):
    ops = make_ops()
    params = {"w": ops.asarray(np.ones((5, 3)))}
    empty = RowSparse.scatter(ops, (5, 3), np.zeros(0, np.int64), ops.zeros((0, 3)))
    grads, norm, clipped = Clipper(ops, 1.0, 0.5)({"w": empty})
    Adam(ops).step(params, grads, 0.1)
    assert norm == 0.0 and not clipped
    np.testing.assert_array_equal(ops.to_numpy(params["w"]), np.ones((5, 3)))


# ---- clipping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("clip_norm, clip_value", [(0.5, 0.0), (0.0, 0.3), (0.5, 0.3),
                                                   (100.0, 0.0)])
def test_clipping_a_sparse_gradient_clips_its_dense_twin(clip_norm, clip_value):
    rng = np.random.default_rng(7)
    sparse = {"table": RowSparse(np.array([1, 5]), rng.normal(size=(2, 3)), (7, 3)),
              "w": rng.normal(size=(2, 2)),
              "empty": RowSparse(np.zeros(0, np.int64), np.zeros((0, 3)), (7, 3))}
    dense_twin = {k: dense(OPS, v) for k, v in sparse.items()}
    got, norm, clipped = Clipper(OPS, clip_norm, clip_value)(sparse)
    want, want_norm, want_clipped = Clipper(OPS, clip_norm, clip_value)(dense_twin)
    assert norm == pytest.approx(want_norm, rel=1e-14) and clipped == want_clipped
    assert isinstance(got["table"], RowSparse)
    for name in got:
        np.testing.assert_allclose(dense(OPS, got[name]), want[name], rtol=1e-14)


# ---- whole steps on both backends --------------------------------------------------------------


def test_numpy_and_torch_take_the_same_sparse_steps():
    torch_backend = torch_ops()
    loss = SampledSoftmax(samples=6)
    model = _model(loss, sparse=True)
    got = {}
    for ops in (OPS, torch_backend):
        params = {k: ops.asarray(v) for k, v in model.init_params(0).items()}
        step = TrainStep(model, ops, Adam(ops), Clipper(ops, 1.0))
        data_rng, loss_rng = np.random.default_rng(8), np.random.default_rng(9)
        for _ in range(3):
            result = step(params, _batch(data_rng), None, 0.01, loss_rng=loss_rng)
            assert result.updated
        got[ops.name] = {k: ops.to_numpy(v) for k, v in params.items()}
    for name, value in got[OPS.name].items():
        np.testing.assert_allclose(got[torch_backend.name][name], value, rtol=1e-9, atol=1e-12,
                                   err_msg=name)


# ---- what cannot use it ------------------------------------------------------------------------


def test_a_model_with_nothing_row_sparse_is_refused():
    with pytest.raises(ConfigError, match=r"--sparse-grads keeps the gradients of an embedding "
                       r"table \(--embed E\) and of a readout scored on a few classes \(--loss "
                       r"sampled_softmax\) row-sparse; this model has neither \(loss "
                       r"'cross_entropy', embed 0\)\. Add one, or drop --sparse-grads\."):
        Model(ModelConfig(cell="lstm", input_size=5, hidden_size=4, output_size=5, tokens=True,
                          sparse_grads=True), LSTMCell())


def test_an_encoder_decoder_is_refused():
    with pytest.raises(ConfigError, match="--sparse-grads applies to single-stack models"):
        make_seq2seq(RunConfig(task="translate", sparse_grads=True), spec=None)


def test_data_parallel_runs_are_refused():
    with pytest.raises(ConfigError, match=r"--sparse-grads does not combine with data "
                       r"parallelism \(2 processes\) yet; drop one of them\."):
        check_run(RunConfig(batch_size=32, nproc=2, sparse_grads=True), World(0, 2, 0))


# ---- a run ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_charlm_run_with_sparse_grads_resumes_exactly(tmp_path, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    import seqframe

    settings = dict(task="charlm", backend=backend, hidden=8, embed=8, batch_size=2, bptt=10,
                    loss="sampled_softmax", loss_options={"samples": 8}, sparse_grads=True,
                    dtype="float64", eval_every=2, quiet=True,
                    options={"max_chars": 2000, "seq_len": 10, "sample_length": 5,
                             "ngram_order": 2, "eval_streams": 2})
    straight = seqframe.train(steps=4, out=str(tmp_path / "straight"), **settings).summary
    seqframe.train(steps=2, out=str(tmp_path / "split"), **settings)
    resumed = seqframe.resume(tmp_path / "split", steps=4, quiet=True).summary
    assert straight["steps"] == resumed["steps"] == 4
    assert resumed["metrics"] == straight["metrics"]  # exact: sparse rows and lazy moments
