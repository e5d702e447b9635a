"""The loss tutorial's example plugin (docs/plugins/examples/huber-loss) installs as a user would
install it, passes its own tests, is listed, and a real run trains with it -- or is refused it,
with the reason, where the task cannot read its outputs."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs._tools import DOCS

EXAMPLE = DOCS / "plugins" / "examples" / "huber-loss"

# a short timeseries run; the learning rule is Adam without clipping, whose steps do not change
# when the loss is scaled (up to its eps)
RUN = ('task = "timeseries"\nhidden = 8\nsteps = 4\neval_every = 2\nclip_norm = 0.0\nseed = 1\n'
       '[options]\nlookback = 12\nhorizon = 3\n')


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    target = tmp_path_factory.mktemp("huber-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(EXAMPLE)],
        check=True, capture_output=True, text=True)
    return target


def seqframe(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "seqframe", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def run_file(tmp_path: Path, name: str, loss: str = "", options: str = "") -> str:
    head, table = RUN.split("[options]")
    text = head + (f'loss = "{loss}"\n' if loss else "") + "[options]" + table + options
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def train_losses(run_dir: Path) -> list[float]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["train_loss"] for r in records if "train_loss" in r]


def test_the_examples_own_tests_pass(site):
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            cwd=EXAMPLE, env={**os.environ, "PYTHONPATH": str(site),
                                              "OMP_NUM_THREADS": "1"},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_installed_it_is_listed_with_its_option(site):
    plugins = {row["name"]: row for row in json.loads(seqframe(site, "plugins", "--json").stdout)}
    assert plugins["huber"]["registered"] == {"loss": ["huber"]}
    assert plugins["huber"]["distribution"] == "seqframe-huber"
    result = seqframe(site, "losses", "huber")
    assert result.returncode == 0, result.stderr
    assert "targets: values; needs: logits; outputs: O" in result.stdout
    assert "delta" in result.stdout.splitlines()[-1]


def test_a_timeseries_run_trains_with_the_huber_loss(site, tmp_path):
    # With a delta larger than any residual the Huber loss is half the squared error: the run
    # reports half the mse run's training loss at every validation, step for step.
    huber, mse = tmp_path / "huber", tmp_path / "mse"
    result = seqframe(site, "run", "--config", run_file(tmp_path, "h.toml", "huber",
                                                        "[loss_options]\ndelta = 1e6\n"),
                      "--out", str(huber), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert seqframe(site, "run", "--config", run_file(tmp_path, "m.toml"), "--out", str(mse),
                    "--quiet").returncode == 0
    halves = train_losses(huber)
    assert len(halves) == 2
    assert all(math.isclose(h, m / 2, rel_tol=1e-5)
               for h, m in zip(halves, train_losses(mse), strict=True))
    assert 'loss = "huber"' in (huber / "config.toml").read_text()
    summary = json.loads((huber / "summary.json").read_text())
    assert math.isfinite(summary["metrics"]["test"]["mase"])
    evaluated = seqframe(site, "eval", str(huber))  # reopening the run rebuilds the plugin loss
    assert evaluated.returncode == 0 and "mase" in evaluated.stdout, evaluated.stderr


@pytest.mark.parametrize("text, message", [
    ('task = "charlm"\nloss = "huber"\n[options]\nmax_chars = 2000\n',
     "loss 'huber' takes 'values' as targets, but task 'charlm' gives 'classes' (its own loss is "
     "'cross_entropy')"),
    (RUN.replace("[options]", 'loss = "huber"\n[options]') + 'likelihood = "gaussian"\n',
     "loss 'huber' makes the model give 3 outputs for the 3 target value(s) of task "
     "'timeseries', which reads 6, as its own loss 'gaussian_nll' shapes them"),
])
def test_a_task_that_cannot_read_its_outputs_refuses_it(site, tmp_path, text, message):
    (tmp_path / "x.toml").write_text(text)
    result = seqframe(site, "run", "--config", str(tmp_path / "x.toml"), "--out",
                      str(tmp_path / "refused"))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "refused" / "checkpoints").exists()


def test_a_bad_delta_is_a_config_error(site, tmp_path):
    result = seqframe(site, "run", "--config", run_file(tmp_path, "d.toml", "huber",
                                                        "[loss_options]\ndelta = -1.0\n"),
                      "--out", str(tmp_path / "bad"))
    assert result.returncode == 2
    assert "loss 'huber' option 'delta' must be positive; got -1.0" in result.stderr
