"""``--data hf:...``: a local Hugging Face data set folder read through seqframe.hfdata."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_gesture.task import GestureTask

from seqframe.errors import DataError

datasets = pytest.importorskip("datasets")


def save(tmp_path, train: dict, test: dict, features=None):
    dd = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict(train, features=features),
        "test": datasets.Dataset.from_dict(test, features=features),
    })
    dd.save_to_disk(str(tmp_path / "hfset"))
    return f"hf:{tmp_path / 'hfset'}"


def univariate():
    series = [[0.0, 1.0, 2.0], [1.0, 1.0], [5.0, 4.0, 3.0, 2.0], [4.0, 4.0]]
    return {"series": series, "label": ["up", "up", "down", "down"]}


def test_univariate_lists_and_string_labels(tmp_path):
    spec = save(tmp_path, univariate(), univariate())
    task = GestureTask({"normalize": "none", "val_fraction": 0.5}, spec)
    model = task.prepare()
    assert (model.input_size, model.output_size, task.classes) == (1, 2, ("down", "up"))
    test_series, y = task.sets["test"]
    np.testing.assert_array_equal(test_series[2][:, 0], [5.0, 4.0, 3.0, 2.0])
    assert y.tolist() == [1, 1, 0, 0]


def test_multivariate_layouts_and_columns(tmp_path):
    channels_first = {"x": [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]] * 4, "y": [0, 0, 1, 1]}
    spec = save(tmp_path, channels_first, channels_first)
    opts = {"normalize": "none", "val_fraction": 0.5, "hf_series": "x", "hf_label": "y"}
    task = GestureTask(opts, spec)
    assert task.prepare().input_size == 2
    np.testing.assert_array_equal(task.sets["test"][0][0], [[1, 4], [2, 5], [3, 6]])
    time_first = GestureTask({**opts, "hf_layout": "time_first"}, spec)
    assert time_first.prepare().input_size == 3
    np.testing.assert_array_equal(time_first.sets["test"][0][0], [[1, 2, 3], [4, 5, 6]])


def test_one_column_per_channel_and_class_label_feature(tmp_path):
    features = datasets.Features({
        "a": datasets.Sequence(datasets.Value("float64")),
        "b": datasets.Sequence(datasets.Value("float64")),
        "label": datasets.ClassLabel(names=["walk", "run"]),
    })
    data = {"a": [[1.0, 2.0], [3.0], [0.0, 0.0], [1.0, 1.0]],
            "b": [[0.0, 0.0], [1.0], [2.0, 2.0], [3.0, 3.0]], "label": [0, 0, 1, 1]}
    spec = save(tmp_path, data, data, features)
    task = GestureTask({"normalize": "none", "val_fraction": 0.5, "hf_series": "a,b"}, spec)
    assert task.prepare().input_size == 2 and task.classes == ("run", "walk")
    np.testing.assert_array_equal(task.sets["test"][0][1], [[3.0, 1.0]])


def test_missing_column_and_split(tmp_path):
    spec = save(tmp_path, univariate(), univariate())
    with pytest.raises(DataError, match=r"has no column 'values'; its columns are series, label"):
        GestureTask({"hf_series": "values"}, spec).prepare()
    with pytest.raises(DataError, match=r"has no split 'validation' \(it has: train, test\)") as e:
        GestureTask({"hf_test_split": "validation"}, spec).prepare()
    assert e.value.exit_code == 2
