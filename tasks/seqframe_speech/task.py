"""The ``speech`` task: spoken words from WAV files, one label each or connected by CTC.

Data (:mod:`.sources`): FSDD recordings ``{digit}_{speaker}_{index}.wav`` (default: the subset
shipped in ``data/``) or a manifest CSV; official or speaker-independent split, validation
carved from training. Audio (:mod:`.wav`): mono float at ``-o sample_rate``. Features
(:mod:`.features`): 13 MFCCs + deltas + delta-deltas (39) or log-mel, normalised per utterance,
computed once in :meth:`prepare` and kept in memory; SpecAugment masks on training batches only.

``-o mode=words``: one label per recording; readout ``mean`` or ``last``, loss ``cross_entropy``;
metrics ``accuracy``, ``macro_f1`` and ``loss`` (mean cross-entropy, nats, which early stopping
watches); baselines on summary vectors (:mod:`.baselines`); test confusion matrix artefacts.

``-o mode=ctc``: connected utterances generated from one split's recordings (:mod:`.connected`);
class 0 is the CTC blank and class ``k`` the ``k``-th label; readout ``every_step`` with the loss
``ctc`` (provided by the engine); metrics ``loss`` (CTC nats per frame), ``wer``, ``cer`` (the
``-o decoder``), ``wer_greedy``, ``wer_beam``; artefacts ``transcripts.txt`` and
``posteriors.png``. Training batches hold targets ``(B, L)``, label ids padded with the blank.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from seqframe import metrics
from seqframe.errors import DataError
from seqframe.task import ModelSpec, Predictor, Split, Task, Transcript

from . import baselines, connected, evaluation, sources
from .batching import EpochBatches
from .features import FrontEnd, spec_augment
from .options import OPTIONS
from .wav import read_wav

SPLITS = ("train", "val", "test")


class SpeechTask(Task):
    """Speech recognition from WAV files: isolated words or connected digits with CTC."""

    name = "speech"
    description = "recognise spoken words in WAV files (FSDD digits; words or CTC)"
    options = OPTIONS
    run_defaults = {"cell": "lstm", "hidden": 64, "bidirectional": True, "dropout": 0.1,
                    "epochs": 40, "batch_size": 32, "patience": 8, "lr": 3e-3}
    metric = "loss"
    metric_mode = "min"
    # the words-mode baselines (1-NN, nearest centroid) give labels, not probabilities
    baseline_metric = ("accuracy", "max")

    # ---- setup -------------------------------------------------------------------------------

    def configure(self, state: dict[str, Any] | None = None) -> None:
        """The label set and the front end, without reading any data (enough to transcribe)."""
        o = self.opts
        self.labels = tuple(state["labels"]) if state else sources.parse_labels(o["labels"])
        self.frontend = FrontEnd(sample_rate=o["sample_rate"], kind=o["features"],
                                 n_mels=o["n_mels"], n_mfcc=o["n_mfcc"], use_deltas=o["deltas"],
                                 frame_ms=o["frame_ms"], hop_ms=o["hop_ms"])
        self.ctc = o["mode"] == "ctc"
        # CTC outputs: the blank (0) then the labels; words mode: the labels.
        self.class_names = (("<blank>",) if self.ctc else ()) + self.labels

    def _signals(self, recordings: list[sources.Recording]) -> list[np.ndarray]:
        signals, converted = [], Counter()
        for rec in recordings:
            signal, info = read_wav(rec.path, self.opts["sample_rate"], self.opts["resample"])
            converted["stereo"] += info.stereo
            converted[info.source_rate] += info.resampled
            signals.append(signal)
        notes = [f"{converted['stereo']} stereo averaged to mono"] if converted["stereo"] else []
        notes += [f"{n} resampled from {rate} Hz" for rate, n in sorted(
            (k, v) for k, v in converted.items() if k != "stereo" and v)]
        if notes:
            self.log(f"speech: of {len(recordings)} recordings, {', '.join(notes)} (to "
                     f"{self.opts['sample_rate']} Hz mono).")
        self.converted = dict(converted)
        return signals

    def prepare(self, state: dict[str, Any] | None = None) -> ModelSpec:
        """A new run reads (and checks) its data now; a reopened one (``state`` given) only when
        it first needs it, so transcribing with a finished run reads just the files given."""
        self.configure(state)
        self._loaded = False
        if state is None:
            self._load()
        return ModelSpec(input_size=self.frontend.size, output_size=len(self.class_names),
                         readout="every_step" if self.ctc else self.opts["readout"],
                         loss="ctc" if self.ctc else "cross_entropy", stateful=False)

    def _load(self) -> None:
        """Read the recordings, split them, compute the features (once) and, in CTC mode, build
        the utterances."""
        if self._loaded:
            return
        o = self.opts
        recordings, kind = sources.load(self.data)
        sources.check_labels(recordings, self.labels)
        parts = sources.split(recordings, kind, test_speakers=o["test_speakers"],
                              test_fraction=o["test_fraction"], val_fraction=o["val_fraction"],
                              seed=o["split_seed"])
        signals = self._signals(recordings)
        if self.ctc:
            self._prepare_utterances(recordings, signals, parts)
        else:
            self._prepare_words(recordings, signals, parts)
        self._loaded = True

    def _prepare_words(self, recordings, signals, parts) -> None:
        index = {label: k for k, label in enumerate(self.labels)}
        self.sets, self.summaries, self.names = {}, {}, {}
        for split in SPLITS:
            static = [self.frontend.static(signals[i], recordings[i].where) for i in parts[split]]
            y = np.array([index[recordings[i].label] for i in parts[split]], dtype=np.int64)
            self.sets[split] = ([self.frontend.finish(s).astype(np.float32) for s in static], y)
            self.summaries[split] = np.stack([baselines.summary(s) for s in static])
            self.names[split] = [recordings[i].path.name for i in parts[split]]
        self._baseline_cache: dict[str, dict] = {}

    def label_ids(self, words) -> list[int]:
        """CTC targets: word -> class id (the blank is 0)."""
        return [self.labels.index(w) + 1 for w in words]

    def _prepare_utterances(self, recordings, signals, parts) -> None:
        o = self.opts
        recipe = connected.Recipe(o["ctc_min_words"], o["ctc_max_words"], o["ctc_pause_min_ms"],
                                  o["ctc_pause_max_ms"], o["ctc_noise"])
        counts = {"train": o["ctc_train"], "val": o["ctc_eval"], "test": o["ctc_eval"]}
        self.sets, self.transcripts, self.names, skipped = {}, {}, {}, 0
        for stream, split in enumerate(SPLITS):
            made = connected.generate(parts[split], recordings, signals, counts[split],
                                      seed=o["ctc_seed"], stream=stream,
                                      rate=o["sample_rate"], recipe=recipe)
            kept, dropped = connected.keep_feasible(made, self.label_ids, self.frontend.frames)
            skipped += dropped
            if not kept:
                raise DataError(f"no {split} utterance has enough frames for its words (one "
                                "per word and one between equal neighbours); lengthen the "
                                "pauses (-o ctc_pause_min_ms), use fewer words "
                                "(-o ctc_max_words) or a shorter hop (-o hop_ms).")
            feats = [self.frontend(u.signal, f"{split} utterance").astype(np.float32)
                     for u in kept]
            self.sets[split] = (feats, [self.label_ids(u.words) for u in kept])
            self.transcripts[split] = [u.words for u in kept]
            self.names[split] = [f"{split}-{i:04d} ({u.speaker})" for i, u in enumerate(kept)]
        if skipped:
            self.log(f"speech: skipped {skipped} generated utterance(s) with fewer frames than "
                     "CTC needs for their words.")
        self.skipped = skipped

    def state_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "mode": self.opts["mode"],
                "input_size": self.frontend.size}

    # ---- training ----------------------------------------------------------------------------

    def train_batches(self, epoch: int, batch_size: int, seed: int) -> EpochBatches:
        self._load()
        features, targets = self.sets["train"]
        order = np.random.default_rng([seed, epoch, 0x5BEC]).permutation(len(features))
        o = self.opts
        if o["time_masks"] <= 0 and o["freq_masks"] <= 0:
            return EpochBatches(features, targets, order, batch_size, self.ctc)

        def mask(rows: list[np.ndarray], index: int) -> list[np.ndarray]:
            rng = np.random.default_rng([seed, epoch, index, 0xA06])  # same batch, same masks
            return [spec_augment(f, rng, time_masks=o["time_masks"],
                                 time_width=o["time_mask_width"], freq_masks=o["freq_masks"],
                                 freq_width=o["freq_mask_width"],
                                 block=self.frontend.static_size).astype(f.dtype) for f in rows]

        return EpochBatches(features, targets, order, batch_size, self.ctc, mask)

    # ---- evaluation --------------------------------------------------------------------------

    def _split(self, split: str) -> tuple[list[np.ndarray], Any]:
        if split not in ("val", "test"):
            raise DataError(f"the speech task has splits val and test, not {split!r}.")
        self._load()
        return self.sets[split]

    def evaluate(self, predictor: Predictor, split: Split) -> dict[str, float]:
        features, targets = self._split(split)
        if self.ctc:
            log_probs = evaluation.frame_log_probs(predictor, features)
            return evaluation.ctc_metrics(log_probs, targets, self.labels, self.opts["decoder"],
                                          self.opts["beam_width"])
        scores = evaluation.class_scores(predictor, features, len(self.labels))
        log_probs = np.log(evaluation.softmax(scores))
        pred = scores.argmax(1)
        return {"accuracy": metrics.accuracy(targets, pred),
                "macro_f1": metrics.macro_f1(targets, pred),
                "loss": float(-log_probs[np.arange(len(targets)), targets].mean())}

    def baselines(self, split: Split) -> dict[str, dict[str, float]]:
        """Words mode: baselines fitted on training (``val``) or training + validation
        (``test``) recordings. CTC mode has none."""
        if self.ctc or not self.opts["baselines"]:
            return {}
        _, y = self._split(split)
        if split not in self._baseline_cache:
            refs = ["train"] if split == "val" else ["train", "val"]
            ref_x = np.concatenate([self.summaries[s] for s in refs])
            ref_y = np.concatenate([self.sets[s][1] for s in refs])
            self._baseline_cache[split] = baselines.scores(ref_x, ref_y, self.summaries[split],
                                                           y, len(self.labels))
        return self._baseline_cache[split]

    def write_artefacts(self, predictor: Predictor, run_dir: Path) -> list[Path]:
        """Words: ``confusion.txt`` / ``confusion.png`` on the test set; CTC:
        ``transcripts.txt`` and ``posteriors.png`` (the first test utterance)."""
        run_dir = Path(run_dir)
        features, targets = self._split("test")
        if self.ctc:
            return self._ctc_artefacts(predictor, run_dir)
        pred = evaluation.class_scores(predictor, features, len(self.labels)).argmax(1)
        counts = metrics.confusion_matrix(targets, pred, len(self.labels))
        title = (f"speech test confusion (rows true, columns predicted) -- {self.opts['features']}"
                 f", split {self.opts['test_speakers'] or 'official'}")
        text = run_dir / "confusion.txt"
        text.write_text(metrics.confusion_text(counts, self.labels, title), encoding="utf-8")
        return [text, metrics.confusion_png(counts, self.labels, run_dir / "confusion.png", title)]

    def _ctc_artefacts(self, predictor: Predictor, run_dir: Path) -> list[Path]:
        features, _ = self.sets["test"]
        log_probs = evaluation.frame_log_probs(predictor, features)
        decoded = {name: [[self.labels[k - 1] for k in ids] for ids, _ in
                          evaluation.decode_all(log_probs, name, self.opts["beam_width"])]
                   for name in ("greedy", "beam")}
        text = evaluation.write_transcripts(run_dir / "transcripts.txt", self.names["test"],
                                            self.transcripts["test"], decoded["greedy"],
                                            decoded["beam"])
        title = (f"{self.names['test'][0]}: {' '.join(self.transcripts['test'][0])} -> "
                 f"{' '.join(decoded[self.opts['decoder']][0])}")
        png = evaluation.posteriors_png(run_dir / "posteriors.png", features[0], log_probs[0],
                                        self.class_names, title)
        return [text, png]

    # ---- labelling files ---------------------------------------------------------------------

    def _file_features(self, paths: list[Path]) -> list[np.ndarray]:
        out = []
        for path in paths:
            signal, _ = read_wav(path, self.opts["sample_rate"], self.opts["resample"])
            out.append(self.frontend(signal, str(path)).astype(np.float32))
        return out

    def transcribe(self, predictor: Predictor, paths: list[str | Path]) -> list[Transcript]:
        """The words of each WAV file (words mode: the label and its probability).

        Needs :meth:`configure` (or :meth:`prepare`) first; reads only the files given.
        """
        paths = [Path(p) for p in paths]
        features = self._file_features(paths)
        if self.ctc:
            log_probs = evaluation.frame_log_probs(predictor, features)
            decoded = evaluation.decode_all(log_probs, self.opts["decoder"],
                                            self.opts["beam_width"])
            return [Transcript(str(p), tuple(self.labels[k - 1] for k in ids), float(np.exp(s)))
                    for p, (ids, s) in zip(paths, decoded, strict=True)]
        probs = evaluation.softmax(evaluation.class_scores(predictor, features, len(self.labels)))
        return [Transcript(str(p), (self.labels[int(row.argmax())],), float(row.max()))
                for p, row in zip(paths, probs, strict=True)]

    def predict_file(self, predictor: Predictor, *, data: str, out_dir: Path) -> list[Path]:
        """Write ``predictions.csv`` for a WAV file, a folder of them, or a manifest CSV."""
        target = Path(data)
        truth: dict[str, str] = {}
        if target.is_dir():
            paths = sorted(p for p in target.iterdir() if p.suffix.lower() == ".wav")
        elif target.suffix.lower() == ".csv":
            rows = sources.read_manifest(target)
            paths, truth = [r.path for r in rows], {str(r.path): r.label for r in rows}
        else:
            paths = [target]
        if not paths:
            raise DataError(f"{data!r} holds no .wav file to label.")
        results = self.transcribe(predictor, paths)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / "predictions.csv"
        with out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["path", "transcript", "probability"] + (["label"] if truth else []))
            for r in results:
                writer.writerow([r.path, " ".join(r.words), f"{r.probability:.6f}"]
                                + ([truth[r.path]] if truth else []))
        return [out]
