"""`seqframe run --embed/--tie-weights/--loss`: the flags reach the run's config (a run file's
values stand when a flag is absent), and settings the task or model cannot take exit 2 with
what was wrong and what to do."""

from __future__ import annotations

import pytest

from seqframe.config import read_resolved

CHARLM = ("--task", "charlm", "--backend", "numpy", "--hidden", "8", "--batch-size", "2",
          "--bptt", "10", "--steps", "2", "-o", "max_chars=2000", "-o", "seq_len=10",
          "-o", "sample_length=5", "-o", "ngram_order=2", "-o", "eval_streams=2", "--quiet")


@pytest.mark.parametrize(("args", "message"), [
    ((*CHARLM, "--sparse-grads"),
     "--sparse-grads keeps the gradients of an embedding table (--embed E) and of a readout "
     "scored on a few classes (--loss sampled_softmax) row-sparse; this model has neither (loss "
     "'cross_entropy', embed 0). Add one, or drop --sparse-grads."),
    (("--task", "timeseries", "--embed", "8"),
     "--embed 8 needs token inputs, but this task gives dense features (1 per step); drop "
     "--embed."),
    ((*CHARLM, "--tie-weights"),
     "--tie-weights shares the embedding table with the readout, so it needs token inputs and "
     "--embed E."),
    ((*CHARLM, "--embed", "16", "--tie-weights"),
     "--tie-weights needs --embed equal to the readout's input, hidden x directions = 8 x 1 = "
     "8; got --embed 16. Use --embed 8 or --hidden 16."),
    ((*CHARLM, "--loss", "mse"),
     "task 'charlm' trains with loss 'cross_entropy' or 'sampled_softmax'; 'mse' is not one of "
     "them."),
    (("--task", "timeseries", "--loss", "sampled_softmax"),
     "loss 'sampled_softmax' takes 'classes' as targets, but task 'timeseries' gives 'values'"),
    ((*CHARLM, "--embed", "-3"), "--embed must be 0 (no embedding) or a positive width; got -3."),
])
def test_settings_the_task_or_model_cannot_take_exit_2(sf, tmp_path, args, message):
    code, out, err = sf("run", *args, "--out", str(tmp_path / "run"))
    assert code == 2, err
    assert message in err and not out
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_the_flags_reach_the_config_and_a_run_file_stands_without_them(sf, tmp_path):
    run_file = tmp_path / "run.toml"
    run_file.write_text("embed = 8\ntie_weights = true\n", encoding="utf-8")
    code, _, err = sf("run", *CHARLM, "--config", str(run_file), "--out", str(tmp_path / "a"))
    assert code == 0, err
    config = read_resolved(tmp_path / "a" / "config.toml")
    assert (config.embed, config.tie_weights, config.loss) == (8, True, "")
    code, _, err = sf("run", *CHARLM, "--embed", "8", "--loss", "sampled_softmax",
                      "--out", str(tmp_path / "b"))
    assert code == 0, err
    config = read_resolved(tmp_path / "b" / "config.toml")
    assert (config.embed, config.tie_weights, config.loss) == (8, False, "sampled_softmax")
