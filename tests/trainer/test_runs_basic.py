"""End to end on the tiny task: a run writes everything DESIGN.md promises."""

import json
import math

import pytest

from seqframe.cli.render import format_summary
from seqframe.runs import api


def test_run_writes_summary_metrics_curves_and_checkpoints(tiny_config, tmp_path):
    config = tiny_config(epochs=2, eval_every=0)
    summary = api.train_config(config)
    run_dir = tmp_path / "run"
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk == summary
    keys = {"task", "backend", "cell", "steps", "wall_seconds", "metrics", "baselines"}
    assert keys <= set(summary)
    assert summary["task"] == "tiny" and summary["backend"] == "numpy" and summary["cell"] == "lstm"
    assert summary["steps"] == 8  # 32 rows / 8 per batch x 2 epochs, one window per batch
    assert set(summary["metrics"]) == {"val", "test"}
    assert summary["baselines"]["uniform"]["loss"] == pytest.approx(math.log(4))
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [4, 8]  # one validation per epoch
    assert all(math.isfinite(r["train_loss"]) for r in records)
    assert (run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert (run_dir / "checkpoints" / "latest" / "tensors.safetensors").exists()
    assert (run_dir / "checkpoints" / "best" / "meta.json").exists()
    assert (run_dir / "config.toml").exists()
    assert summary["metrics"]["val"]["loss"] < math.log(4)  # it learned something
    text = format_summary(summary)
    assert "uniform (test)" in text and "accuracy" in text


def test_quiet_api_prints_nothing_and_otherwise_progress_and_path_show(tiny_config, tmp_path,
                                                                      capsys):
    api.train_config(tiny_config(quiet=True))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # the CLI prints its one line itself
    api.train_config(tiny_config(quiet=False, out=str(tmp_path / "loud")))
    captured = capsys.readouterr()
    assert ": generic BPTT, 4 optimizer steps planned; validating every 1 steps" in captured.err
    assert "stopped after 4 steps: reached its limit of 1 epoch\n" in captured.err
    assert "step 4/4 (100%)" in captured.err and "loss=" in captured.err
    assert "|g|=" in captured.err and "val_loss=" in captured.err


def test_metrics_records_carry_gradient_norm_statistics(tiny_config, tmp_path):
    api.train_config(tiny_config(eval_every=2, clip_norm=0.05))
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().split("\n")
               if x]
    assert [r["step"] for r in records] == [2, 4]
    for r in records:
        assert r["grad_norm_max"] >= r["grad_norm_mean"] > 0.05  # pre-clip, above the bound
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["clipping"]["clipped_fraction"] == 1.0


def test_curves_second_panel_shows_the_metric_or_the_gradient_norm():
    from seqframe.runs.curves import second_panel

    records = [{"step": 1, "val": {"loss": 2.0, "mase": 1.5}, "grad_norm_mean": 0.7},
               {"step": 2, "val": {"loss": 1.0}, "grad_norm_mean": None}]
    values, ylabel, title, _ = second_panel(records, "mase")
    assert values[0] == 1.5 and values[1] != values[1] and title == "validation mase"
    values, ylabel, title, _ = second_panel(records, "loss")
    assert values[0] == 0.7 and values[1] != values[1]
    assert title == "gradient norm (before clipping)"


def test_curves_mark_the_best_step_and_show_a_classifiers_accuracy():
    from seqframe.runs.curves import curves_figure

    records = [{"step": s, "train_loss": 1.0 / s, "grad_norm_mean": 1.0,
                "val": {"loss": 2.0 - 0.1 * s, "accuracy": 0.1 * s}} for s in (2, 4, 6)]
    fig = curves_figure(records, "loss", best_step=4, extra=("accuracy", "max"))
    left, right = fig.axes
    for ax in (left, right):
        best = [line for line in ax.lines if line.get_label() == "best (step 4)"]
        assert len(best) == 1 and list(best[0].get_xdata()) == [4, 4]
    assert right.get_title() == "validation accuracy"
    accuracy = next(line for line in right.lines if line.get_label() == "accuracy")
    assert list(accuracy.get_ydata()) == pytest.approx([0.2, 0.4, 0.6])
    plain = curves_figure(records, "loss")  # no extra metric: the gradient norm, no best line
    assert plain.axes[1].get_title() == "gradient norm (before clipping)"
    assert not any(line.get_label().startswith("best") for line in plain.axes[0].lines)
