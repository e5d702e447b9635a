"""--ensemble K: combining outputs, members as ordinary runs, resume, reopening, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from seqframe.cli.render import format_summary
from seqframe.engine.predictor import task_metrics
from seqframe.errors import ConfigError, ExitCode
from seqframe.losses import MSE, CrossEntropy, GaussianNLL
from seqframe.runs import api, ensemble, single
from seqframe.training.trainer import Interrupted


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_cross_entropy_members_average_their_probabilities():
    a, b = np.array([[2.0, 0.0, -1.0]]), np.array([[0.0, 3.0, 0.5]])
    combined = CrossEntropy().combine([a, b])
    np.testing.assert_allclose(softmax(combined), (softmax(a) + softmax(b)) / 2, rtol=1e-12)
    np.testing.assert_allclose(np.exp(combined).sum(), 1.0)  # already log-probabilities


def test_mse_members_average_and_gaussians_merge_into_their_mixture():
    np.testing.assert_allclose(MSE().combine([np.array([1.0, 2.0]),
                                                        np.array([3.0, 6.0])]), [2.0, 4.0])
    # N(0, 1) and N(2, 3): mixture mean 1, variance (1 + 0 + 3 + 4) / 2 - 1 = 3
    one = np.array([[0.0, np.log(1.0)]])
    two = np.array([[2.0, np.log(3.0)]])
    mean, logvar = GaussianNLL().combine([one, two])[0]
    assert mean == pytest.approx(1.0) and np.exp(logvar) == pytest.approx(3.0)


class Scripted:
    """Outputs a fixed row per call and counts the states handed back to it."""

    def __init__(self, row):
        self.row, self.seen = np.asarray(row, float), []

    def predict(self, inputs, mask=None, state=None):
        self.seen.append(state)
        return np.tile(self.row, (len(inputs), 1)), (0 if state is None else state) + 1


def test_predictor_keeps_one_state_per_member():
    members = [Scripted([0.0, 1.0]), Scripted([1.0, 0.0])]
    predictor = ensemble.EnsemblePredictor(members, MSE())
    out, state = predictor.predict(np.zeros((3, 2, 1)))
    np.testing.assert_allclose(out, np.full((3, 2), 0.5))
    assert state == (1, 1)
    _, state = predictor.predict(np.zeros((3, 2, 1)), state=state)
    assert state == (2, 2) and [m.seen for m in members] == [[None, 1], [None, 1]]


class Summing:
    """Outputs each row's sum of inputs over valid steps and channels: shows what it was given."""

    def predict(self, inputs, mask=None, state=None):
        valid = np.ones(inputs.shape[:2], bool) if mask is None else mask
        return (inputs * valid[..., None]).sum(axis=(1, 2))[:, None], None


def test_each_member_reads_the_inputs_through_its_own_view():
    views = [None, lambda inputs, mask: inputs * 3.0]
    predictor = ensemble.EnsemblePredictor([Summing(), Summing()], MSE(), views)
    inputs, mask = np.ones((2, 4, 1)), np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    out, _ = predictor.predict(inputs, mask)
    np.testing.assert_allclose(out[:, 0], [(4 + 12) / 2, (2 + 6) / 2])


