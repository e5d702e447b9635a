"""What a user watches: the progress display (Keras-style columns, plain lines off a terminal),
the stop message, and the default validation cadence."""

from __future__ import annotations

import io
import types

import pytest

from seqframe.config import RunConfig
from seqframe.training import windows
from seqframe.training.progress import ProgressBar, describe_stop


def test_plain_progress_shows_training_and_validation_columns_apart():
    stream = io.StringIO()
    bar = ProgressBar(10, stream=stream, plain=True, interval=1e9)
    bar.update(1, 0.9, throughput=1000.0, grad_norm=2.0)
    bar.update(3, 0.5, throughput=1000.0, grad_norm=1.5)
    bar.show_validation({"loss": 0.7, "accuracy": 0.6}, "loss", best=0.6, also="accuracy")
    assert stream.getvalue() == ""  # not a line before `interval` seconds have passed
    bar.update(4, 0.4)
    bar.close()  # ... but always one at the end
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and len(lines) == 1
    assert lines[0].startswith("train: step 4/10 (40%), 0:00 elapsed, ~0:00 left: ")
    assert lines[0].endswith(": loss=0.4, val_loss=0.7, best_val_loss=0.6, val_accuracy=0.6, "
                             "|g|=1.5, tok/s=1e+03")


def test_plain_progress_writes_a_line_every_interval():
    stream = io.StringIO()
    bar = ProgressBar(None, stream=stream, plain=True, interval=0.0)
    bar.update(1, 2.0)
    bar.update(2, 1.0)
    bar.show_validation({"mase": 0.9}, "mase", best=0.9)
    lines = stream.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == ["train: step 1"] + ["train: step 2"] * 2
    assert "val_mase" not in lines[1] and lines[2].endswith("val_mase=0.9, best_val_mase=0.9")
    bar.close()  # the last line is up to date: nothing more
    assert len(stream.getvalue().splitlines()) == 3


def test_terminal_bar_keeps_training_and_validation_loss_apart():
    stream = io.StringIO()
    bar = ProgressBar(10, stream=stream, plain=False)
    bar.update(2, 0.5, grad_norm=1.0)
    bar.show_validation({"mase": 0.9}, "mase", best=0.8)
    text = stream.getvalue()
    assert "loss=0.5, val_mase=0.9, best_val_mase=0.8, |g|=1" in text
    bar.close()


def test_quiet_progress_writes_nothing():
    stream = io.StringIO()
    bar = ProgressBar(10, quiet=True, stream=stream)
    bar.update(1, 0.5)
    bar.show_validation({"loss": 0.4}, "loss", best=0.4)
    bar.close()
    assert stream.getvalue() == ""


def test_progress_off_a_terminal_is_plain_by_default():
    assert ProgressBar(5, stream=io.StringIO()).plain  # StringIO is not a terminal
    assert ProgressBar(5, stream=io.StringIO()).bar is None


@pytest.mark.parametrize("reason, config, words", [
    ("steps", RunConfig(steps=150), "reached its limit of 150 steps"),
    ("epochs", RunConfig(epochs=3), "reached its limit of 3 epochs"),
    ("epochs", RunConfig(), "reached its limit of 1 epoch"),
    ("early_stop", RunConfig(patience=5),
     "early stopping: no better validation value in the last 5 validations (--patience 5); the "
     "best was at step 40"),
    ("time_budget", RunConfig(time_budget=60.0),
     "its time budget of 60 s was spent (--time-budget)"),
])
def test_stop_reason_in_words(reason, config, words):
    state = types.SimpleNamespace(stop_reason=reason, best_step=40)
    assert describe_stop(state, config) == words


@pytest.mark.parametrize("changes, total, expected", [
    (dict(steps=200), 200, 10),  # ceil(200 / 20)
    (dict(steps=30), 30, 2),  # ceil(30 / 20)
    (dict(steps=7), 7, 1),
    (dict(epochs=10), 3130, 157),  # charlm's default: 10 epochs of 313 steps
    (dict(epochs=50), 600, 0),  # 50 epochs: once per epoch gives more than 20 points
    (dict(epochs=20), 60, 0),
    (dict(epochs=3), None, 0),  # unknown length: once per epoch
    (dict(steps=200, eval_every=7), 200, 7),  # given: as given
    (dict(epochs=50, eval_every=0), 600, 0),
])
def test_default_validation_cadence(changes, total, expected):
    assert windows.evaluation_interval(RunConfig(**changes), total) == expected


def test_cadence_is_described_in_the_log():
    config = RunConfig(steps=200)
    assert windows.describe_interval(config, 10, 200) == "validating every 10 steps, 20 validations"
    assert windows.describe_interval(RunConfig(eval_every=0), 0, 50) == \
        "validating once per epoch (--eval-every)"


def test_a_short_run_gets_about_twenty_validation_points(tiny_config, tmp_path):
    from seqframe.runs import api

    api.train_config(tiny_config(steps=40, epochs=None, bptt=4))
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [int(line.split('"step": ')[1].split(",")[0]) for line in lines] == \
        list(range(2, 41, 2))
