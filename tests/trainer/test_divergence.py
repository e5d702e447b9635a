"""Diverged runs do not report success (item 11): a loss that explodes is caught by the guard
like a NaN, and a run that ends orders of magnitude worse than its task's trivial baseline is
marked ``diverged`` in summary.json and exits with code 1, its files written all the same."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from seqframe.runs.single import DIVERGED_FACTOR, judge
from seqframe.training import guard
from seqframe.training.loopstate import LoopState

# The case: an Elman network, plain SGD at learning rate 1, no clipping, on the airline
# series. Its training loss grows about 1000-fold every three steps and overflows at step 44.
ELMAN_SGD = ("--task", "timeseries", "--cell", "rnn", "--optimizer", "sgd", "--lr", "1",
             "--clip-norm", "0", "--quiet")


def test_an_exploding_loss_stops_the_run_before_it_overflows(sf, tmp_path):
    code, _, err = sf("run", *ELMAN_SGD, "--steps", "60", "--out", str(tmp_path / "run"))
    assert code == 1
    assert "error: loss exploded at step" in err
    assert "is more than 10000 times the run's first loss" in err
    step = int(err.split("loss exploded at step ")[1].split(":")[0])
    assert step < 44  # before the NaN the unguarded run met


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # NumPy, on the way
def test_without_the_explosion_check_the_nan_guard_stops_it_later(sf, tmp_path):
    code, _, err = sf("run", *ELMAN_SGD, "--steps", "60", "--explode-factor", "0", "--out",
                      str(tmp_path / "run"))
    assert code == 1 and "non-finite loss at step" in err


def test_a_run_that_ends_far_worse_than_the_trivial_baseline_exits_1(sf, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = sf("run", "--task", "tiny", "--cell", "rnn", "--hidden", "16",
                           "--optimizer", "sgd", "--lr", "100", "--clip-norm", "0", "--steps",
                           "20", "--eval-every", "20", "--dtype", "float64", "--out", str(out))
    assert code == 1
    summary = json.loads((out / "summary.json").read_text())  # written all the same
    assert summary["diverged"] is True
    test_loss, uniform = summary["metrics"]["test"]["loss"], summary["baselines"]["uniform"]["loss"]
    assert uniform == pytest.approx(math.log(4))
    assert test_loss > DIVERGED_FACTOR * uniform
    assert summary["flagged"].startswith(f"the run diverged: its final test loss {test_loss:.4g}")
    assert err.strip().splitlines()[-1].startswith("error: the run diverged")
    assert f"The run's files are in {out}" in err
    assert "test" in stdout  # the summary table was printed before the error


def test_a_healthy_run_is_not_flagged(sf, tmp_path):
    out = tmp_path / "run"
    code, _, err = sf("run", "--task", "tiny", "--hidden", "8", "--steps", "8", "--quiet",
                      "--out", str(out))
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["diverged"] is False and summary["flagged"] is None


def task(metric="mse", mode="min"):
    return SimpleNamespace(metric=metric, metric_mode=mode)


@pytest.mark.parametrize("value, baselines, diverged", [
    (150.0, {"naive": {"mse": 1.6}}, False),  # 94 times: bad, not diverged
    (161.0, {"naive": {"mse": 1.6}, "mean": {"mse": 9.0}}, True),  # > 100 times the best
    (float("inf"), {}, True),
    (float("nan"), {"naive": {"mse": 1.6}}, True),
    (1e9, {"naive": {"mse": 0.0}}, False),  # a perfect baseline gives no scale
    (1e9, {}, False),
])
def test_judge_compares_with_the_best_trivial_baseline(value, baselines, diverged):
    verdict = judge(task(), {"test": {"mse": value}}, baselines, "test")
    assert verdict["diverged"] is diverged
    assert (verdict["flagged"] is not None) is diverged


def test_judge_flags_only_non_finite_values_of_a_metric_to_maximise():
    high = {"test": {"accuracy": 0.001}}
    assert not judge(task("accuracy", "max"), high, {"prior": {"accuracy": 0.5}}, "test")[
        "diverged"]
    assert judge(task("accuracy", "max"), {"test": {"accuracy": math.nan}}, {}, "test")[
        "diverged"]


@pytest.mark.parametrize("policy, action", [("stop", "stop"), ("skip", "skip"),
                                            ("rollback", "rollback")])
def test_an_exploded_step_follows_the_nonfinite_policy(policy, action, tmp_path):
    decision = guard.decide(policy, LoopState(step=13), 4.5e4, 3.0, last_norm=2.0, lr=1.0,
                            latest=Path(tmp_path / "latest"), exploded=(0.42, 1e4))
    assert decision.action == action
    if action == "stop":
        assert decision.message.startswith(
            "loss exploded at step 14: 4.5e+04 is more than 10000 times the run's first loss "
            "(0.42, at least 1 counted)")
        assert "No checkpoint had been written yet" in decision.message
    else:
        assert decision.message.startswith("loss exploded at step 14")


def test_the_limit_is_the_factor_times_the_first_loss_at_least_one(tiny_config, monkeypatch):
    from seqframe.runs import api
    from seqframe.training import trainer as trainer_module

    limits = []
    original = trainer_module.Trainer._step

    def spy(self, batch, span):
        limits.append((self.state.loss_reference, self.loss_limit()))
        return original(self, batch, span)

    monkeypatch.setattr(trainer_module.Trainer, "_step", spy)
    api.train_config(tiny_config(steps=3, epochs=None, explode_factor=50.0))
    (none, first), *rest = limits
    assert none is None and first == math.inf  # nothing measured before the first step
    reference = rest[0][0]
    assert reference == pytest.approx(math.log(4), rel=0.2)  # an untrained 4-class model
    assert all(limit == 50.0 * max(abs(reference), 1.0) for _, limit in rest)
