"""Losses as a user meets them: `seqframe plugins` and `seqframe losses` list them, and a run
may choose a registered loss (`loss` / `[loss_options]` in its run file) where it fits the task.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.test_cli import with_plugins  # noqa: F401  (a fixture)
from tests.test_plugins import fixture_ep

BUILTIN_LOSSES = ["cross_entropy", "ctc", "gaussian_nll", "mse", "sampled_softmax"]
TASK_LOSSES = ["bpr_max", "top1_max"]  # registered by the nextitem task's plugin


@pytest.fixture
def lossy(with_plugins):  # noqa: F811
    """The real plugins plus tests/plugin_fixtures/losses.py as distribution seqframe-lossy."""
    return with_plugins(fixture_ep("lossy", "losses"))


def run_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return str(path)


# ---- listing ---------------------------------------------------------------------------------


def test_plugins_lists_the_losses_each_plugin_registered(sf, lossy):
    code, out, _ = sf("plugins")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "loss: cross_entropy, ctc, gaussian_nll, mse, sampled_softmax" in rows["losses"]
    assert rows["losses"].endswith("ok")
    assert "task: picky-adding; loss: abs-error, gone-loss, sequence-mse" in rows["lossy"]
    code, out, _ = sf("plugins", "--json")
    plugins = {row["name"]: row for row in json.loads(out)}
    assert plugins["losses"]["registered"] == {
        "loss": ["cross_entropy", "sampled_softmax", "mse", "gaussian_nll", "ctc"]}
    assert plugins["lossy"]["registered"] == {
        "loss": ["abs-error", "sequence-mse", "gone-loss"], "task": ["picky-adding"]}
    assert plugins["lossy"]["distribution"] == "seqframe-lossy"


def test_losses_lists_every_loss_with_targets_needs_outputs_and_options(sf, lossy):
    code, out, _ = sf("losses")
    assert code == 0
    header, rule, *lines = out.splitlines()
    assert header.split() == ["loss", "targets", "needs", "outputs", "options", "description",
                              "from"]
    rows = {line.split()[0]: line.split(maxsplit=5) for line in lines}
    assert sorted(rows) == sorted([*BUILTIN_LOSSES, *TASK_LOSSES, "abs-error", "gone-loss",
                                   "sequence-mse"])
    assert rows["cross_entropy"][1:5] == ["classes", "logits", "O", "-"]
    assert rows["gaussian_nll"][1:5] == ["values", "logits", "2*O", "-"]
    assert rows["sampled_softmax"][1:4] == ["classes", "features", "O"]
    assert "samples=512, sampler=log_uniform, alpha=0.75 softmax over" in \
        " ".join(" ".join(rows["sampled_softmax"][4:]).split())
    assert rows["abs-error"][1:5] == ["values", "logits", "O", "scale=1.0"]
    assert rows["abs-error"][5].endswith("seqframe-lossy 1.2.3")
    # a loss that cannot be imported is listed as such; the listing itself works
    assert "unavailable: loss 'gone-loss' could not be loaded from " \
           "'tests.plugin_fixtures.no_such_module:Loss'" in " ".join(rows["gone-loss"])


def test_losses_json_has_every_fact(sf, lossy):
    code, out, _ = sf("losses", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["sequence-mse"]["per_sequence"] is True
    assert rows["abs-error"]["options"] == [
        {"name": "scale", "type": "float", "default": 1.0, "help": "multiplies the loss."}]
    sampler = next(o for o in rows["sampled_softmax"]["options"] if o["name"] == "sampler")
    assert sampler["help"].endswith("One of: log_uniform, popularity.")
    assert rows["gone-loss"]["error"].startswith("loss 'gone-loss' could not be loaded")
    assert (rows["mse"]["metric"], rows["mse"]["mode"]) == ("loss", "min")


def test_one_loss_in_full(sf, lossy):
    code, out, _ = sf("losses", "abs-error")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "abs-error: mean absolute error over O values (a test plugin)"
    assert lines[1].startswith("targets: values; needs: logits; outputs: O")
    assert lines[2] == "from: seqframe-lossy 1.2.3 (plugin 'lossy')"
    assert lines[-1].split(maxsplit=3) == ["scale", "float", "1.0", "multiplies the loss."]
    code, out, _ = sf("losses", "mse")
    assert code == 0 and out.splitlines()[-1] == "no options"


def test_an_unknown_or_broken_loss_by_name(sf, lossy):
    code, _, err = sf("losses", "mes")
    assert code == 2 and "unknown loss 'mes'; did you mean 'mse'?" in err
    code, _, err = sf("losses", "gone-loss")
    assert code == 3 and "could not be loaded from 'tests.plugin_fixtures.no_such_module" in err


# ---- choosing a loss for a run ---------------------------------------------------------------

def adding(loss: str = "", loss_options: str = "", task: str = "adding") -> str:
    """A short run file of the adding task; ``loss`` and ``[loss_options]`` when given."""
    return (f'task = "{task}"\nhidden = 4\nbatch_size = 16\nsteps = 4\neval_every = 2\n'
            f'clip_norm = 0.0\nseed = 3\n' + (f'loss = "{loss}"\n' if loss else "")
            + "[options]\nlength = 6\ntrain_size = 64\nval_size = 16\ntest_size = 16\n"
            + (f"[loss_options]\n{loss_options}\n" if loss_options else ""))


def train_losses(sf, tmp_path: Path, name: str, text: str) -> list[float]:
    out = tmp_path / name
    code, _, err = sf("run", "--config", run_file(tmp_path, text), "--out", str(out), "--quiet")
    assert code == 0, err
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["train_loss"] for r in records if "train_loss" in r]


def test_a_run_trains_with_a_plugin_loss_that_fits_the_task(sf, lossy, tmp_path):
    # Adam's step is unchanged when the loss is scaled (up to its eps), so the same run with
    # the loss doubled reports exactly twice the training loss: the option reached the loss.
    once = train_losses(sf, tmp_path, "once", adding("abs-error"))
    twice = train_losses(sf, tmp_path, "twice", adding("abs-error", "scale = 2.0"))
    assert len(once) == 2 and all(math.isclose(b, 2 * a, rel_tol=1e-5)
                                  for a, b in zip(once, twice, strict=True))
    mse = train_losses(sf, tmp_path, "mse", adding())
    assert not math.isclose(mse[0], once[0], rel_tol=1e-3)  # another loss, another number
    code, out, err = sf("eval", str(tmp_path / "twice"))  # reopening rebuilds the loss
    assert code == 0 and out.splitlines()[2].startswith("mse"), err


@pytest.mark.parametrize("loss, message", [
    ("cross_entropy", "loss 'cross_entropy' takes 'classes' as targets, but task 'adding' gives "
                      "'values' (its own loss is 'mse')"),
    ("gaussian_nll", "loss 'gaussian_nll' makes the model give 2 outputs for the 1 target "
                     "value(s) of task 'adding', which reads 1, as its own loss 'mse' shapes "
                     "them. Choose a loss with as many outputs as 'mse' (`seqframe losses` lists "
                     "each loss's targets and outputs), or leave `loss` out to train with 'mse'."),
    ("sequence-mse", "loss 'sequence-mse' scores whole sequences, but task 'adding' trains with "
                     "'mse', which scores one target per row. Choose a loss that scores one "
                     "target per row"),
    ("nope", "unknown loss 'nope'"),
])
def test_a_loss_that_does_not_fit_the_task_is_refused(sf, lossy, tmp_path, loss, message):
    out = tmp_path / "r"
    code, _, err = sf("run", "--config", run_file(tmp_path, adding(loss)),
                      "--out", str(out))
    assert code == 2 and message in err, err
    assert not (out / "checkpoints").exists()


def test_bad_loss_options_are_refused_naming_the_option(sf, lossy, tmp_path):
    text = adding("abs-error", "bogus = 1")
    code, _, err = sf("run", "--config", run_file(tmp_path, text), "--out", str(tmp_path / "r"))
    assert code == 2 and "unknown option 'bogus' for loss 'abs-error'. Valid options: scale" in err


def test_a_task_that_lists_its_losses_allows_only_those(sf, lossy, tmp_path):
    assert len(train_losses(sf, tmp_path, "ok", adding("abs-error", task="picky-adding"))) == 2
    text = adding("sequence-mse", task="picky-adding")
    code, _, err = sf("run", "--config", run_file(tmp_path, text),
                      "--out", str(tmp_path / "refused"))
    assert code == 2
    assert "task 'picky-adding' trains with loss 'mse' or 'abs-error'; 'sequence-mse' is not " \
           "one of them" in err


def test_a_loss_option_of_the_wrong_type_is_refused_naming_it(sf, lossy, tmp_path):
    text = adding("abs-error", 'scale = "big"')
    code, _, err = sf("run", "--config", run_file(tmp_path, text), "--out", str(tmp_path / "r"))
    assert code == 2
    assert "loss 'abs-error' option 'scale' expects float, got 'big'. Set it in the run's " \
           "[loss_options] table." in err
