"""A tiny charlm run through the Python API on the numpy backend, then sampling from its run
dir."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from seqframe_charlm.corpus import load_text

from seqframe.errors import MissingDependencyError, PluginError


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from seqframe.runs.api import train_config as run
    from seqframe.runs.build import resolve_config

    root = tmp_path_factory.mktemp("charlm")
    corpus = root / "tiny.txt"
    corpus.write_text(load_text(None)[0][:6000], encoding="utf-8")
    config = resolve_config({
        "task": "charlm", "backend": "numpy", "data": str(corpus), "steps": 30, "hidden": 24,
        "batch_size": 6, "bptt": 20, "lr": 1e-2, "out": str(root / "run"), "quiet": True,
        "options": {"seq_len": 40, "sample_length": 50, "sample_prime": "First"},
    })
    run(config, log=lambda _: None)
    return root / "run"


def test_run_writes_metrics_baselines_and_a_sample(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    val = summary["metrics"]["val"]
    base = summary["baselines"]
    assert summary["task"] == "charlm" and summary["steps"] == 30
    assert set(val) == {"loss", "bits_per_char", "perplexity"}
    assert val["bits_per_char"] == pytest.approx(val["loss"] / math.log(2))
    # 30 steps learn at least the character frequencies: better than guessing uniformly.
    assert val["loss"] < base["uniform"]["loss"] - 0.3
    assert set(base) == {"uniform", "unigram", "kneser_ney_5gram"}
    sample = (run_dir / "samples.txt").read_text(encoding="utf-8")
    assert sample.startswith("First") and len(sample) == 55


def _open(run_dir, backend):
    from seqframe.runs.api import open_run

    try:
        return open_run(run_dir, backend=backend)
    except (MissingDependencyError, PluginError) as exc:  # torch not installed or not loadable
        pytest.skip(f"backend {backend!r} unavailable: {exc}")


def test_sampling_from_the_run_dir_is_reproducible(run_dir):
    task, predictor, _ = _open(run_dir, "numpy")
    kwargs = {"prime": "Citizen:", "length": 40, "temperature": 0.8, "top_k": None}
    first = task.sample(predictor, seed=5, greedy=False, **kwargs)
    assert first == task.sample(predictor, seed=5, greedy=False, **kwargs)
    assert first.startswith("Citizen:") and len(first) == 48
    assert task.sample(predictor, seed=6, greedy=False, **kwargs) != first


def test_torch_backend_samples_what_numpy_samples(run_dir):
    pytest.importorskip("torch")
    task, numpy_predictor, _ = _open(run_dir, "numpy")
    _, torch_predictor, _ = _open(run_dir, "torch")
    ids = task._ids["val"][:60][None]  # (1, 60) character ids
    a, _ = numpy_predictor.predict(ids)
    b, _ = torch_predictor.predict(ids)
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)
    kwargs = {"prime": "Citizen:", "length": 40, "temperature": 1.0, "top_k": 5, "seed": 1}
    for greedy in (True, False):
        assert (task.sample(torch_predictor, greedy=greedy, **kwargs)
                == task.sample(numpy_predictor, greedy=greedy, **kwargs))
