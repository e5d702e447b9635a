"""What `seqframe run` and the commands after it show a new user: the final table and its
baseline verdict, `--quiet`, progress off a terminal, `run --help` defaults, `--traceback` after
the command, misspelt `-o` keys, `eval`'s header, `forecast` past the trained horizon."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
from seqframe_adding.task import AddingTask
from seqframe_charlm.corpus import load_text

from seqframe.config import RunConfig
from seqframe.runs.report import compare


def summary_of(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


# ---- the final table, its verdict, and --quiet ----------------------------------------------

def test_a_model_that_does_not_beat_its_best_baseline_is_flagged(sf, tmp_path):
    run_dir = tmp_path / "r"
    options = ["-o", "length=10", "-o", "train_size=64", "-o", "test_size=64"]
    code, out, err = sf("run", "--task", "adding", *options, "--steps", "2", "--lr", "1e-6",
                        "--hidden", "4", "--out", str(run_dir))
    assert code == 0, err
    summary = summary_of(run_dir)
    # the oracle: the task's own baseline on the same validation split, scored independently
    task = AddingTask({"length": 10, "train_size": 64, "test_size": 64})
    task.prepare()
    baseline = task.baselines("val")["predict_mean"]["mse"]
    model = summary["metrics"]["val"]["mse"]
    assert model > baseline  # two steps at lr 1e-6 learn nothing
    assert summary["beats_best_baseline"] is False
    assert summary["baseline_comparison"] == {
        "split": "val", "metric": "mse", "mode": "min", "model": model,
        "best_baseline": "predict_mean", "baseline": pytest.approx(baseline), "beats": False,
        "baselines": {"predict_mean": pytest.approx(baseline)}}
    assert (f"warning: the model does not beat the best baseline on val: val mse {model:.6g} "
            f"against predict_mean's {baseline:.6g} (lower is better)") in out.splitlines()


def test_the_comparison_is_strict_and_uses_the_tasks_baseline_metric():
    class Classifier:
        metric, metric_mode, baseline_metric = "loss", "min", ("accuracy", "max")

    baselines = {"1nn": {"accuracy": 0.7}, "majority": {"accuracy": 0.1}}
    tie = compare(Classifier, {"loss": 0.4, "accuracy": 0.7}, baselines)
    assert tie["metric"] == "accuracy" and tie["best_baseline"] == "1nn" and not tie["beats"]
    assert compare(Classifier, {"loss": 0.4, "accuracy": 0.8}, baselines)["beats"]
    assert compare(Classifier, {"loss": 0.4}, baselines) is None  # nothing comparable
    assert compare(Classifier, {"loss": 0.4, "accuracy": 0.8}, {}) is None

    class Forecaster:
        metric, metric_mode, baseline_metric = "mase", "min", None

    result = compare(Forecaster, {"mase": 0.9}, {"naive": {"mase": 1.2}, "snaive": {"mase": 0.95}})
    assert result["best_baseline"] == "snaive" and result["beats"]


def test_quiet_prints_only_the_run_directory_and_the_result(sf, tmp_path):
    run_dir = tmp_path / "q"
    code, out, err = sf("run", "--task", "adding", "-o", "length=10", "--steps", "3",
                        "--hidden", "4", "--out", str(run_dir), "--quiet")
    assert code == 0 and err == ""
    summary = summary_of(run_dir)
    mse = summary["metrics"]
    line = (f"{run_dir}: val mse {mse['val']['mse']:.6g}, test mse {mse['test']['mse']:.6g} "
            f"(3 steps, best at step {summary['best_step']}); ")
    assert out.splitlines()[0].startswith(line) and len(out.splitlines()) == 1


@pytest.fixture(scope="module")
def airline_run(tmp_path_factory):
    """A short run on the built-in airline series, through the CLI."""
    from seqframe.cli.main import main

    run_dir = tmp_path_factory.mktemp("ts") / "run"
    capture = pytest.MonkeyPatch()
    err, out = io.StringIO(), io.StringIO()
    capture.setattr(sys, "stderr", err)
    capture.setattr(sys, "stdout", out)
    try:
        with pytest.raises(SystemExit) as code:
            main(["run", "--task", "timeseries", "--steps", "20", "--hidden", "8", "--out",
                  str(run_dir)])
    finally:
        capture.undo()
    assert code.value.code == 0, err.getvalue()
    return run_dir, out.getvalue(), err.getvalue()


def test_scoring_settings_are_not_metric_rows(airline_run):
    run_dir, out, _ = airline_run
    summary = summary_of(run_dir)
    rows = [line.split()[0] for line in out.splitlines()[2:] if line.strip()]
    for setting in ("windows", "horizon", "mase_season"):
        assert setting not in rows and setting not in summary["metrics"]["test"]
    test = summary["evaluation"]["test"]
    assert set(test) == {"windows", "horizon", "mase_season"} and test["mase_season"] == 12
    val = summary["evaluation"]["val"]
    assert (f"scored on val: mase_season 12, windows {val['windows']:.6g}, horizon "
            f"{val['horizon']:.6g}; test: mase_season 12, windows {test['windows']:.6g}, horizon "
            f"{test['horizon']:.6g}") in out.splitlines()


def test_progress_off_a_terminal_is_plain_lines_with_keras_columns(airline_run):
    _, _, err = airline_run
    assert "\r" not in err
    progress = [line for line in err.splitlines() if line.startswith("train: step ")]
    assert progress[-1].startswith("train: step 20/20 (100%)")
    assert re.search(r": loss=[\d.e+-]+, val_mase=[\d.e+-]+, best_val_mase=[\d.e+-]+, \|g\|=",
                     progress[-1])
    assert "validating every 1 steps, 20 validations" in err  # ceil(20 / 20)
    assert "stopped after 20 steps: reached its limit of 20 steps" in err


def test_summary_lists_the_curves_among_its_artefacts(airline_run):
    run_dir, _, _ = airline_run
    artefacts = summary_of(run_dir)["artefacts"]
    assert str(run_dir / "curves.png") in artefacts
    assert all(Path(a).exists() for a in artefacts)


def test_forecast_past_the_trained_horizon_says_it_is_recursive(airline_run, sf):
    run_dir, _, _ = airline_run
    horizon = summary_of(run_dir)["evaluation"]["test"]["horizon"]
    longer = int(horizon) + 6
    code, out, err = sf("forecast", str(run_dir), "--horizon", str(longer))
    assert code == 0, err
    assert (f"note: --horizon {longer} is longer than the {horizon:.0f} step(s) the model "
            f"forecasts at once, so steps {horizon + 1:.0f}-{longer} were forecast "
            f"recursively") in err
    rows = (run_dir / "forecast.csv").read_text().splitlines()
    assert rows[0].split(",")[:4] == ["step", "time", "forecast", "method"]
    assert [r.split(",")[3] for r in rows[1:]] == ["direct"] * int(horizon) + ["recursive"] * 6
    code, _, err = sf("forecast", str(run_dir), "--horizon", str(int(horizon)))
    assert code == 0 and "note:" not in err


# ---- charlm: a test split by default, `eval`'s header ----------------------------------------

def test_charlm_holds_out_a_test_split_that_eval_scores(sf, tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(load_text(None)[0][:8000], encoding="utf-8")
    run_dir = tmp_path / "lm"
    code, _, err = sf("run", "--task", "charlm", "--data", str(corpus), "--steps", "4",
                      "--hidden", "8", "--batch-size", "4", "--bptt", "20", "-o", "seq_len=20",
                      "-o", "sample_length=10", "--out", str(run_dir), "--quiet")
    assert code == 0, err
    assert set(summary_of(run_dir)["metrics"]) == {"val", "test"}
    for split in ("test", None, "val"):
        code, out, err = sf("eval", str(run_dir), *(["--split", split] if split else []))
        assert code == 0, err
        header = out.splitlines()[0].split()
        assert header == ["metric", split or "test"]  # the default split is the test split
        rows = dict(line.split() for line in out.splitlines()[2:])
        assert set(rows) == {"loss", "bits_per_char", "perplexity"}


# ---- help, --traceback, -o did-you-mean ------------------------------------------------------

def test_run_help_shows_every_default(sf):
    code, out, _ = sf("run", "--help")
    assert code == 0
    text = " ".join(out.split())
    defaults = RunConfig()
    for flag, key in [("--hidden INTEGER", "hidden"), ("--lr FLOAT", "lr"),
                      ("--clip-norm FLOAT", "clip_norm"), ("--optimizer TEXT", "optimizer"),
                      ("--batch-size INTEGER", "batch_size"), ("--backend TEXT", "backend"),
                      ("--dtype [float32|float64]", "dtype"), ("--patience INTEGER", "patience")]:
        after = text.split(flag, 1)[1].split(" --", 1)[0]
        assert after.endswith(f"[default: {getattr(defaults, key)}]"), (flag, after)
    assert "[default: about 20 validations per run]" in text
    assert "[default: runs/<task>-<cell>-<time>]" in text
    assert "`seqframe tasks NAME` lists them" in text


def test_traceback_works_after_the_command_and_misspelt_options_get_a_suggestion(sf):
    code, _, err = sf("run", "--task", "timeseries", "-o", "horizn=3", "--steps", "1")
    assert code == 2 and "Traceback" not in err
    assert ("error: unknown option 'horizn' for task 'timeseries'; did you mean 'horizon'? "
            "Valid options: ") in err
    code, _, err = sf("run", "--task", "timeseries", "-o", "horizn=3", "--traceback")
    assert code == 2
    assert "Traceback (most recent call last)" in err and "did you mean 'horizon'?" in err
    code, _, err = sf("--traceback", "run", "-o", "horizn=3")
    assert code == 2 and "Traceback (most recent call last)" in err
