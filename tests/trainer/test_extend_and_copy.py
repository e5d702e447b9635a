"""`--resume` with display flags and new limits, and new runs from a copied config.toml, as a
user types them (through the CLI, on the tiny task)."""

from __future__ import annotations

import json
import math
import re

import numpy as np

from seqframe.runs import api
from seqframe.training.checkpoint import load_checkpoint


def params(run_dir, name="latest"):
    tensors, _ = load_checkpoint(run_dir / "checkpoints" / name)
    return {k: v for k, v in tensors.items() if k.startswith("param/")}


def test_resume_takes_display_flags_and_says_a_finished_run_is_complete(tiny_config, tmp_path,
                                                                        sf):
    first = api.train_config(tiny_config(steps=3, epochs=None))
    run_dir = tmp_path / "run"
    code, out, err = sf("run", "--resume", str(run_dir), "--quiet", "--traceback")
    assert code == 0 and err == ""
    val = first["metrics"]["val"]["loss"]
    assert val < math.log(4)  # the tiny task's one baseline guesses uniformly over 4 classes
    assert out.splitlines() == [f"{run_dir}: val loss {val:.6g}, test loss "
                                f"{first['metrics']['test']['loss']:.6g} (3 steps, best at step "
                                f"{first['best_step']}); beats the best baseline on val: val "
                                f"loss {val:.6g} against uniform's {math.log(4):.6g}"]
    code, out, err = sf("run", "--resume", str(run_dir))
    assert code == 0
    assert (f"{run_dir} had already finished (reached its limit of 3 steps); nothing more to "
            f"train.") in err
    assert f"To train it further: seqframe run --resume {run_dir} --steps N" in err
    assert "metric" in out and "val" in out  # the table, as after training


def test_resume_refuses_flags_that_change_settings(tiny_config, tmp_path, sf):
    api.train_config(tiny_config(steps=2, epochs=None))
    code, _, err = sf("run", "--resume", str(tmp_path / "run"), "--lr", "0.1", "-o", "rows=3")
    assert code == 2
    assert ("--resume continues a run with its own settings; it takes only --steps N or "
            "--epochs N (to train it on to a new limit) and the display flags --quiet and "
            "--traceback, not --lr, -o.") in err
    assert f"seqframe run --config {tmp_path / 'run' / 'config.toml'} FLAGS... (a new " in err
    code, _, err = sf("run", "--resume", str(tmp_path / "run"), "--steps", "5", "--epochs", "3")
    assert code == 2 and "--resume takes --steps N or --epochs N, not both" in err


def test_extending_a_run_equals_training_that_long_at_once_under_a_constant_rate(
        tiny_config, tmp_path, sf):
    straight = api.train_config(tiny_config(steps=8, epochs=None, out=str(tmp_path / "once")))
    api.train_config(tiny_config(steps=4, epochs=None, out=str(tmp_path / "ext")))
    code, out, err = sf("run", "--resume", str(tmp_path / "ext"), "--steps", "8")
    assert code == 0, err
    assert (f"extending {tmp_path / 'ext'} (finished at step 4, epoch 1) from 4 steps to 8 "
            f"steps: the learning-rate schedule's horizon changes from 4 to 8 steps") in err
    summary = json.loads((tmp_path / "ext" / "summary.json").read_text())
    assert summary["steps"] == 8 and summary["stop_reason"] == "steps"
    # a constant rate does not depend on the horizon: the same 8 optimizer steps, bit for bit
    for key, value in params(tmp_path / "once").items():
        np.testing.assert_array_equal(params(tmp_path / "ext")[key], value)
    assert summary["metrics"] == straight["metrics"]
    assert "steps = 8" in (tmp_path / "ext" / "config.toml").read_text()


def test_extending_a_decaying_schedule_changes_its_horizon(tiny_config, tmp_path, sf):
    api.train_config(tiny_config(steps=8, epochs=None, schedule="cosine", lr=0.05,
                                 out=str(tmp_path / "once")))
    api.train_config(tiny_config(steps=4, epochs=None, schedule="cosine", lr=0.05,
                                 out=str(tmp_path / "ext")))
    code, _, err = sf("run", "--resume", str(tmp_path / "ext"), "--steps", "8")
    assert code == 0, err
    # its first four steps followed a 4-step cosine (decayed to 0 at step 4), the rest the
    # 8-step cosine from step 4 on; a run of 8 steps at once followed the 8-step one throughout
    ext, once = params(tmp_path / "ext"), params(tmp_path / "once")
    assert any(not np.array_equal(ext[k], once[k]) for k in once)


def test_extending_by_epochs_and_the_limits_that_cannot_extend(tiny_config, tmp_path, sf):
    api.train_config(tiny_config(epochs=1))  # 4 steps
    run_dir = tmp_path / "run"
    code, _, err = sf("run", "--resume", str(run_dir), "--steps", "4")
    assert code == 2
    assert (f"--steps 4 would not train '{run_dir}' further: it is at step 4 (epoch 1). Give "
            f"--steps more than 4.") in err
    code, out, err = sf("run", "--resume", str(run_dir), "--epochs", "2", "--quiet")
    assert code == 0, err
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 8
    api.train_config(tiny_config(time_budget=1e-9, epochs=5, out=str(tmp_path / "budget")))
    code, _, err = sf("run", "--resume", str(tmp_path / "budget"), "--epochs", "6")
    assert code == 2 and "stopped when its time budget (1e-09 s) was spent" in err


def test_an_ensemble_is_not_extended(tiny_config, tmp_path, sf):
    api.train_config(tiny_config(steps=1, epochs=None, ensemble=2))
    code, _, err = sf("run", "--resume", str(tmp_path / "run"), "--steps", "3")
    assert code == 2
    assert "--steps extends a single run, and" in err and "is an ensemble of 2" in err


def test_a_copied_config_toml_starts_a_new_run_in_a_new_directory(tiny_config, tmp_path, sf,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    api.train_config(tiny_config(steps=2, epochs=None, out="old"))
    text = (tmp_path / "old" / "config.toml").read_text()
    assert not re.search(r"^(out|quiet) =", text, re.M)  # where and how, not settings
    copy = tmp_path / "copy.toml"
    copy.write_text(text.replace("hidden = 6", "hidden = 5"))
    code, out, err = sf("run", "--config", str(copy), "--quiet")
    assert code == 0, err
    new_dir = out.split(":")[0]
    assert new_dir.startswith("runs/tiny-lstm-")
    assert "hidden = 5" in (tmp_path / new_dir / "config.toml").read_text()
    assert json.loads((tmp_path / new_dir / "summary.json").read_text())["steps"] == 2


def test_an_out_that_holds_a_run_is_refused_with_the_way_out(tiny_config, tmp_path, sf):
    api.train_config(tiny_config(steps=2, epochs=None))
    old_style = tmp_path / "old-copy.toml"  # a copy made before config.toml left out `out`
    old_style.write_text(f'task = "tiny"\nsteps = 2\nout = "{tmp_path / "run"}"\n')
    code, _, err = sf("run", "--config", str(old_style))
    assert code == 2
    assert (f"error: out '{tmp_path / 'run'}' already holds a run. For a new run (e.g. from an "
            f"edited copy of its config.toml) give it a new directory: --out NEW") in err
    code, _, err = sf("run", "--config", str(old_style), "--out", str(tmp_path / "new"),
                      "--quiet")
    assert code == 0, err
