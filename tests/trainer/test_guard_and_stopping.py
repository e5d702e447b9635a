"""The non-finite guard (stop / skip / rollback), early stopping, step limits, config errors."""

import json
import math

import numpy as np
import pytest

# the single-stack topology is where the training step's BPTT call happens
from seqframe.engine import topology as step_module
from seqframe.errors import ConfigError, DataError, NonFiniteError
from seqframe.runs import api
from seqframe.training import checkpoint


def test_nan_stops_with_step_norm_and_hint_keeping_the_last_good_checkpoint(tiny_config, tmp_path):
    config = tiny_config(options={"nan_batch": 2}, checkpoint_every=1, lr=0.003)
    with pytest.raises(NonFiniteError, match=r"non-finite loss at step 3 .*last finite gradient "
                       r"norm [0-9.]+.*lower --lr \(now 0.003\) and --clip-norm 1.0"):
        api.train_config(config)
    tensors, meta = checkpoint.load_checkpoint(tmp_path / "run" / "checkpoints" / "latest")
    assert meta["loop"]["step"] == 2
    assert all(np.isfinite(v).all() for v in tensors.values())


def test_skip_drops_the_bad_batch_and_goes_on(tiny_config):
    lines = []
    summary = api.train_config(tiny_config(options={"nan_batch": 1}, nonfinite="skip", epochs=2,
                                   quiet=False),
                       log=lines.append)
    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings == ["warning: non-finite loss at step 2; skipping the batch"]
    assert summary["nonfinite"] == {"skipped": 1, "rollbacks": 0}
    assert summary["steps"] == 7  # 8 batches, one skipped
    assert math.isfinite(summary["metrics"]["test"]["loss"])


def test_skip_gives_up_when_every_batch_fails(tiny_config, monkeypatch):
    monkeypatch.setattr(step_module, "window_loss_and_grad", poisoned(every=True))
    with pytest.raises(NonFiniteError, match=r"skip did not help"):
        api.train_config(tiny_config(nonfinite="skip", epochs=5))


def poisoned(at_call=None, every=False):
    """Wrap the training step's BPTT call so that one (or every) result has a NaN gradient."""
    original = step_module.window_loss_and_grad
    calls = []

    def window_loss_and_grad(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(1)
        if every or len(calls) == at_call:
            name = next(iter(result.grads))
            result.grads[name] = result.grads[name] * np.nan
        return result

    return window_loss_and_grad


def test_rollback_reloads_the_checkpoint_and_halves_the_learning_rate(tiny_config, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(step_module, "window_loss_and_grad", poisoned(at_call=4))
    lines = []
    summary = api.train_config(tiny_config(nonfinite="rollback", checkpoint_every=2, eval_every=1,
                                   epochs=2, optimizer="sgd", lr=0.1, momentum=0.0,
                                   quiet=False),
                       log=lines.append)
    assert [line for line in lines if line.startswith("warning:")] == [
        "warning: non-finite gradient norm at step 4; rolled back to step 2, learning rate x0.5"]
    assert summary["nonfinite"] == {"skipped": 0, "rollbacks": 1}
    assert summary["steps"] == 8  # the rolled-back steps were redone
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 9))  # no duplicate from before rollback
    assert [r["lr"] for r in records] == pytest.approx([0.1, 0.1] + [0.05] * 6)


def test_rollback_gives_up_when_failures_persist(tiny_config, monkeypatch):
    monkeypatch.setattr(step_module, "window_loss_and_grad", poisoned(every=True))
    with pytest.raises(NonFiniteError, match=r"rollback did not help"):
        api.train_config(tiny_config(nonfinite="rollback"))


def test_early_stopping_after_patience_validations_without_improvement(tiny_config, monkeypatch):
    from trainer_tinytask import TinyTask

    values = iter([1.0, 0.5, 0.7, 0.6, 0.9, 0.4, 0.3, 0.2])
    monkeypatch.setattr(TinyTask, "evaluate", lambda self, p, split: {
        "loss": next(values) if split == "val" else 0.0, "accuracy": 0.0})
    summary = api.train_config(tiny_config(eval_every=1, patience=3, epochs=3))
    assert summary["stop_reason"] == "early_stop"
    assert summary["steps"] == 5 and summary["best_step"] == 2
    assert summary["metrics"]["val"]["loss"] == 0.5


def test_steps_limit_and_a_final_validation(tiny_config, tmp_path):
    summary = api.train_config(tiny_config(steps=3, epochs=None, bptt=4, eval_every=0))
    assert summary["steps"] == 3 and summary["stop_reason"] == "steps"
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [3]


def test_time_budget_stops_training(tiny_config):
    summary = api.train_config(tiny_config(time_budget=1e-9, epochs=50))
    assert summary["stop_reason"] == "time_budget" and summary["steps"] == 0
    assert summary["metrics"]["val"]["loss"] > 0  # the untrained model is still evaluated


@pytest.mark.parametrize("changes, message", [
    (dict(bptt=4, bptt_back=2), r"bptt_back \(k2=2\) must be >= bptt \(k1=4\)"),
    (dict(bptt=0, bptt_back=6), r"bptt_back needs bptt > 0"),
    (dict(nonfinite="ignore"), r"--nonfinite must be one of stop, skip, rollback"),
    (dict(accumulate=0), r"accumulate must be at least 1"),
    (dict(steps=0), r"--steps must be at least 1"),
    (dict(bidirectional=True, bptt=4), r"bidirectional model reads each sequence whole"),
])
def test_config_mistakes_are_explained(tiny_config, changes, message):
    with pytest.raises(ConfigError, match=message):
        api.train_config(tiny_config(**changes))


def test_out_that_holds_a_run_is_refused(tiny_config):
    api.train_config(tiny_config(steps=1, epochs=None))
    with pytest.raises(ConfigError, match=r"already holds a run\. For a new run .* give it a "
                       r"new directory: --out NEW .* `seqframe run --resume .*` continues the "
                       r"old run with its own settings"):
        api.train_config(tiny_config(steps=1, epochs=None))


def test_nan_before_any_checkpoint_says_so(tiny_config):
    with pytest.raises(NonFiniteError, match=r"at step 1 .*No checkpoint had been written yet"):
        api.train_config(tiny_config(options={"nan_batch": 0}))


def test_a_task_without_training_batches_is_a_data_error(tiny_config, monkeypatch):
    from trainer_tinytask import TinyTask

    monkeypatch.setattr(TinyTask, "train_batches", lambda self, epoch, size, seed: [])
    with pytest.raises(DataError, match=r"gave no training batches for epoch 0 with batch size 8"):
        api.train_config(tiny_config())
