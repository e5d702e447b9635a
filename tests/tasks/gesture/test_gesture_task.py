"""The gesture task's contract: data resolution, batches, splits, scaling, evaluation, artefacts."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from seqframe_gesture import prep, sources
from seqframe_gesture.batching import stratified_split
from seqframe_gesture.task import GestureTask
from seqframe_gesture.tsformat import read_ts

from seqframe.errors import ConfigError


def make(data=None, **options) -> GestureTask:
    task = GestureTask(options, data)
    task.spec = task.prepare()
    return task


def test_default_is_pickup_and_names_are_case_insensitive():
    spec = make(baselines=False).spec
    # 1 channel + the 32 random convolution features the built-in data set recommends
    assert (spec.input_size, spec.output_size, spec.readout, spec.loss, spec.stateful) == (
        33, 10, "mean", "cross_entropy", False)
    spec = make(baselines=False, kernels=0).spec
    assert spec.input_size == 1
    task = make("JAPANESEvowels", readout="last")
    assert (task.spec.input_size, task.spec.output_size, task.spec.readout) == (12, 9, "last")
    assert task.problem == "JapaneseVowels" and len(task.sets["test"][0]) == 370


def test_a_builtin_data_sets_recommended_inputs_yield_to_given_options(tiny_pair):
    recommended = sources.RECOMMENDED["PickupGestureWiimoteZ"]
    default = GestureTask({}, None).opts
    assert {k: default[k] for k in recommended} == recommended
    assert default["readout"] == "mean"  # not recommended: the option's own default
    given = GestureTask({"kernels": 0, "normalize": "channel"}, "pickupgesturewiimotez").opts
    assert given["kernels"] == 0 and given["normalize"] == "channel"  # given wins, even 0
    assert given["downsample"] == 4 and given["augment"] == 0.2
    other = GestureTask({}, str(tiny_pair)).opts  # any other data: the options' defaults
    assert (other["normalize"], other["downsample"], other["kernels"]) == ("channel", 1, 0)
    assert GestureTask({}, "JapaneseVowels").opts["kernels"] == 0
    # a longest series of 361 steps averaged by 4: 91 steps
    assert max(len(s) for s in make(baselines=False).sets["train"][0]) == 91


def test_builtin_with_another_test_file(tmp_path):
    test = tmp_path / "few.ts"
    lines = (sources.DATA_DIR / "PickupGestureWiimoteZ_TEST.ts").read_text().splitlines()
    test.write_text("\n".join(lines[: lines.index("@data") + 4]) + "\n")
    assert len(make("pickupgesturewiimotez", test=str(test)).sets["test"][0]) == 3


def test_readout_option_is_validated():
    with pytest.raises(ConfigError, match="option 'readout' must be one of mean, last, max"):
        GestureTask({"readout": "first"})


def test_train_file_finds_its_test_sibling_and_folder_layout(tiny_pair, tmp_path):
    task = make(str(tiny_pair))
    assert task.problem == "Tiny" and len(task.sets["test"][0]) == 6
    folder = tmp_path / "Tiny"
    folder.mkdir()
    for split in ("TRAIN", "TEST"):
        shutil.copy(tmp_path / f"Tiny_{split}.ts", folder / f"Tiny_{split}.ts")
    assert len(make(str(folder)).sets["test"][0]) == 6


def test_test_option_overrides_the_sibling(tiny_pair, tmp_path, ts_text, tiny_cases):
    other = tmp_path / "other.ts"
    other.write_text(ts_text(tiny_cases(5, n_per_class=1)))
    assert len(make(str(tiny_pair), test=str(other)).sets["test"][0]) == 3


def test_batches_are_padded_masked_whole_sequences(tiny_pair):
    task = make(str(tiny_pair))
    series, y = task.sets["train"]
    batches = task.train_batches(epoch=0, batch_size=4, seed=1)
    assert len(series) == 9  # 4 per class, 1 of each held out for validation
    assert len(batches) == 3 and batches[-1].batch_size == 1
    seen = []
    for batch in batches:
        lengths = batch.mask.sum(1)
        assert batch.inputs.shape == (batch.batch_size, lengths.max(), 2)
        assert batch.mask.dtype == bool and batch.reset.dtype == bool and batch.reset.all()
        assert batch.targets.dtype == np.int64 and batch.targets.shape == (batch.batch_size,)
        assert np.all(batch.inputs[~batch.mask] == 0.0)
        assert np.array_equal(batch.mask, np.arange(batch.length) < lengths[:, None])
        for row in range(batch.batch_size):
            match = [i for i, s in enumerate(series)
                     if len(s) == lengths[row] and np.array_equal(s, batch.inputs[row, : len(s)])]
            assert len(match) == 1 and y[match[0]] == batch.targets[row]
            seen.append(match[0])
    assert sorted(seen) == list(range(len(series)))  # each training case once per epoch


def test_batches_are_deterministic_in_epoch_and_seed(tiny_pair):
    task = make(str(tiny_pair))
    first = [b.targets.tolist() for b in task.train_batches(3, 4, seed=9)]
    assert first == [b.targets.tolist() for b in task.train_batches(3, 4, seed=9)]
    orders = {tuple(np.concatenate([b.inputs[:, 0, 0] for b in task.train_batches(e, 4, 9)]))
              for e in range(4)}
    assert len(orders) > 1


def test_stratified_split_is_stratified_and_reproducible():
    y = np.repeat(np.arange(10), 5)
    fit, val = stratified_split(y, 0.2, seed=0)
    assert np.bincount(y[val]).tolist() == [1] * 10 and len(fit) == 40
    assert set(fit).isdisjoint(val) and sorted([*fit, *val]) == list(range(50))
    again = stratified_split(y, 0.2, seed=0)
    assert np.array_equal(again[1], val)
    assert not np.array_equal(stratified_split(y, 0.2, seed=1)[1], val)
    y2 = np.array([0] * 10 + [1] * 3 + [2])  # a single-case class stays in training
    _, val2 = stratified_split(y2, 0.25, seed=0)
    assert np.bincount(y2[val2], minlength=3).tolist() == [3, 1, 0]


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_val_fraction_must_be_a_proper_fraction(fraction):
    with pytest.raises(ConfigError, match="val_fraction must be between 0 and 1"):
        stratified_split(np.repeat(np.arange(3), 4), fraction, 0)


def test_channel_scaler_is_fitted_on_the_training_part_only(tiny_pair):
    task = make(str(tiny_pair))
    raw = read_ts(tiny_pair).series
    y = np.array([{"a": 0, "b": 1, "c": 2}[c] for c in read_ts(tiny_pair).labels])
    fit, _ = stratified_split(y, 0.2, seed=0)
    stacked = np.concatenate([raw[i] for i in fit])
    np.testing.assert_allclose(task.scaler["mean"], stacked.mean(0))
    np.testing.assert_allclose(task.scaler["std"], stacked.std(0))
    scaled = np.concatenate(task.sets["train"][0])
    np.testing.assert_allclose(scaled.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(0), 1.0)


def test_series_and_no_normalisation(tiny_pair):
    for s in make(str(tiny_pair), normalize="series").sets["test"][0]:
        np.testing.assert_allclose(s.mean(0), 0.0, atol=1e-12)
        np.testing.assert_allclose(s.std(0), 1.0)
    raw = read_ts(tiny_pair.with_name("Tiny_TEST.ts")).series
    none = make(str(tiny_pair), normalize="none").sets["test"][0]
    assert all(np.array_equal(a, b) for a, b in zip(raw, none, strict=True))


def test_trailing_nan_padding_becomes_masked_steps_and_internal_nans_follow_the_policy(
        tmp_path, ts_text):
    nan = float("nan")
    cases = [([[1, nan, 3, nan, nan]], "a"), ([[2, 4, 6, 8, 10]], "a"),
             ([[5, 5, nan, nan, nan]], "b"), ([[0, 1, 2, 3, 4]], "b")]
    (tmp_path / "N_TRAIN.ts").write_text(ts_text(cases))
    (tmp_path / "N_TEST.ts").write_text(ts_text(cases))
    task = make(str(tmp_path / "N_TRAIN.ts"), normalize="none", val_fraction=0.5)
    test = task.sets["test"][0]
    assert [len(s) for s in test] == [3, 5, 2, 5]
    np.testing.assert_array_equal(test[0][:, 0], [1, 2, 3])  # interpolated
    batch = task.train_batches(0, 4, 0)[0]
    assert sorted(batch.mask.sum(1).tolist()) == sorted(len(s) for s in task.sets["train"][0])
    zero = make(str(tmp_path / "N_TRAIN.ts"), normalize="series", missing="zero", val_fraction=0.5)
    z = zero.sets["test"][0][0][:, 0]
    assert z[1] == 0.0 and z[0] == pytest.approx(-1.0) and z[2] == pytest.approx(1.0)


def test_downsample_averages_blocks():
    series = np.arange(7, dtype=float)[:, None]
    np.testing.assert_array_equal(prep.downsample(series, 3)[:, 0], [1.0, 4.0, 6.0])
    with_gap = np.array([[1.0], [np.nan], [3.0], [5.0]])
    np.testing.assert_array_equal(prep.downsample(with_gap, 2)[:, 0], [1.0, 4.0])


def test_evaluate_matches_metrics_computed_directly(tiny_pair, predictor):
    task = make(str(tiny_pair))
    for split in ("val", "test"):
        series, y = task.sets[split]
        logits = np.stack([predictor.logits_of(s) for s in series])
        log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        pred = logits.argmax(1)
        got = task.evaluate(predictor, split)
        assert got["accuracy"] == pytest.approx(np.mean(pred == y))
        assert got["loss"] == pytest.approx(-log_probs[np.arange(len(y)), y].mean())
        assert 0.0 <= got["macro_f1"] <= 1.0


def test_baselines_report_both_metrics_for_every_model(tiny_pair):
    task = make(str(tiny_pair))
    for split in ("val", "test"):
        result = task.baselines(split)
        assert set(result) == {"majority_class", "1nn_euclidean", "1nn_dtw"}
        assert all(set(m) == {"accuracy", "macro_f1"} for m in result.values())
    assert make(str(tiny_pair), baselines=False).baselines("test") == {}


def test_state_dict_restores_classes_and_scaler(tiny_pair):
    task = make(str(tiny_pair))
    state = task.state_dict()
    again = GestureTask({}, str(tiny_pair))
    again.prepare({**state, "scaler": {"mean": [0.0, 0.0], "std": [2.0, 2.0]}})
    assert again.classes == task.classes
    raw = np.concatenate(make(str(tiny_pair), normalize="none").sets["test"][0])
    np.testing.assert_allclose(np.concatenate(again.sets["test"][0]), raw / 2.0)


def test_confusion_artefacts(tiny_pair, tmp_path, predictor):
    task = make(str(tiny_pair))
    paths = task.write_artefacts(predictor, tmp_path)
    assert [p.name for p in paths] == ["confusion.txt", "confusion.png"]
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    series, y = task.sets["test"]
    pred = np.stack([predictor.logits_of(s) for s in series]).argmax(1)
    text = paths[0].read_text()
    assert f"{int(np.sum(pred == y))}/{len(y)} correct" in text and "normalize=channel" in text


def test_predict_file_writes_softmax_probabilities(tiny_pair, tmp_path, predictor, ts_text,
                                                   tiny_cases):
    task = make(str(tiny_pair))
    unlabelled = tmp_path / "new.ts"
    unlabelled.write_text(ts_text(tiny_cases(4, n_per_class=1), labelled=False))
    (path,) = task.predict_file(predictor, data=str(unlabelled), out_dir=tmp_path / "out")
    rows = list(csv.DictReader(path.read_text().splitlines()))
    assert list(rows[0]) == ["index", "length", "predicted", "p_a", "p_b", "p_c"]
    scaled = task._scale(task._clean(read_ts(unlabelled)))
    for row, s in zip(rows, scaled, strict=True):
        logits = predictor.logits_of(s)
        expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        got = np.array([float(row[f"p_{c}"]) for c in "abc"])
        np.testing.assert_allclose(got, expected, atol=1e-6)
        assert row["predicted"] == "abc"[int(expected.argmax())] and int(row["length"]) == len(s)
    (labelled,) = task.predict_file(predictor, data=str(tiny_pair), out_dir=tmp_path / "out2")
    assert "label" in next(csv.DictReader(labelled.read_text().splitlines()))


def test_registered_lazily_as_gesture():
    from seqframe.plugins import get_registry

    registry = get_registry()
    assert "gesture" in registry.names("task")
    assert registry.load("task", "gesture") is GestureTask


def test_augmentation_is_seeded_and_keeps_masks_consistent(tiny_pair):
    task = make(str(tiny_pair), augment=0.3)
    plain = make(str(tiny_pair))
    first = task.train_batches(2, 4, seed=5)[1]
    again = task.train_batches(2, 4, seed=5)[1]
    np.testing.assert_array_equal(first.inputs, again.inputs)
    np.testing.assert_array_equal(first.targets, plain.train_batches(2, 4, seed=5)[1].targets)
    assert not np.array_equal(first.inputs, plain.train_batches(2, 4, seed=5)[1].inputs)
    assert np.all(first.inputs[~first.mask] == 0.0) and first.mask[:, 0].all()


def test_augment_distortions_by_hand():
    rng = np.random.default_rng(0)
    series = np.arange(10.0)[:, None]
    out = prep.augment(series, 0.0, rng)
    np.testing.assert_allclose(out, series)  # strength 0 is the identity
    stretched = prep.augment(series, 0.5, np.random.default_rng(1))
    assert stretched.shape[1] == 1 and 6 <= len(stretched) <= 17


def test_differences_option_appends_first_differences(tiny_pair):
    task = make(str(tiny_pair), differences=True, normalize="none")
    assert task.spec.input_size == 4
    raw = make(str(tiny_pair), normalize="none").sets["test"][0][0]  # (T, 2)
    got = task.sets["test"][0][0]
    np.testing.assert_array_equal(got[:, :2], raw)
    np.testing.assert_array_equal(got[0, 2:], [0.0, 0.0])
    np.testing.assert_allclose(got[1:, 2:], raw[1:] - raw[:-1])


def test_elapsed_option_appends_time_since_start_in_longest_training_lengths(tiny_pair):
    task = make(str(tiny_pair), elapsed=True, normalize="none")
    plain = make(str(tiny_pair), normalize="none")
    assert task.spec.input_size == plain.spec.input_size + 1
    span = max(len(s) for s in plain.sets["train_full"][0])
    assert task.state_dict()["kernel_span"] == span
    for got, raw in zip(task.model_inputs["test"], plain.model_inputs["test"], strict=True):
        np.testing.assert_array_equal(got[:, :-1], raw)
        np.testing.assert_allclose(got[:, -1], np.arange(len(raw)) / span)
    # an augmented (stretched) training series gets the elapsed time of its new length
    stretched = make(str(tiny_pair), elapsed=True, augment=0.5).train_batches(0, 4, seed=1)[0]
    for row, length in enumerate(stretched.mask.sum(axis=1)):
        np.testing.assert_allclose(stretched.inputs[row, :length, -1], np.arange(length) / span)
