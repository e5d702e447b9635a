"""The speech task through the command line: training end to end on the shipped subset, labelling
files with the trained run, and every bad input as exit code 2 with its message."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from seqframe.errors import ExitCode
from tests.tasks.speech._audio import SUBSET, as_int16, tone, write_wav


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def test_trains_end_to_end_and_labels_files(sf, tmp_path):
    run = tmp_path / "run"
    code, _, err = sf("run", "--task", "speech", "--backend", "numpy", "--epochs", "2",
                      "--hidden", "16", "--batch-size", "16", "--out", str(run), "--quiet")
    assert code == 0, err
    s = summary(run)
    assert s["task"] == "speech" and s["epochs"] == 2
    for split in ("val", "test"):
        assert set(s["metrics"][split]) == {"accuracy", "macro_f1", "loss"}
        assert 0.0 <= s["metrics"][split]["accuracy"] <= 1.0
    assert set(s["baselines"]) == {"majority_class", "nearest_centroid", "1nn_euclidean"}
    assert s["baselines"]["majority_class"]["accuracy"] == pytest.approx(0.1)  # 5 of each digit
    # compared with its baselines on validation accuracy (they have no loss)
    comparison = s["baseline_comparison"]
    assert comparison["metric"] == "accuracy" and comparison["split"] == "val"
    assert s["beats_best_baseline"] == (s["metrics"]["val"]["accuracy"]
                                        > max(comparison["baselines"].values()))
    assert (run / "confusion.png").stat().st_size > 1000
    assert (run / "confusion.txt").read_text().splitlines()[-1].endswith(
        f"({s['metrics']['test']['accuracy']:.4f})")
    code, out, err = sf("predict", str(run), "--data", str(SUBSET / "3_lucas_0.wav"))
    assert code == 0, err
    (row,) = list(csv.DictReader((run / "predictions.csv").read_text().splitlines()))
    assert row["transcript"] in {"zero", "one", "two", "three", "four", "five", "six", "seven",
                                 "eight", "nine"} and 0.0 < float(row["probability"]) <= 1.0
    code, out, err = sf("transcribe", str(run), str(SUBSET / "3_lucas_0.wav"))
    assert code == 0, err
    header, rule, line = out.splitlines()
    assert header.split() == ["file", "transcript", "probability"] and set(rule) <= {"-", " "}
    path, label, probability = line.split()
    assert path.endswith("3_lucas_0.wav") and label == row["transcript"]
    assert float(probability) == pytest.approx(float(row["probability"]), rel=1e-3)


def test_ctc_trains_on_numpy_and_its_checkpoint_transcribes_identically_on_torch(sf, tmp_path):
    pytest.importorskip("torch")
    import seqframe

    run = tmp_path / "ctc"
    code, _, err = sf("run", "--task", "speech", "--backend", "numpy", "--dtype", "float64",
                      "-o", "mode=ctc", "-o", "ctc_train=24", "-o", "ctc_eval=6", "--steps", "3",
                      "--hidden", "8", "--batch-size", "8", "--out", str(run), "--quiet")
    assert code == 0, err
    s = summary(run)
    for split in ("val", "test"):
        assert {"loss", "wer", "cer", "wer_greedy", "wer_beam"} <= set(s["metrics"][split])
        assert s["metrics"][split]["wer"] == s["metrics"][split]["wer_beam"]  # the default
    lines = (run / "transcripts.txt").read_text().splitlines()
    assert len(lines) == 2 + len(lines[1:-1]) and lines[-1].startswith("# WER greedy")
    assert (run / "posteriors.png").stat().st_size > 1000
    files = [str(SUBSET / name) for name in ("4_george_0.wav", "7_yweweler_5.wav")]
    by_backend = {b: seqframe.load(run, backend=b).transcribe(files) for b in ("numpy", "torch")}
    assert [t.path for t in by_backend["numpy"]] == files
    # a barely trained model emits words (near-uniform posteriors), which makes the comparison
    # one of real decodings, not of two empty strings
    assert any(t.words for t in by_backend["numpy"])
    for a, b in zip(by_backend["numpy"], by_backend["torch"], strict=True):
        assert a.words == b.words and a.probability == pytest.approx(b.probability, rel=1e-9)
    code, out, err = sf("transcribe", str(run), *files, "--backend", "torch")
    assert code == 0, err
    for result, line in zip(by_backend["torch"], out.splitlines()[2:], strict=True):
        assert line.split()[1:-1] == list(result.words)
    (tmp_path / "notes.wav").write_text("not audio")
    for bad, match in ((tmp_path / "gone.wav", "gone.wav"), (tmp_path / "notes.wav",
                                                              "notes.wav' as a WAV file")):
        code, _, err = sf("transcribe", str(run), str(bad))
        assert code == 2 and match in err, err


def test_transcribe_needs_a_task_that_transcribes(sf, tmp_path):
    code, _, err = sf("run", "--task", "adding", "--steps", "1", "--out", str(tmp_path / "a"),
                      "--quiet")
    assert code == 0, err
    code, _, err = sf("transcribe", str(tmp_path / "a"), str(SUBSET / "0_george_0.wav"))
    assert code == 2 and "`seqframe transcribe` does not apply to this run" in err


def expect_usage_error(sf, tmp_path, data, *options, match):
    args = ["run", "--task", "speech", "--steps", "1", "--out", str(tmp_path / "run")]
    args += ["--data", str(data)] if data is not None else []
    for opt in options:
        args += ["-o", opt]
    code, _, err = sf(*args)
    assert code == ExitCode.USAGE == 2, err
    assert "error:" in err and match in err, err
    return err


def test_a_corrupt_recording(sf, tmp_path, tiny_fsdd):
    (tiny_fsdd / "1_amy_0.wav").write_bytes(b"RIFF....WAVEjunk")
    expect_usage_error(sf, tmp_path, tiny_fsdd, match="1_amy_0.wav' as a WAV file")


def test_a_text_file_named_like_a_recording(sf, tmp_path, tiny_fsdd):
    (tiny_fsdd / "2_bob_9.wav").write_text("hello")
    expect_usage_error(sf, tmp_path, tiny_fsdd, match="cannot read")


def test_another_rate_with_resampling_off(sf, tmp_path, tiny_fsdd):
    write_wav(tiny_fsdd / "0_amy_9.wav", as_int16(tone(440, 0.3, 16000)), rate=16000)
    expect_usage_error(sf, tmp_path, tiny_fsdd, "resample=false",
                       match="0_amy_9.wav' is sampled at 16000 Hz but the task works at 8000 Hz")


def test_empty_audio(sf, tmp_path, tiny_fsdd):
    write_wav(tiny_fsdd / "0_amy_9.wav", np.zeros(0, np.int16))
    expect_usage_error(sf, tmp_path, tiny_fsdd, match="0_amy_9.wav' holds no audio samples")


def test_too_short_audio(sf, tmp_path, tiny_fsdd):
    write_wav(tiny_fsdd / "0_amy_9.wav", as_int16(tone(440, 0.01)))
    expect_usage_error(sf, tmp_path, tiny_fsdd,
                       match="0_amy_9.wav: 80 samples (10.0 ms) is shorter than one 25 ms "
                             "analysis frame")


def test_transcript_outside_the_label_set(sf, tmp_path):
    (tmp_path / "a.wav").write_bytes((SUBSET / "0_george_0.wav").read_bytes())
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,transcript\n" + "a.wav,zero\n" * 5 + "a.wav,eleven\n")
    expect_usage_error(sf, tmp_path, manifest,
                       match="m.csv, row 7: transcript 'eleven' is not in the label set")


def test_manifest_naming_a_missing_file(sf, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,transcript\nclips/gone.wav,zero\n")
    expect_usage_error(sf, tmp_path, manifest,
                       match="m.csv, row 2: the audio file")


def test_an_unknown_test_speaker(sf, tmp_path):
    expect_usage_error(sf, tmp_path, None, "test_speakers=alice",
                       match="speaker 'alice' has no recording")


def test_a_bad_option_value(sf, tmp_path):
    expect_usage_error(sf, tmp_path, None, "features=plp", match="must be one of mfcc, logmel")


def test_ctc_utterances_all_too_short_for_their_words(sf, tmp_path, tiny_fsdd):
    expect_usage_error(sf, tmp_path, tiny_fsdd, "mode=ctc", "ctc_min_words=7", "frame_ms=500",
                       "hop_ms=500", "ctc_pause_min_ms=0", "ctc_pause_max_ms=0",
                       match="no train utterance has enough frames for its words")


def test_a_hop_shorter_than_a_sample(sf, tmp_path):
    expect_usage_error(sf, tmp_path, None, "hop_ms=0.05",
                       match="frame_ms=25 and hop_ms=0.05 give 200 samples per frame and 0 per "
                             "hop at 8000 Hz; a frame needs at least 2 samples and a hop")
