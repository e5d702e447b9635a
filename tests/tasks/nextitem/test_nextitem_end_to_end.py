"""Training through the CLI on the built-in data: summary, baselines, ranking curves."""

from __future__ import annotations

import json

import pytest

LOO = {"hr@10", "ndcg@10", "full_hr@10", "full_ndcg@10"}


@pytest.fixture(scope="module")
def loo_run(tmp_path_factory):
    from seqframe.cli import main

    out = tmp_path_factory.mktemp("nextitem") / "run"
    with pytest.raises(SystemExit) as info:
        main(["run", "--task", "nextitem", "--backend", "numpy", "--steps", "40", "--hidden",
              "32", "--eval-every", "40", "--quiet", "--out", str(out)])
    assert info.value.code == 0
    return out


def test_run_reports_the_model_and_every_baseline_with_the_same_metrics(loo_run):
    summary = json.loads((loo_run / "summary.json").read_text())
    assert summary["metric"] == "full_ndcg@10" and summary["steps"] == 40
    assert set(summary["metrics"]["val"]) == set(summary["metrics"]["test"]) == LOO
    assert set(summary["baselines"]) == {"popularity", "item_knn", "markov"}
    assert all(set(m) == LOO for m in summary["baselines"].values())
    test, pop = summary["metrics"]["test"], summary["baselines"]["popularity"]
    # 40 small steps learn more than how popular items are
    assert test["full_ndcg@10"] > pop["full_ndcg@10"] and test["hr@10"] > pop["hr@10"]
    # sampled metrics rank against 100 items instead of 300: always the easier figure
    assert test["hr@10"] >= test["full_hr@10"]


def test_ranking_curves_agree_with_the_summary(loo_run):
    summary = json.loads((loo_run / "summary.json").read_text())
    assert (loo_run / "ranking_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curves = json.loads((loo_run / "ranking_curves.json").read_text())
    assert curves["k"] == list(range(1, 51))
    for kind, prefix in (("sampled", ""), ("full", "full_")):
        for name, figures in [("model", summary["metrics"]["test"]),
                              *summary["baselines"].items()]:
            at10 = curves["curves"][kind][name]
            assert at10["hr"][9] == pytest.approx(figures[f"{prefix}hr@10"], abs=1e-6)
            assert at10["ndcg"][9] == pytest.approx(figures[f"{prefix}ndcg@10"], abs=1e-6)
    report = json.loads((loo_run / "data.json").read_text())
    assert (report["users"], report["items"], report["evaluated_users"]) == (600, 300, 600)


def test_session_protocol_with_session_parallel_batches(sf, tmp_path):
    code, _, err = sf("run", "--task", "nextitem", "--backend", "numpy", "--steps", "30",
                      "--hidden", "16", "--quiet", "--out", str(tmp_path / "run"),
                      "-o", "protocol=session", "-o", "batching=parallel", "-o", "window=4")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["metric"] == "mrr@20"
    assert set(summary["metrics"]["test"]) == {"mrr@20", "recall@20"}
    markov = summary["baselines"]["markov"]
    assert 0 < markov["mrr@20"] < markov["recall@20"] <= 1


def _loss_config(tmp_path, loss: str, options: str = "") -> str:
    path = tmp_path / f"{loss}.toml"
    path.write_text(f'task = "nextitem"\nbackend = "numpy"\nloss = "{loss}"\n'
                    f"[loss_options]\n{options}", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("loss, options", [("sampled_softmax", 'sampler = "popularity"\n'
                                                               "samples = 64\n"),
                                           ("bpr_max", "samples = 32\n"),
                                           ("top1_max", "samples = 32\nalpha = 0.0\n")])
def test_a_run_trains_with_each_loss_the_task_allows(sf, tmp_path, loss, options):
    code, _, err = sf("run", "--config", _loss_config(tmp_path, loss, options), "--steps", "25",
                      "--hidden", "32", "--eval-every", "25", "--quiet",
                      "--out", str(tmp_path / "run"))
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    # 25 steps of any of the losses learn more than twice what popularity knows
    popularity = summary["baselines"]["popularity"]["full_ndcg@10"]
    assert summary["metrics"]["test"]["full_ndcg@10"] > 2 * popularity


def test_a_loss_the_task_does_not_allow_and_bad_loss_options(sf, tmp_path):
    for loss, options, message in [
            ("mse", "", "task 'nextitem' trains with loss 'cross_entropy' or 'sampled_softmax' or "
                        "'bpr_max' or 'top1_max'; 'mse' is not one of them"),
            ("bpr_max", "samples = 0\nin_batch = 0\n",
             "loss 'bpr_max' has no negatives: samples and in_batch are both 0"),
            ("top1_max", "reg = 1.0\n", "unknown option 'reg' for loss 'top1_max'")]:
        code, _, err = sf("run", "--config", _loss_config(tmp_path, loss, options), "--steps",
                          "1", "--quiet", "--out", str(tmp_path / "never"))
        assert code == 2, err
        assert message in " ".join(err.split())