def test_members_are_ordinary_runs_and_test_uses_the_combined_model(tiny_config, tmp_path):
    summary = api.train_config(tiny_config(ensemble=3, epochs=2, seed=0, out=str(tmp_path / "ens")))
    single = api.train_config(tiny_config(epochs=2, seed=0, out=str(tmp_path / "single")))
    root = tmp_path / "ens"
    assert summary["ensemble"] == 3 and [m["seed"] for m in summary["members"]] == [0, 1, 2]
    member0 = json.loads((root / "member-0" / "summary.json").read_text())
    assert member0["metrics"] == single["metrics"]  # with seed 0, member 0 is the single run
    assert api.open_run(root / "member-1")[2].seed == 1
    # the ensemble's test score is the task's metric of the averaged probabilities
    task, _, _ = api.open_run(root / "member-0")
    members = [api.open_run(root / f"member-{m}")[1] for m in range(3)]
    x, _, mask = task.data["test"]

    class Averaged:
        def predict(self, inputs, mask=None, state=None):
            probs = np.mean([softmax(p.predict(inputs, mask)[0]) for p in members], axis=0)
            return np.log(probs), None

    assert summary["metrics"]["test"] == pytest.approx(task_metrics(task, Averaged(), "test"))
    assert summary["steps"] == sum(m["steps"] for m in summary["members"])
    # the tiny task shares one validation split, so the combined model is scored on it too
    assert summary["metrics"]["val"] == pytest.approx(task_metrics(task, Averaged(), "val"))
    assert api.load(root).evaluate() == pytest.approx(summary["metrics"]["test"])
    assert format_summary(summary).startswith("tiny / lstm on numpy (ensemble of 3): ")


def test_ensembles_with_other_seeds_share_no_member(tiny_config):
    seeds = [[ensemble.member_seed(tiny_config(ensemble=4, seed=s), m) for m in range(4)]
             for s in range(3)]
    assert seeds == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_resume_finishes_the_members_left(tiny_config, tmp_path):
    root = tmp_path / "ens"
    whole = api.train_config(tiny_config(ensemble=3, epochs=2, out=str(root)))
    (root / "summary.json").unlink()
    (root / "member-2" / "summary.json").unlink()  # stopped after its last checkpoint
    shutil.rmtree(root / "member-1" / "checkpoints")  # stopped before its first checkpoint
    (root / "member-1" / "summary.json").unlink()
    again = api.resume_summary(root)
    for key in ("metrics", "steps"):
        assert again[key] == whole[key]
    assert json.loads((root / "summary.json").read_text())["metrics"] == whole["metrics"]


def test_ctrl_c_in_a_member_points_at_the_ensemble(tiny_config, tmp_path, monkeypatch):
    root = tmp_path / "ens"
    root.mkdir()
    config = tiny_config(ensemble=2, out=str(root))
    real_train = single.train

    def stopped_second_member(member_config, world, log, task_state=None):
        if member_config.seed == 1:
            raise Interrupted(member_config.out, step=7, saved=True)
        return real_train(member_config, world, log, task_state)

    monkeypatch.setattr(single, "train", stopped_second_member)
    with pytest.raises(Interrupted, match=r"interrupted at step 7; a checkpoint was written. "
                                          r"Continue with `seqframe run --resume .*ens`\.") as info:
        ensemble.train(config.replace(seed=0), root, log=lambda _: None)
    assert info.value.exit_code == 130


def test_bad_ensemble_settings_are_refused(tiny_config, sf):
    with pytest.raises(ConfigError, match=r"--ensemble must be at least 1; got 0") as info:
        api.train_config(tiny_config(ensemble=0))
    assert info.value.exit_code == ExitCode.USAGE
    with pytest.raises(ConfigError, match=r"--ensemble trains its members one after another "
                                          r"in one process; drop --nproc"):
        api.train_config(tiny_config(ensemble=2, nproc=2, backend="torch"))
    with pytest.raises(ConfigError, match=r"drop --nproc"):  # a rank started by torchrun
        ensemble.check(tiny_config(ensemble=2), world_size=2)
    code, _, err = sf("run", "--ensemble", "0", "--epochs", "1", "-q")
    assert code == 2 and "--ensemble must be at least 1" in err


def test_grad_flow_asks_for_one_member(tiny_config, tmp_path):
    from seqframe.diagnostics.gradflow import gradient_flow

    root = tmp_path / "ens"
    api.train_config(tiny_config(ensemble=2, out=str(root)))
    with pytest.raises(ConfigError, match=r"is an ensemble of 2 runs; gradient flow is a "
                                          r"property of one model. Pass a member: --run"):
        gradient_flow(run_dir=root)
