"""Ensembles of the built-in tasks: sampling text and forecasting use the combined model."""

from __future__ import annotations

import csv

import numpy as np
from seqframe_charlm.corpus import load_text

from seqframe.runs import api
from seqframe.runs.build import resolve_config


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_charlm_ensemble_samples_from_the_averaged_distribution(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(load_text(None)[0][:3000], encoding="utf-8")
    config = resolve_config({
        "task": "charlm", "backend": "numpy", "data": str(corpus), "steps": 6, "hidden": 8,
        "batch_size": 4, "bptt": 10, "ensemble": 2, "out": str(tmp_path / "ens"), "quiet": True,
        "options": {"seq_len": 20, "sample_length": 10},
    })
    summary = api.train_config(config)
    task, predictor, _ = api.open_run(tmp_path / "ens")
    # the shared validation split scores the combined model, which no member equals
    member_losses = [m["metrics"]["val"]["loss"] for m in summary["members"]]
    assert summary["metrics"]["val"]["loss"] not in member_losses
    kwargs = {"prime": "First", "length": 40, "temperature": 1.0, "top_k": None, "greedy": False}
    text = task.sample(predictor, seed=1, **kwargs)
    assert len(text) == len("First") + 40 and text == task.sample(predictor, seed=1, **kwargs)


def test_timeseries_ensemble_forecasts_the_members_mean(tmp_path):
    options = {"lookback": 12, "horizon": 12, "test_size": 24, "val_size": 12, "log": True,
               "likelihood": "gaussian"}
    config = resolve_config({
        "task": "timeseries", "backend": "numpy", "steps": 10, "hidden": 6, "batch_size": 16,
        "ensemble": 2, "out": str(tmp_path / "ens"), "quiet": True, "options": options,
    })
    api.train_config(config)
    forecasts = []
    for name in ("ens", "ens/member-0", "ens/member-1"):
        task, predictor, _ = api.open_run(tmp_path / name)
        (path, *_) = task.forecast(predictor, horizon=12, data=None, out_dir=tmp_path / name)
        forecasts.append([float(r["forecast"]) for r in rows_of(path)])
        if name == "ens":
            assert predictor.loss.name == "gaussian_nll"  # means and variances: a mixture
    combined, *members = np.array(forecasts)
    # one direct 12-step window: the mixture mean is the members' mean on the model's scale
    # (log, then an affine scaler), so log(forecast) of the ensemble is their average
    np.testing.assert_allclose(np.log(combined), np.log(members).mean(axis=0), rtol=1e-5)
