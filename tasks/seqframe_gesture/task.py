"""The ``gesture`` task: classify whole (variable-length, multichannel) sequences.

Data: UCR/UEA ``.ts`` train/test pairs (see :mod:`.sources`), default the built-in
PickupGestureWiimoteZ. Variable lengths are kept: each batch is padded to its longest series and
masked, nothing is resampled. A stratified validation split (``-o val_fraction``, seeded by
``-o split_seed``) is carved from the training file for early stopping; the test file is only
scored for the final report. Normalisation (``-o normalize``) and the missing-value policy
(``-o missing``) are described in :mod:`.prep`; scalers are fitted on the training part only.
A built-in data set brings its recommended inputs for the options not given
(:data:`.sources.RECOMMENDED`: the default data is z-normalised per series, downsampled by 4,
augmented and given 32 random convolution features).

Readout ``mean`` (default), ``max`` or ``last`` (``-o readout``), loss ``cross_entropy`` over the
classes; metrics ``accuracy``, ``macro_f1`` and ``loss`` (mean cross-entropy per series, nats),
which early stopping watches because on a few dozen validation series accuracy moves in coarse
steps.
Baselines: ``majority_class``, ``1nn_euclidean``, ``1nn_dtw`` on the same scaled series the model
sees (without the ``-o kernels`` channels, which are features of those series).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from seqframe import metrics
from seqframe.errors import ConfigError, DataError
from seqframe.task import Batch, InputView, ModelSpec, Predictor, Split, Task, TaskOption

from . import baselines as nn
from . import kernels, prep, sources
from .batching import EpochBatches, pad_batch, stratified_split
from .tsformat import TsData, read_ts

EVAL_ROWS = 256  # series per predictor call during evaluation
SPLITS = ("val", "test")


class GestureTask(Task):
    """Sequence classification on UCR/UEA ``.ts`` data (gestures, speech, sensors)."""

    name = "gesture"
    description = "classify variable-length sensor sequences (UCR/UEA .ts; Pickup gestures)"
    options = (
        TaskOption("readout", str, "mean", "how a sequence becomes one output: the mean over "
                   "valid steps, the last valid step, or each feature's largest value over "
                   "valid steps.", ("mean", "last", "max")),
        TaskOption("normalize", str, "channel", "channel: per-channel z-score fitted on the "
                   "training part; series: z-normalise each series (UCR convention); none.",
                   prep.NORMALIZATIONS),
        TaskOption("missing", str, "interpolate", "missing values inside a series: interpolate "
                   "linearly, zero (mean after normalising) or error.", prep.MISSING_POLICIES),
        TaskOption("val_fraction", float, 0.2, "share of each class of the training file held "
                   "out for validation / early stopping."),
        TaskOption("split_seed", int, 0, "seed of the stratified validation split."),
        TaskOption("downsample", int, 1, "average blocks of this many steps (1 = keep all)."),
        TaskOption("differences", bool, False, "append each channel's first difference as an "
                   "extra input channel (after normalising)."),
        TaskOption("elapsed", bool, False, "append the time elapsed since the series began "
                   "(steps / longest training series) as an input channel, so the model can "
                   "tell how long a gesture took."),
        TaskOption("kernels", int, 0, "append this many random dilated convolution features "
                   "(ROCKET-style, fixed, not trained) as input channels; 0 = off."),
        TaskOption("kernel_seed", int, 0, "seed of the random kernels (-o kernels)."),
        TaskOption("augment", float, 0.0, "training-batch augmentation strength: random time "
                   "stretch, gain and noise (0 = off)."),
        TaskOption("test", str, None, "test .ts file (default: X_TEST.ts beside X_TRAIN.ts)."),
        TaskOption("baselines", bool, True, "score the 1-NN Euclidean / DTW baselines."),
        TaskOption("hf_series", str, "series",
                   "hf: column(s) holding the series, comma-separated."),
        TaskOption("hf_label", str, "label", "hf: column holding the class label."),
        TaskOption("hf_layout", str, "channels_first", "hf: a list of lists is channels x time "
                   "or time x channels.", ("channels_first", "time_first")),
        TaskOption("hf_train_split", str, "train", "hf: training split name."),
        TaskOption("hf_test_split", str, "test", "hf: test split name."),
    )
    # A small ensemble of small bidirectional models with early stopping: UCR training sets are
    # tens to hundreds of series, and a validation split of a few per class is a noisy guide, so
    # three members with their own splits (member_options) beat one model: on the default data
    # test accuracy 0.78/0.74/0.74 for seeds 0-2 against one model's 0.68-0.74 and the best
    # baseline's 0.66 (docs/tasks/gesture.md). docs/benchmarks/gesture-*.toml tune per data set.
    run_defaults = {"cell": "lstm", "hidden": 32, "bidirectional": True, "dropout": 0.3,
                    "epochs": 400, "batch_size": 8, "patience": 60, "lr": 3e-3,
                    "weight_decay": 1e-4, "ensemble": 3}
    metric = "loss"
    metric_mode = "min"
    # the 1-NN baselines have no probabilities, hence no loss: compare with them on accuracy
    baseline_metric = ("accuracy", "max")

    def __init__(self, options: dict[str, Any] | None = None, data: str | None = None):
        super().__init__(options, data)
        # a built-in data set's recommended inputs, for the options the user did not give
        from seqframe.hfdata import is_hf_spec

        name = None if is_hf_spec(data) else sources.builtin_name(data)
        given = set(options or {})
        self.opts.update({key: value for key, value in sources.RECOMMENDED.get(name, {}).items()
                          if key not in given})

    # ---- data --------------------------------------------------------------------------------

    def _load(self) -> tuple[TsData, TsData]:
        from seqframe.hfdata import is_hf_spec

        if is_hf_spec(self.data):
            return sources.load_hf_pair(self.data, self.opts)
        name = sources.builtin_name(self.data)
        if name is not None:
            return sources.load_builtin(name, self.opts["test"])
        return sources.load_files(self.data, self.opts["test"])

    def _clean(self, data: TsData) -> list[np.ndarray]:
        out = []
        for i, series in enumerate(data.series):
            where = f"{data.path}, series {i}"
            series = prep.fill_missing(prep.trim_padding(series, where), self.opts["missing"],
                                       where)
            out.append(prep.downsample(series, self.opts["downsample"]))
        return out

    def _scale(self, series: list[np.ndarray]) -> list[np.ndarray]:
        mode = self.opts["normalize"]
        out = [prep.finish(prep.normalise(s, mode, self.scaler)) for s in series]
        return [prep.with_differences(s) for s in out] if self.opts["differences"] else out

    def _features(self, series: list[np.ndarray]) -> list[np.ndarray]:
        """What the model reads: the scaled series plus the kernel and elapsed-time channels.

        Computed after augmentation, so a stretched training series has a stretched duration.
        """
        out = [kernels.with_kernel_features(s, self.bank) for s in series]
        if self.opts["elapsed"]:
            out = [prep.with_elapsed(s, self.kernel_span) for s in out]
        return out

    @staticmethod
    def _require_labels(data: TsData, role: str) -> None:
        if data.labels is None:
            raise DataError(
                f"the {role} file {data.path!r} has no class labels (@classLabel false); the "
                f"{role} set needs them. Use `seqframe predict` to label unlabelled series."
            )

    def _encode(self, data: TsData, role: str) -> np.ndarray:
        self._require_labels(data, role)
        index = {c: i for i, c in enumerate(self.classes)}
        unseen = sorted(set(data.labels) - set(index))
        if unseen:
            raise DataError(
                f"the {role} file {data.path!r} has class label(s) {', '.join(unseen)} that the "
                f"training file never uses (it has {', '.join(self.classes)}); a classifier "
                "cannot predict them. Use a test file whose classes occur in training."
            )
        return np.array([index[label] for label in data.labels], dtype=np.int64)

    def _check_channels(self, data: TsData, what: str) -> None:
        if data.n_channels != self.input_size:
            raise DataError(
                f"the {what} {data.path!r} has {data.n_channels} channel(s) per series but the "
                f"training data has {self.input_size}; both must come from the same problem."
            )

    def prepare(self, state: dict[str, Any] | None = None) -> ModelSpec:
        if self.opts["kernels"] < 0:
            raise ConfigError(
                f"option 'kernels' must be 0 (off) or a positive count, got {self.opts['kernels']}."
            )
        train, test = self._load()
        self.problem = train.header.problem_name or Path(train.path).stem
        self._require_labels(train, "training")
        declared = train.header.class_labels
        present = set(train.labels)
        self.classes = tuple(state["classes"]) if state else (
            tuple(c for c in declared if c in present) if declared
            else sources.label_order(train.labels))
        self.input_size = train.n_channels
        self._check_channels(test, "test file")
        y_train, y_test = self._encode(train, "training"), self._encode(test, "test")
        fit, val = stratified_split(y_train, self.opts["val_fraction"], self.opts["split_seed"])
        raw_train, raw_test = self._clean(train), self._clean(test)
        self.scaler = state.get("scaler") if state else None
        if state is None and self.opts["normalize"] == "channel":
            mean, std = prep.fit_channel_scaler([raw_train[i] for i in fit])
            self.scaler = {"mean": mean, "std": std}
        x_train, x_test = self._scale(raw_train), self._scale(raw_test)
        self.sets = {
            "train": ([x_train[i] for i in fit], y_train[fit]),
            "val": ([x_train[i] for i in val], y_train[val]),
            "test": (x_test, y_test),
            "train_full": (x_train, y_train),
        }
        # The longest training series is the kernels' widest span and the elapsed channel's
        # unit (as stored, so a run reopened for `predict` rebuilds the same features whatever
        # data it is given).
        self.kernel_span = state.get("kernel_span") if state else max(len(s) for s in x_train)
        self.channels = x_train[0].shape[1]  # the scaled series' channels (with differences)
        self.bank = self._bank(self.opts["kernel_seed"])
        self.model_inputs = {split: self._features(self.sets[split][0]) for split in SPLITS}
        self._baseline_cache: dict[str, dict] = {}
        extra = len(self.bank) + int(self.opts["elapsed"])
        return ModelSpec(input_size=self.channels + extra, output_size=len(self.classes),
                         readout=self.opts["readout"], loss="cross_entropy", stateful=False)

    def _bank(self, seed: int) -> list[kernels.Kernel]:
        return kernels.make_bank(self.opts["kernels"], self.channels, self.kernel_span, seed)

    def state_dict(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "scaler": self.scaler,
                "input_size": self.input_size, "problem": self.problem,
                "kernel_span": self.kernel_span}

    def member_options(self, member: int) -> dict[str, Any]:
        """Each ensemble member holds out its own validation split (``split_seed + member``)
        and, with ``-o kernels``, draws its own random kernels (``kernel_seed + member``).

        With a few dozen training series one small validation split is a poor guide for early
        stopping; different splits per member spread that error and let the ensemble learn from
        every training series. Different kernels give the members different views of each
        series, so their errors agree less and the average gains more (the ensemble as a whole
        sees ``K x kernels`` random features, as ROCKET sees thousands).
        """
        changes = {"split_seed": self.opts["split_seed"] + member}
        if self.opts["kernels"]:
            changes["kernel_seed"] = self.opts["kernel_seed"] + member
        return changes

    def input_view(self, options: dict[str, Any]) -> InputView | None:
        """A member with another ``kernel_seed`` reads its own kernels' responses.

        The kernel channels are recomputed from the series channels of each (padded) batch:
        the batch's zero padding past a series' end is the convolution's own zero padding, so
        every valid step gets exactly what the member's own task computes.
        """
        seed = self.parse_options(options)["kernel_seed"]
        if not self.bank or seed == self.opts["kernel_seed"]:
            return None
        bank, width = self._bank(seed), self.channels + len(self.bank)

        def view(inputs: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
            out = np.array(inputs, dtype=np.float64)  # (B, T, D'), a copy
            lengths = mask.sum(axis=1) if mask is not None else [out.shape[1]] * len(out)
            for row, length in enumerate(lengths):
                series = out[row, :length, : self.channels]
                out[row, :length, :width] = kernels.with_kernel_features(series, bank)
            return out

        return view

    def train_batches(self, epoch: int, batch_size: int, seed: int) -> EpochBatches:
        series, y = self.sets["train"]
        order = np.random.default_rng([seed, epoch, 0x6E57]).permutation(len(series))
        strength = self.opts["augment"]
        if strength <= 0:
            return EpochBatches(series, y, order, batch_size, lambda rows, _: self._features(rows))

        def distort(rows: list[np.ndarray], index: int) -> list[np.ndarray]:
            rng = np.random.default_rng([seed, epoch, index, 0xA06])
            return self._features([prep.augment(s, strength, rng) for s in rows])

        return EpochBatches(series, y, order, batch_size, distort)

    # ---- evaluation --------------------------------------------------------------------------

    def logits(self, predictor: Predictor, series: list[np.ndarray]) -> np.ndarray:
        """Raw scores ``(N, O)``; series are grouped by length so batches carry little padding."""
        order = np.argsort([len(s) for s in series], kind="stable")
        out = np.empty((len(series), len(self.classes)))  # (N, O)
        for start in range(0, len(order), EVAL_ROWS):
            rows = order[start : start + EVAL_ROWS]
            batch: Batch = pad_batch([series[r] for r in rows], np.zeros(len(rows)))
            scores, _ = predictor.predict(batch.inputs, batch.mask)
            out[rows] = np.asarray(scores, dtype=np.float64)
        return out

    def _split(self, split: str) -> tuple[list[np.ndarray], np.ndarray]:
        if split not in ("val", "test"):
            raise DataError(f"the gesture task has splits val and test, not {split!r}.")
        return self.sets[split]

    def evaluate(self, predictor: Predictor, split: Split) -> dict[str, float]:
        _, y = self._split(split)
        scores = self.logits(predictor, self.model_inputs[split])
        log_probs = scores - scores.max(1, keepdims=True)
        log_probs -= np.log(np.exp(log_probs).sum(1, keepdims=True))
        pred = scores.argmax(1)
        return {"accuracy": metrics.accuracy(y, pred), "macro_f1": metrics.macro_f1(y, pred),
                "loss": float(-log_probs[np.arange(len(y)), y].mean())}

    def baselines(self, split: Split) -> dict[str, dict[str, float]]:
        """1-NN baselines; references: the training part (``val``) or the whole file (``test``)."""
        if not self.opts["baselines"]:
            return {}
        if split not in self._baseline_cache:
            queries, y = self._split(split)
            refs, y_ref = self.sets["train" if split == "val" else "train_full"]
            majority = np.full(len(y), np.bincount(y_ref).argmax())
            preds = {"majority_class": majority,
                     "1nn_euclidean": nn.one_nn(nn.euclidean_distances(queries, refs), y_ref),
                     "1nn_dtw": nn.one_nn(nn.dtw_distances(queries, refs), y_ref)}
            self._baseline_cache[split] = {
                name: {"accuracy": metrics.accuracy(y, p), "macro_f1": metrics.macro_f1(y, p)}
                for name, p in preds.items()}
        return self._baseline_cache[split]

    def _conventions(self) -> str:
        o = self.opts
        return (f"{self.problem}; normalize={o['normalize']}, missing={o['missing']}, "
                f"downsample={o['downsample']}, differences={o['differences']}, "
                f"kernels={o['kernels']}, elapsed={o['elapsed']}, readout={o['readout']}")

    def write_artefacts(self, predictor: Predictor, run_dir: Path) -> list[Path]:
        """Test-set confusion matrix as ``confusion.txt`` and ``confusion.png``."""
        y = self.sets["test"][1]
        pred = self.logits(predictor, self.model_inputs["test"]).argmax(1)
        counts = metrics.confusion_matrix(y, pred, len(self.classes))
        title = f"test confusion (rows true, columns predicted) -- {self._conventions()}"
        run_dir = Path(run_dir)
        text = run_dir / "confusion.txt"
        text.write_text(metrics.confusion_text(counts, self.classes, title), encoding="utf-8")
        png = metrics.confusion_png(counts, self.classes, run_dir / "confusion.png", title)
        return [text, png]

    # ---- `seqframe predict` ------------------------------------------------------------------

    def predict_file(self, predictor: Predictor, *, data: str, out_dir: Path) -> list[Path]:
        """Write ``predictions.csv``: predicted label and softmax probability of every class."""
        cases = read_ts(data)
        self._check_channels(cases, "file")
        series = self._scale(self._clean(cases))
        scores = self.logits(predictor, self._features(series))
        probs = np.exp(scores - scores.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "predictions.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            has_labels = cases.labels is not None
            writer.writerow(["index", "length", "predicted", *(["label"] if has_labels else []),
                             *(f"p_{c}" for c in self.classes)])
            for i, (s, p) in enumerate(zip(series, probs, strict=True)):
                row = [i, len(s), self.classes[int(p.argmax())]]
                row += [cases.labels[i]] if has_labels else []
                writer.writerow(row + [f"{v:.6f}" for v in p])
        return [path]
