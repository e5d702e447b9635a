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
