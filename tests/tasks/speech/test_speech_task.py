"""The speech task on the shipped subset and on synthetic folders: preparation, batches,
features computed once, masking on training batches only, CTC data, transcription, artefacts."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from seqframe_speech import connected, features
from seqframe_speech.task import SpeechTask
from seqframe_speech.wav import read_wav

from seqframe.testing import FunctionPredictor
from tests.tasks.speech._audio import SUBSET, as_int16, tone, write_wav


def prepared(data=None, **options):
    task = SpeechTask(options, None if data is None else str(data))
    return task, task.prepare()


def constant_logits(values):
    values = np.asarray(values, dtype=float)
    return FunctionPredictor(lambda x, mask: np.tile(values, (len(x), 1)))


def test_words_mode_on_the_shipped_subset():
    task, spec = prepared()
    assert (spec.input_size, spec.output_size, spec.readout, spec.loss) == (
        39, 10, "mean", "cross_entropy")
    sizes = {split: len(task.sets[split][0]) for split in ("train", "val", "test")}
    assert sizes == {"train": 90, "val": 10, "test": 50}
    x = task.sets["test"][0][0]
    assert x.dtype == np.float32 and x.shape[1] == 39
    batch = task.train_batches(0, 16, seed=0)[0]
    assert batch.inputs.shape[0] == 16 and batch.targets.shape == (16,)
    lengths = batch.mask.sum(1)
    assert (batch.inputs[~batch.mask] == 0).all() and lengths.max() == batch.inputs.shape[1]


def test_hand_computed_metrics_always_zero():
    task, _ = prepared()
    metrics = task.evaluate(constant_logits(np.eye(10)[0]), "test")
    # 5 of the 50 test recordings say "zero"; softmax(1, 0, ..., 0) gives zero e / (e + 9)
    f1_zero = 2 * 0.1 * 1.0 / (0.1 + 1.0)
    assert metrics["accuracy"] == pytest.approx(0.1)
    assert metrics["macro_f1"] == pytest.approx(f1_zero / 10)
    assert metrics["loss"] == pytest.approx(math.log(math.e + 9) - 0.1)


def test_features_are_computed_once(monkeypatch):
    calls = []
    original = features.FrontEnd.static

    def counting(self, signal, where="signal"):
        calls.append(where)
        return original(self, signal, where)

    monkeypatch.setattr(features.FrontEnd, "static", counting)
    task, _ = prepared()
    assert len(calls) == 150  # every recording once
    for epoch in range(3):
        for batch in task.train_batches(epoch, 32, seed=1):
            assert batch.inputs.shape[2] == 39
    task.evaluate(constant_logits(np.zeros(10)), "val")
    task.baselines("test")
    assert len(calls) == 150


def test_masking_touches_training_batches_only():
    plain, _ = prepared()
    task, _ = prepared(time_masks=2, time_mask_width=5, freq_masks=1, freq_mask_width=3)
    a = task.train_batches(0, 8, seed=0)[0]
    b = task.train_batches(0, 8, seed=0)[0]
    ref = plain.train_batches(0, 8, seed=0)[0]
    np.testing.assert_array_equal(a.inputs, b.inputs)  # the batch seed fixes the masks
    np.testing.assert_array_equal(a.targets, ref.targets)
    masked = (a.inputs == 0) & a.mask[..., None]
    assert masked.any() and (a.inputs[~masked] == ref.inputs[~masked]).all()
    seen = []
    task.evaluate(FunctionPredictor(lambda x, mask: seen.append(x.copy()) or
                                    np.zeros((len(x), 10))), "val")
    stored = sorted(task.sets["val"][0], key=len)
    for row, f in zip(seen[0], stored, strict=True):
        np.testing.assert_array_equal(row[: len(f)], f)  # evaluation sees unmasked features


def test_baselines_on_synthetic_tones(tiny_fsdd):
    task, _ = prepared(tiny_fsdd)
    scores = task.baselines("test")
    # 6 test recordings (take 0, 3 digits x 2 speakers); training + validation holds 6 of each
    # digit, so the majority class is the tie's first, "zero": right on 2 of 6
    assert scores["majority_class"]["accuracy"] == pytest.approx(1 / 3)
    assert scores["nearest_centroid"]["accuracy"] == 1.0  # one tone per digit
    assert scores["1nn_euclidean"]["accuracy"] == 1.0
    assert task.baselines("val")["1nn_euclidean"]["accuracy"] == 1.0


def test_conversions_are_counted_in_the_log(tiny_fsdd):
    stereo = as_int16(np.stack([tone(500, 0.3), tone(500, 0.3)], 1))
    write_wav(tiny_fsdd / "1_amy_8.wav", stereo)
    write_wav(tiny_fsdd / "2_amy_8.wav", as_int16(tone(1100, 0.3, 16000)), rate=16000)
    task, notes = SpeechTask({}, str(tiny_fsdd)), []
    task.log = notes.append
    task.prepare()
    assert notes == ["speech: of 26 recordings, 1 stereo averaged to mono, 1 resampled from "
                     "16000 Hz (to 8000 Hz mono)."]


def test_words_transcribe_gives_label_and_probability():
    task = SpeechTask({})
    task.configure()
    logits = np.zeros(10)
    logits[1] = math.log(3.0)  # p(one) = 3 / (3 + 9)
    out = task.transcribe(constant_logits(logits), [SUBSET / "1_george_0.wav",
                                                    SUBSET / "7_lucas_5.wav"])
    assert [(t.words, t.probability) for t in out] == [(("one",), pytest.approx(0.25))] * 2
    assert out[1].path.endswith("7_lucas_5.wav")


def ctc_prepared(**options):
    return prepared(None, mode="ctc", ctc_train=12, ctc_eval=6, **options)


def test_ctc_mode_data_and_batches(monkeypatch):
    pools = {}
    original = connected.generate

    def spy(pool, recordings, *args, stream, **kw):
        pools[stream] = {recordings[i].take for i in pool}
        return original(pool, recordings, *args, stream=stream, **kw)

    monkeypatch.setattr(connected, "generate", spy)
    task, spec = ctc_prepared()
    assert (spec.input_size, spec.output_size, spec.readout, spec.loss) == (
        39, 11, "every_step", "ctc")
    assert pools == {0: {5, 6}, 1: {5, 6}, 2: {0}}  # test utterances from test takes only
    feats, targets = task.sets["train"]
    assert len(feats) == 12 and all(1 <= len(t) <= 7 for t in targets)
    assert [task.labels[k - 1] for k in targets[0]] == list(task.transcripts["train"][0])
    batch = task.train_batches(0, 4, seed=0)[0]
    L = max(len(targets[i]) for i in np.random.default_rng([0, 0, 0x5BEC]).permutation(12)[:4])
    assert batch.targets.shape == (4, L) and batch.targets.dtype == np.int64
    for row, t in zip(batch.targets, [targets[i] for i in np.random.default_rng(
            [0, 0, 0x5BEC]).permutation(12)[:4]], strict=True):
        assert list(row[: len(t)]) == t and not row[len(t):].any()  # padded with the blank


def test_ctc_metrics_of_a_blank_only_model():
    task, _ = ctc_prepared()
    blank = FunctionPredictor(lambda x, mask: np.tile(np.eye(11)[0] * 8.0, (*x.shape[:2], 1)))
    metrics = task.evaluate(blank, "test")
    # nothing is ever emitted: every reference word is a deletion, every character too
    for name in ("wer", "cer", "wer_greedy", "wer_beam", "cer_greedy", "cer_beam"):
        assert metrics[name] == 1.0
    assert metrics["loss"] > 0 and math.isfinite(metrics["loss"])


def test_ctc_artefacts(tmp_path):
    task, _ = ctc_prepared()
    blank = FunctionPredictor(lambda x, mask: np.tile(np.eye(11)[0] * 8.0, (*x.shape[:2], 1)))
    text, png = task.write_artefacts(blank, tmp_path)
    lines = text.read_text().splitlines()
    assert len(lines) == 6 + 2 and lines[-1] == "# WER greedy 1.0000, beam 1.0000"
    first = lines[1].split(" | ")
    assert first[2] == " ".join(task.transcripts["test"][0]) and first[3] == first[4] == ""
    assert png.stat().st_size > 1000


def test_ctc_transcribe_greedy_with_its_path_probability():
    task = SpeechTask({"mode": "ctc", "decoder": "greedy"})
    task.configure()

    def two_in_the_middle(x, mask):
        T = x.shape[1]
        out = np.zeros((*x.shape[:2], 11))
        out[:, :, 0] = 10.0
        out[:, T // 3 : 2 * T // 3, 0] = 0.0
        out[:, T // 3 : 2 * T // 3, 3] = 10.0  # class 3 = "two"
        return out

    (result,) = task.transcribe(FunctionPredictor(two_in_the_middle),
                                [SUBSET / "2_nicolas_0.wav"])
    frames = task.frontend.frames(len(read_wav(SUBSET / "2_nicolas_0.wav", 8000)[0]))
    p_frame = math.exp(10) / (math.exp(10) + 10)
    assert result.words == ("two",)
    assert result.probability == pytest.approx(p_frame**frames, rel=1e-9)


def test_predict_file_on_a_folder_and_a_manifest(tmp_path):
    task, _ = prepared()
    logits = np.eye(10)[4] * 2.0
    folder = tmp_path / "in"
    for name in ("4_george_0.wav", "5_jackson_0.wav"):
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes((SUBSET / name).read_bytes())
    (out,) = task.predict_file(constant_logits(logits), data=str(folder), out_dir=tmp_path / "a")
    rows = list(csv.DictReader(out.read_text().splitlines()))
    p4 = math.exp(2) / (math.exp(2) + 9)
    assert [(r["transcript"], float(r["probability"])) for r in rows] == [
        ("four", pytest.approx(p4, abs=1e-6))] * 2
    manifest = folder / "m.csv"
    manifest.write_text("path,transcript\n4_george_0.wav,four\n5_jackson_0.wav,five\n")
    (out,) = task.predict_file(constant_logits(logits), data=str(manifest),
                               out_dir=tmp_path / "b")
    assert [r["label"] for r in csv.DictReader(out.read_text().splitlines())] == ["four", "five"]


def test_ctc_utterances_too_short_for_their_words_are_skipped_and_counted(tiny_fsdd):
    # quarter-second frames, no pauses: seven words of 0.3-0.4 s give 8-11 frames, fewer than
    # CTC needs when the words repeat (each repeat needs a blank frame between)
    options = {"mode": "ctc", "ctc_train": 30, "ctc_eval": 10, "ctc_min_words": 7,
               "frame_ms": 250.0, "hop_ms": 250.0, "ctc_pause_min_ms": 0.0,
               "ctc_pause_max_ms": 0.0}
    task, notes = SpeechTask(options, str(tiny_fsdd)), []
    task.log = notes.append
    task.prepare()
    kept = sum(len(task.sets[s][0]) for s in ("train", "val", "test"))
    assert 0 < task.skipped and kept + task.skipped == 50
    assert notes == [f"speech: skipped {task.skipped} generated utterance(s) with fewer frames "
                     "than CTC needs for their words."]
    for feats, labels in zip(*task.sets["train"], strict=True):
        assert len(feats) >= len(labels) + sum(a == b for a, b in zip(labels[:-1], labels[1:],
                                                                       strict=True))
