"""The adding task: data contract, determinism, metric and baseline against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_adding import plugin
from seqframe_adding.data import generate, split_rng
from seqframe_adding.task import EVAL_CHUNK, AddingTask, mse

from seqframe.errors import ConfigError


class OraclePredictor:
    """Answers with the true sum read off the inputs, plus a fixed offset; counts its calls."""

    def __init__(self, offset: float = 0.0):
        self.offset, self.calls = offset, []

    def predict(self, inputs, mask=None, state=None):
        self.calls.append(inputs.shape)
        total = np.array([[sum(v for v, m in row if m == 1.0)] for row in inputs.tolist()])
        return total + self.offset, None


def make(**options):
    task = AddingTask(options)
    task.prepare()
    return task


@pytest.mark.parametrize("length", [2, 3, 7, 50])
def test_two_markers_one_in_each_half_and_target_is_their_sum(length):
    data = generate(200, length, np.random.default_rng(0))
    assert data.inputs.shape == (200, length, 2) and data.targets.shape == (200, 1)
    half = length // 2
    for row, target in zip(data.inputs, data.targets[:, 0], strict=True):
        values, markers = row[:, 0], row[:, 1]
        assert set(np.unique(markers)) <= {0.0, 1.0}
        marked = np.flatnonzero(markers == 1.0)
        assert len(marked) == 2
        assert marked[0] < half <= marked[1]
        assert target == values[marked[0]] + values[marked[1]]
        assert np.all((values >= 0.0) & (values < 1.0))


def test_markers_spread_over_each_whole_half():
    data = generate(4000, 10, np.random.default_rng(1))
    assert set(data.positions[:, 0]) == set(range(5))
    assert set(data.positions[:, 1]) == set(range(5, 10))


def test_too_short_sequence_is_refused_by_the_generator():
    with pytest.raises(ValueError, match="length >= 2"):
        generate(3, 1, np.random.default_rng(0))


def test_model_spec():
    spec = AddingTask().prepare()
    assert (spec.input_size, spec.output_size, spec.readout, spec.loss) == (2, 1, "last", "mse")
    assert AddingTask.metric == "mse" and AddingTask.metric_mode == "min"


def test_val_and_test_are_fixed_and_different_from_each_other():
    a, b = make(length=20), make(length=20)
    for split in ("val", "test"):
        np.testing.assert_array_equal(a.split_data(split).inputs, b.split_data(split).inputs)
    assert not np.array_equal(a.split_data("val").inputs, a.split_data("test").inputs)
    assert len(a.split_data("test")) == 1000 and len(make(test_size=7).split_data("test")) == 7


def test_fresh_training_data_depends_on_seed_and_epoch_deterministically():
    task = make(length=10, train_size=64)
    first = task.train_batches(0, 16, seed=5)[0].inputs
    np.testing.assert_array_equal(
        first, make(length=10, train_size=64).train_batches(0, 16, 5)[0].inputs
    )
    assert not np.array_equal(first, task.train_batches(1, 16, seed=5)[0].inputs)
    assert not np.array_equal(first, task.train_batches(0, 16, seed=6)[0].inputs)


def test_fixed_training_set_is_reshuffled_each_epoch():
    task = make(length=10, train_size=30, fresh=False)
    rows = [np.concatenate([b.inputs for b in task.train_batches(e, 7, seed=0)]) for e in (0, 1)]
    assert not np.array_equal(rows[0], rows[1])

    def as_set(stacked):
        return sorted(tuple(row.ravel()) for row in stacked)

    assert as_set(rows[0]) == as_set(rows[1])


def test_batches_cover_every_row_once_with_full_mask_and_reset():
    task = make(length=6, train_size=23)
    batches = task.train_batches(0, 5, seed=0)
    assert len(batches) == 5 and [b.batch_size for b in batches] == [5, 5, 5, 5, 3]
    data = task.train_data(0, seed=0)
    stacked = np.concatenate([b.targets for b in batches])
    assert sorted(stacked[:, 0]) == sorted(data.targets[:, 0])
    for batch in batches:
        assert (
            batch.mask.dtype == bool
            and batch.mask.all()
            and batch.mask.shape == (batch.batch_size, 6)
        )
        assert batch.reset.dtype == bool and batch.reset.all()
    assert batches[-1].targets.shape == (3, 1)
    with pytest.raises(IndexError):
        batches[5]


def test_mse_by_hand():
    assert mse(np.array([[1.0], [2.0]]), np.array([[0.0], [4.0]])) == 2.5
    assert mse(np.array([0.5, 0.5, 0.5]), np.array([0.0, 1.0, 0.5])) == pytest.approx(1 / 6)


def test_evaluate_scores_the_predictor_on_the_whole_split_in_chunks():
    task = make(length=8, test_size=EVAL_CHUNK + 20)
    perfect, off = OraclePredictor(), OraclePredictor(offset=0.1)
    assert task.evaluate(perfect, "test") == {"mse": pytest.approx(0.0, abs=1e-24)}
    assert task.evaluate(off, "test")["mse"] == pytest.approx(0.01)
    assert perfect.calls == [(EVAL_CHUNK, 8, 2), (20, 8, 2)]


def test_evaluate_accepts_flat_predictions():
    class Flat(OraclePredictor):
        def predict(self, inputs, mask=None, state=None):
            out, _ = super().predict(inputs)
            return out[:, 0], None

    assert make(length=4, val_size=9).evaluate(Flat(offset=-0.2), "val")["mse"] == pytest.approx(
        0.04
    )


def test_predict_mean_baseline_by_hand_and_near_one_sixth():
    task = make(length=12, test_size=3)
    sums = [row[row[:, 1] == 1.0, 0].sum() for row in task.split_data("test").inputs]
    expected = sum((s - 1.0) ** 2 for s in sums) / 3
    assert task.baselines("test") == {"predict_mean": {"mse": pytest.approx(expected)}}
    # 1000 draws: the standard error of the mean squared deviation is ~0.006.
    full = make(length=100).baselines("test")["predict_mean"]["mse"]
    assert full == pytest.approx(1 / 6, abs=0.03)


def test_artefact_is_a_png(tmp_path):
    task = make(length=6, test_size=40)
    (path,) = task.write_artefacts(OraclePredictor(offset=0.05), tmp_path)
    assert path.name == "adding_predictions.png" and path.read_bytes()[:4] == b"\x89PNG"


def test_split_seeds_are_independent_of_the_run_seed():
    a = generate(5, 10, split_rng("test", 10)).inputs
    b = generate(5, 10, split_rng("test", 10)).inputs
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, generate(5, 10, split_rng("test", 11)).inputs[:, :10])


@pytest.mark.parametrize(
    ("options", "data", "message"),
    [
        ({"length": 1}, None, "option 'length' must be >= 2"),
        ({"train_size": 0}, None, "option 'train_size' must be >= 1"),
        ({"test_size": -3}, None, "option 'test_size' must be >= 1"),
        ({"length": "long"}, None, "option 'length' expects int"),
        ({"lenght": 5}, None, "unknown option 'lenght'.*Valid options: fresh, length"),
        ({}, "file.csv", "generates its own data and takes no --data"),
    ],
)
def test_option_errors(options, data, message):
    with pytest.raises(ConfigError, match=message):
        AddingTask(options, data=data)


def test_options_parse_from_strings():
    task = AddingTask({"length": "100", "fresh": "false"})
    assert task.opts["length"] == 100 and task.opts["fresh"] is False


def test_plugin_registers_the_task_lazily():
    calls = []
    plugin.seqframe_register_tasks(lambda *args: calls.append(args))
    assert [c[:2] for c in calls] == [("adding", "seqframe_adding.task:AddingTask")]


def test_task_is_found_through_the_registry():
    from seqframe.plugins import get_registry

    assert get_registry().load("task", "adding") is AddingTask
