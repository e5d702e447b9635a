"""Token inputs on charlm, through the CLI: ids fed one-hot compute exactly what dense one-hot
rows computed; an embedding, a tied readout and sampled softmax train, evaluate and sample; a run
written before token inputs still evaluates, resumes and samples as it would have.

The old run (``data/onehot_run_b7375fe``) was written by the code of commit b7375fe with
``data/make_onehot_run.py``: 12 steps killed after step 9 (latest checkpoint at step 8, the
best at step 8), with the metrics and sample of the same run left to finish
(``onehot_run_b7375fe.expected.json``). Values it recorded are compared at 1e-6 relative (float32
arithmetic, whose last bits may differ on another machine's BLAS); runs made here are compared
bit for bit.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from seqframe.runs import api

DATA = Path(__file__).parent / "data"
OLD_RUN = DATA / "onehot_run_b7375fe"
SMALL = ("--task", "charlm", "--hidden", "16", "--batch-size", "4", "--bptt", "10",
         "--steps", "8", "--eval-every", "4", "-o", "max_chars=3000", "-o", "seq_len=20",
         "-o", "sample_length=30", "-o", "ngram_order=2", "-o", "eval_streams=4", "--quiet")


def run(sf, out, *args):
    code, _, err = sf("run", *SMALL, "--out", str(out), *args)
    assert code == 0, err
    return json.loads((out / "summary.json").read_text())


def records(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "wall_seconds"} for line in lines]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_ids_with_embed_0_equal_the_one_hot_run_bit_for_bit(sf, tmp_path, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    onehot = run(sf, tmp_path / "onehot", "--backend", backend, "-o", "inputs=onehot")
    tokens = run(sf, tmp_path / "tokens", "--backend", backend, "--embed", "0")
    assert tokens["metrics"] == onehot["metrics"]  # exact float equality
    assert records(tmp_path / "tokens") == records(tmp_path / "onehot")
    for name in ("best", "latest"):
        weights = [(tmp_path / d / "checkpoints" / name / "tensors.safetensors").read_bytes()
                   for d in ("tokens", "onehot")]
        assert weights[0] == weights[1]  # parameters and optimizer state, byte for byte
    samples = [(tmp_path / d / "samples.txt").read_text() for d in ("tokens", "onehot")]
    assert samples[0] == samples[1] and len(samples[0]) == 30


LEARN = ("--steps", "40", "--lr", "0.01", "--eval-every", "20")  # enough to learn the unigram


def test_an_embedded_tied_model_trains_evaluates_and_samples(sf, tmp_path):
    summary = run(sf, tmp_path / "tied", "--embed", "16", "--tie-weights", *LEARN)
    assert summary["metrics"]["val"]["loss"] < summary["baselines"]["uniform"]["loss"] - 0.5
    shapes = json.loads(
        (tmp_path / "tied" / "checkpoints" / "best" / "meta.json").read_text())
    assert "readout.weight" not in json.dumps(shapes)
    code, out, _ = sf("eval", str(tmp_path / "tied"))
    assert code == 0 and f"{summary['metrics']['test']['loss']:.6g}" in out
    code, out, _ = sf("sample", str(tmp_path / "tied"), "--prime", "First", "--length", "20")
    assert code == 0 and out.startswith("First") and len(out.rstrip("\n")) == 25


def test_sampled_softmax_trains_and_is_evaluated_with_the_full_softmax(sf, tmp_path):
    config = tmp_path / "sampled.toml"
    config.write_text('loss = "sampled_softmax"\n\n[loss_options]\nsamples = 12\n'
                      'sampler = "popularity"\n', encoding="utf-8")
    summary = run(sf, tmp_path / "sampled", "--embed", "8", "--config", str(config), *LEARN)
    val = summary["metrics"]["val"]["loss"]
    assert val < summary["baselines"]["uniform"]["loss"] - 0.5
    assert 'loss = "sampled_softmax"' in (tmp_path / "sampled" / "config.toml").read_text()
    # the reported validation loss is the full softmax's: evaluating again gives it
    assert api.load(tmp_path / "sampled").evaluate("val")["loss"] == pytest.approx(val,
                                                                                rel=1e-12)


@pytest.fixture
def old_run(tmp_path):
    """A copy of the run written before token inputs (tests must not write into the repo)."""
    return Path(shutil.copytree(OLD_RUN, tmp_path / "old"))


def test_a_run_from_before_token_inputs_still_evaluates(sf, old_run):
    first = json.loads((old_run / "metrics.jsonl").read_text().splitlines()[-1])
    assert first["step"] == 8 and first["best"]  # what the old code measured at its best step
    assert "inputs" not in (old_run / "config.toml").read_text()  # a pre-token config
    metrics = api.load(old_run).evaluate("val")
    assert metrics["loss"] == pytest.approx(first["val"]["loss"], rel=1e-6)
    code, out, _ = sf("eval", str(old_run))
    assert code == 0 and f"{metrics['loss']:.6g}" in out


def test_a_run_from_before_token_inputs_resumes_to_what_it_would_have_reached(sf, old_run):
    expected = json.loads((DATA / "onehot_run_b7375fe.expected.json").read_text())
    code, out, err = sf("run", "--resume", str(old_run))
    assert code == 0, err
    summary = json.loads((old_run / "summary.json").read_text())
    assert summary["steps"] == expected["steps"] == 12
    for key, value in expected["metrics"]["val"].items():
        assert summary["metrics"]["val"][key] == pytest.approx(value, rel=1e-6)
    assert (old_run / "samples.txt").read_text(encoding="utf-8") == expected["samples"]


def test_embed_needs_token_inputs(sf, tmp_path):
    code, _, err = sf("run", *SMALL, "--out", str(tmp_path / "r"), "-o", "inputs=onehot",
                      "--embed", "8")
    assert code == 2
    assert "--embed 8 needs token inputs, but this task gives dense features (52 per step)" in err
