"""The built-in plugins pass the same conformance suites a third-party plugin runs.

Each class below is what a plugin author writes in their own tests: subclass a suite, say what it
tests, give hand-computed metric cases. The metric cases here are worked out from the data files
or the task's definition, not from the task's own code.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from seqframe.testing import (
    BackendConformance,
    CellConformance,
    FunctionPredictor,
    MetricCase,
    TaskConformance,
)


def _needs(module: str) -> pytest.MarkDecorator:
    """Skip while a built-in plugin is still missing from the tree (not when it is broken)."""
    return pytest.mark.skipif(importlib.util.find_spec(module) is None,
                              reason=f"{module} is not in the tree yet")


# ---- backends --------------------------------------------------------------------------------

class TestNumpyBackend(BackendConformance):
    backend = "numpy"


@pytest.mark.torch
class TestTorchBackend(BackendConformance):
    backend = "torch"  # skipped, test by test, where torch is not installed
    device = "cpu"


@pytest.mark.torch
class TestTorchBackendOnCuda(BackendConformance):
    backend = "torch"  # skipped where there is no CUDA GPU (the device is a ConfigError)
    device = "cuda"


# ---- cells -----------------------------------------------------------------------------------

class TestRNNCell(CellConformance):
    cell = "rnn"


class TestLSTMCell(CellConformance):
    cell = "lstm"


class TestGRUCell(CellConformance):
    cell = "gru"


# ---- tasks -----------------------------------------------------------------------------------

class TestAddingTask(TaskConformance):
    task = "adding"
    options = {"length": 10, "train_size": 64, "val_size": 40, "test_size": 40}

    def metric_cases(self, task):
        # channel 0 holds the values, channel 1 marks the two to add
        exact = FunctionPredictor(lambda x, mask: (x[..., 0] * x[..., 1]).sum(1, keepdims=True))
        off = FunctionPredictor(lambda x, mask: (x[..., 0] * x[..., 1]).sum(1, keepdims=True) + 0.5)
        return [MetricCase("val", exact, {"mse": 0.0}, abs=1e-12),
                MetricCase("test", off, {"mse": 0.25}, note="every answer 0.5 too high")]


@_needs("seqframe_charlm")
class TestCharLMTask(TaskConformance):
    task = "charlm"
    options = {"max_chars": 4000, "seq_len": 16, "ngram_order": 2, "sample_length": 10,
               "eval_streams": 4}

    def metric_cases(self, task):
        vocab = task.state_dict()["chars"]
        size = len(vocab) + 1  # the training characters plus the reserved <unk>
        uniform = FunctionPredictor(lambda x, mask: np.zeros((*x.shape[:2], size)))
        return [MetricCase("val", uniform, {"loss": math.log(size),
                                            "bits_per_char": math.log2(size),
                                            "perplexity": size},
                           note="equal scores: every character has probability 1/V")]


def _ts_labels(path: Path) -> tuple[list[str], list[str]]:
    """Declared class labels and each case's label, read straight from a UCR .ts file."""
    declared, labels, in_data = [], [], False
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.lower().startswith("@classlabel"):
            declared = line.split()[2:]
        elif line.lower() == "@data":
            in_data = True
        elif in_data and line:
            labels.append(line.rsplit(":", 1)[1].strip())
    return declared, labels


@_needs("seqframe_gesture")
class TestGestureTask(TaskConformance):
    task = "gesture"
    options = {"baselines": False}

    def metric_cases(self, task):
        import seqframe_gesture

        data = Path(seqframe_gesture.__file__).parent / "data"
        declared, test_labels = _ts_labels(data / "PickupGestureWiimoteZ_TEST.ts")
        _, train_labels = _ts_labels(data / "PickupGestureWiimoteZ_TRAIN.ts")
        classes = [c for c in declared if c in set(train_labels)]
        k, n = len(classes), len(test_labels)
        n0 = sum(label == classes[0] for label in test_labels)
        first = FunctionPredictor(lambda x, mask: np.eye(1, k).repeat(len(x), 0))  # logit 1 on 0
        # softmax of (1, 0, ..., 0): p0 = e / (e + k - 1), others 1 / (e + k - 1)
        loss = math.log(math.e + k - 1) - n0 / n
        f1_first = 2 * n0 / (n + n0)  # precision n0/n, recall 1
        return [MetricCase("test", first, {"accuracy": n0 / n, "loss": loss,
                                           "macro_f1": f1_first / k},
                           note="always the first class")]


@_needs("seqframe_timeseries")
class TestTimeseriesTask(TaskConformance):
    task = "timeseries"

    # raw values in and out, so the model's output is the forecast in data units
    options = {"scaler": "none", "normalize": "none", "lookback": 3, "horizon": 1,
               "test_size": 12, "val_size": 12}

    def metric_cases(self, task):
        import csv

        import seqframe_timeseries

        path = Path(seqframe_timeseries.__file__).parent / "data" / "airline.csv"
        with path.open() as fh:
            passengers = np.array([float(row["Passengers"]) for row in csv.DictReader(fh)])
        test = passengers[-12:]  # one-step forecasts of each of the last 12 months
        zero = FunctionPredictor(lambda x, mask: np.zeros((len(x), 1)))
        last = FunctionPredictor(lambda x, mask: x[:, -1, :1])  # unscaled: feature 0 is y
        change = np.abs(np.diff(passengers[-13:]))
        return [
            MetricCase("test", zero, {"mae": test.mean(), "rmse": np.sqrt((test**2).mean()),
                                      "mape": 100.0, "smape": 200.0}, note="forecast 0"),
            MetricCase("test", last, {"mae": change.mean()}, note="persistence"),
        ]


@_needs("seqframe_timeseries")
class TestTimeseriesManySeriesTask(TaskConformance):
    task = "timeseries"
    data = "stocks"  # the built-in many-series set: five stocks, long format, GOOG from 2004

    # per-series scaling and the last-value anchor: a model that outputs 0 forecasts the last
    # observed price, the naive (random-walk) forecast
    options = {"lookback": 12, "horizon": 3, "test_size": 12, "val_size": 6}

    def metric_cases(self, task):
        import csv

        import seqframe_timeseries

        path = Path(seqframe_timeseries.__file__).parent / "data" / "stocks.csv"
        with path.open() as fh:
            rows = list(csv.DictReader(fh))
        errors = []  # |actual - last price| of every test window of every stock
        for symbol in dict.fromkeys(r["symbol"] for r in rows):
            prices = np.array([float(r["price"]) for r in rows if r["symbol"] == symbol])
            # every series ends in 2010-03, the grid's last month: origins in its last 12 months
            for o in range(len(prices) - 12, len(prices) - 2):
                errors.append(np.abs(prices[o:o + 3] - prices[o - 1]))
        errors = np.array(errors)  # (W, 3)
        zero = FunctionPredictor(lambda x, mask: np.zeros((len(x), 3)))
        return [MetricCase("test", zero, {"mae": errors.mean(), "mae_h1": errors[:, 0].mean(),
                                          "mae_h3": errors[:, 2].mean(),
                                          "windows": float(len(errors)), "series": 5.0},
                           note="output 0 = the last observed price")]
