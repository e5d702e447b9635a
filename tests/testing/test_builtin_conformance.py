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

from seqframe.cells import LayerNormGRUCell, LayerNormLSTMCell
from seqframe.testing import (
    BackendConformance,
    CellConformance,
    FunctionPredictor,
    LossConformance,
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


# ---- losses ----------------------------------------------------------------------------------

class TestCrossEntropyLoss(LossConformance):
    loss = "cross_entropy"


class TestMSELoss(LossConformance):
    loss = "mse"


class TestGaussianNLLLoss(LossConformance):
    loss = "gaussian_nll"


class TestSampledSoftmaxLoss(LossConformance):
    loss = "sampled_softmax"
    options = {"samples": 4}  # fewer than O = 5 classes: some classes are never drawn
    size = 5


class TestSampledSoftmaxPopularityLoss(LossConformance):
    loss = "sampled_softmax"
    options = {"samples": 6, "sampler": "popularity", "alpha": 0.5}
    size = 4
    class_frequencies = (40, 9, 1, 0)  # a class never seen still gets a little probability


class _LayerNormCells(CellConformance):
    """``--layer-norm``: the variants are registered through their plain cells."""

    def test_window_gradients(self, backend_name: str) -> None:
        # Finite differences of a whole LN model take ~10 s on numpy and twice that on torch's
        # small-tensor overhead. The torch generic path runs the same cell code and matches the
        # numpy window to 1e-9 in float64 (test_window_parity_with_numpy), so numpy's check
        # covers it.
        if backend_name != "numpy":
            pytest.skip("torch's LN window equals numpy's to 1e-9 (parity); numpy is FD-checked")
        super().test_window_gradients(backend_name)


class TestLayerNormLSTMCell(_LayerNormCells):
    cell = LayerNormLSTMCell


class TestLayerNormGRUCell(_LayerNormCells):
    cell = LayerNormGRUCell


# BPR-max and TOP1-max with sampled negatives only: a row's in-batch negatives are the other
# rows' targets, so with them (in_batch > 0) two halves of a batch are not the whole batch --
# by design, as in GRU4Rec -- and the suite's reduction check cannot hold
# (tests/tasks/nextitem/test_nextitem_losses.py covers in-batch negatives).
@_needs("seqframe_nextitem")
class TestBPRMaxLoss(LossConformance):
    loss = "bpr_max"  # registered by the nextitem task's plugin
    options = {"samples": 5, "in_batch": 0, "alpha": 0.5, "reg": 0.3}
    size = 6
    class_frequencies = (0, 12, 5, 3, 1, 0)  # 0 (padding) and 5 (never trained on): never drawn


@_needs("seqframe_nextitem")
class TestTOP1MaxLoss(LossConformance):
    loss = "top1_max"
    options = {"samples": 4, "in_batch": 0, "alpha": 0.0}
    size = 5
    class_frequencies = (0, 3, 3, 2, 1)


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


@_needs("seqframe_speech")
class TestSpeechTask(TaskConformance):
    task = "speech"
    options = {"baselines": False}

    def metric_cases(self, task):
        import seqframe_speech

        pytest.importorskip("scipy")
        data = Path(seqframe_speech.__file__).parent / "data"
        # the official split's test set: take 0 of every digit and speaker, named d_speaker_0.wav
        test = [p.name for p in data.glob("*_0.wav")]
        n, n0, k = len(test), sum(name.startswith("0_") for name in test), 10
        first = FunctionPredictor(lambda x, mask: np.eye(1, k).repeat(len(x), 0))  # logit 1 on 0
        f1_first = 2 * n0 / (n + n0)  # precision n0/n, recall 1
        return [MetricCase("test", first, {"accuracy": n0 / n, "macro_f1": f1_first / k,
                                           "loss": math.log(math.e + k - 1) - n0 / n},
                           note="always 'zero'")]
@_needs("seqframe_speech")
class TestSpeechCTCTask(TaskConformance):
    task = "speech"
    options = {"mode": "ctc", "ctc_train": 12, "ctc_eval": 5, "beam_width": 4}

    def metric_cases(self, task):
        pytest.importorskip("scipy")
        features, targets = task.sets["test"]
        V = 11  # the blank and ten digits
        blank = FunctionPredictor(lambda x, mask: np.tile(np.eye(V)[0] * 9.0, (*x.shape[:2], 1)))
        uniform = FunctionPredictor(lambda x, mask: np.zeros((*x.shape[:2], V)))
        # Every path has probability V**-T under uniform outputs, and the paths of l are the
        # ways to cut T frames into 2L + 1 runs: L label runs of >= 1 frame, blank runs of >= 0
        # (>= 1 between two equal labels, R of them): C(T + L - R, 2L) of them.
        nll = 0.0
        for f, labels in zip(features, targets, strict=True):
            T, L = len(f), len(labels)
            R = sum(a == b for a, b in zip(labels[:-1], labels[1:], strict=True))
            nll += T * math.log(V) - math.log(math.comb(T + L - R, 2 * L))
        frames = sum(len(f) for f in features)
        never = dict.fromkeys(("wer", "cer", "wer_greedy", "wer_beam", "cer_greedy",
                               "cer_beam"), 1.0)
        return [MetricCase("test", blank, never, note="only blanks: every word deleted"),
                MetricCase("test", uniform, {"loss": nll / frames, "wer_greedy": 1.0},
                           rel=1e-9, note="uniform outputs: counted paths; greedy picks blank")]


NEXTITEM_DATA = Path(__file__).resolve().parents[1] / "tasks" / "nextitem" / "data"


def _scores_by_id(width: int, sign: float = 1.0) -> FunctionPredictor:
    """Every step scores item i as sign * i; ``width`` is the catalogue plus padding (id 0)."""
    return FunctionPredictor(lambda x, mask: sign * np.broadcast_to(
        np.arange(width, dtype=float), (*x.shape, width)))


@_needs("seqframe_nextitem")
class TestNextItemTask(TaskConformance):
    task = "nextitem"
    data = str(NEXTITEM_DATA / "tiny.inter")

    def metric_cases(self, task):
        # tiny.inter, items 10..80 -> ids 1..8; user 1: 10 20 30 50 -> 1 2 3 5, user 2: 80 70 60
        # -> 8 7 6, user 3 (2 events) trains only. Test targets 5 (history 1 2 3) and 6 (8 7);
        # validation targets 3 (history 1 2) and 7 (8). Fewer than 100 items are left to
        # sample, so the negatives are every item the user never had.
        def dcg(rank):
            return 1 / math.log2(rank + 2)

        width = len(task.state_dict()["items"]) + 1
        up, down = _scores_by_id(width), _scores_by_id(width, -1.0)
        flat = FunctionPredictor(lambda x, mask: np.zeros((*x.shape, width)))
        return [
            # test, score = id: user 1 has 6 7 8 ahead of 5 among {4..8} (rank 3), user 2 none
            MetricCase("test", up, {"full_hr@10": 1.0, "full_ndcg@10": (dcg(3) + 1) / 2,
                                    "hr@10": 1.0, "ndcg@10": (dcg(3) + 1) / 2}),
            # validation, score = id: full user 1 ranks 3 behind 4..8 (rank 5), sampled behind
            # its negatives 4 6 7 8 (rank 4); user 2's 7 has only the excluded 8 above it
            MetricCase("val", up, {"full_ndcg@10": (dcg(5) + 1) / 2,
                                   "ndcg@10": (dcg(4) + 1) / 2}),
            # score = -id: user 1's 5 trails 4 (rank 1), user 2's 6 trails 1..5 (rank 5)
            MetricCase("test", down, {"full_ndcg@10": (dcg(1) + dcg(5)) / 2}),
            # all tied: the true item ranks after every other candidate: full 4 and 5 of them
            # ({4..8} and {1..6}), sampled 4 and 5 ({4 6 7 8} and {1..5})
            MetricCase("test", flat, {"full_ndcg@10": (dcg(4) + dcg(5)) / 2,
                                      "ndcg@10": (dcg(4) + dcg(5)) / 2},
                       note="ties count against the model"),
        ]


@_needs("seqframe_nextitem")
class TestNextItemSessionTask(TaskConformance):
    task = "nextitem"
    data = str(NEXTITEM_DATA / "sessions.csv")
    options = {"protocol": "session", "batching": "parallel", "session_gap": 100.0,
               "val_fraction": 0.2, "test_fraction": 0.2, "user": "user", "item": "item",
               "time": "time"}
    batch_size = 2  # three training sessions

    def metric_cases(self, task):
        # sessions (gap 100 s), by end time: 1 2 3 | 2 1 | 4 5 | 3 6 2 | 5 4. The last is test,
        # the one before validation; item 6 never occurs in training, so validation is 3 2.
        # score = id over items 1..6: 2 trails 3 4 5 6 (rank 4), 4 trails 5 6 (rank 2).
        by_id = _scores_by_id(len(task.state_dict()["items"]) + 1)
        return [MetricCase("val", by_id, {"mrr@20": 1 / 5, "recall@20": 1.0}),
                MetricCase("test", by_id, {"mrr@20": 1 / 3, "recall@20": 1.0})]
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


class _ReferenceTranslator:
    """'Translates' every sentence of a split into its own reference, read from the data files,
    with uniform scores: BLEU and chrF 100 and a loss of ln V, worked out without the task."""

    def __init__(self, task, split):
        import seqframe_translate

        folder = Path(seqframe_translate.__file__).parent / "data"
        sources = (folder / f"{split}.de").read_text("utf-8").splitlines()
        targets = (folder / f"{split}.en").read_text("utf-8").splitlines()
        self.vocab = task.target.size
        self.table = {tuple(task.source.encode(s)): task.target.encode(t)
                      for s, t in zip(sources, targets, strict=True)}

    def logits(self, batch):
        return np.zeros((*batch.target_in.shape, self.vocab))

    def translate(self, source, source_mask, *, beam, max_len, length_penalty=1.0):
        return [self.table[tuple(row[mask][:-1].tolist())] + [3]
                for row, mask in zip(source, source_mask, strict=True)]


@_needs("seqframe_translate")
class TestTranslateTask(TaskConformance):
    task = "translate"
    options = {"attention_plots": 1, "min_freq": 1, "lowercase": False}

    def metric_cases(self, task):
        pytest.importorskip("sacrebleu")
        V = task.target.size
        # cased, and every word of the sample's test references seen in training (min_freq 1)
        return [MetricCase("test", _ReferenceTranslator(task, "test"),
                           {"bleu": 100.0, "chrf": 100.0, "loss": math.log(V),
                            "perplexity": float(V)}, rel=1e-9, note="its own references")]
