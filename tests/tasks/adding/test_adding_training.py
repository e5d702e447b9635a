"""The adding task end to end: a short numpy run learns it at T = 10; CLI option errors exit 2."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from seqframe.cli.main import main
from seqframe.runs.api import train_config as run
from seqframe.runs.build import resolve_config

ROOT = Path(__file__).resolve().parents[3]


def test_an_lstm_learns_the_adding_problem_at_length_10(tmp_path):
    overrides = {
        "task": "adding",
        "backend": "numpy",
        "cell": "lstm",
        "hidden": 32,
        "steps": 600,
        "eval_every": 600,
        "out": str(tmp_path / "run"),
        "quiet": True,
        "options": {"length": 10, "train_size": 2000, "val_size": 200, "test_size": 500},
    }
    summary = run(resolve_config(overrides), log=lambda _line: None)
    baseline = summary["baselines"]["predict_mean"]["mse"]
    assert baseline == pytest.approx(1 / 6, abs=0.03)
    # Well past the baseline: the model reads the markers and adds (measured 0.0016).
    assert summary["metrics"]["test"]["mse"] < 0.01
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["metrics"]["test"] == summary["metrics"]["test"]
    assert (tmp_path / "run" / "adding_predictions.png").exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("lenght=100", "unknown option 'lenght' for task 'adding'"),
        ("length=1", "option 'length' must be >= 2"),
        ("length=long", "option 'length' expects int"),
    ],
)
def test_bad_options_exit_2_from_the_command_line(tmp_path, capsys, option, message):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "run",
                "--task",
                "adding",
                "--backend",
                "numpy",
                "-o",
                option,
                "--steps",
                "1",
                "--out",
                str(tmp_path / "run"),
            ]
        )
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_length_table_marks_success_by_threshold():
    script = load_script("adding_lengths")
    rows = [
        {"cell": "rnn", "length": 10, "test_mse": 0.002, "predict_mean_mse": 0.1669},
        {"cell": "rnn", "length": 10, "test_mse": 0.15, "predict_mean_mse": 0.1669},
        {"cell": "lstm", "length": 10, "test_mse": 0.0001, "predict_mean_mse": 0.1669},
    ]
    table = script.format_table(rows, ["rnn", "lstm"], [10, 20], threshold=0.01).splitlines()
    assert table[0] == "| T | rnn | lstm | predict mean |"
    assert table[2] == "| 10 | 0.0020 / 0.1500 (1/2) | 0.0001 (solved) | 0.1669 |"
    assert table[3] == "| 20 | - | - | - |"
