"""The translate task trained end to end: `seqframe run`, `seqframe translate`, `Run.translate`,
exact resume, and a NumPy checkpoint translating identically on torch."""

from __future__ import annotations

import importlib.util
import json

import pytest

import seqframe
from seqframe.training.trainer import Interrupted, Trainer

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="needs torch (pip install 'seqframe[torch]')")

SMALL = ["--hidden", "16", "--batch-size", "32", "-o", "baselines=false",
         "-o", "eval_batch_size=50", "-o", "max_output_extra=3"]


def small_run(sf, out, *extra, backend="numpy", steps=12):
    code, _, err = sf("run", "--task", "translate", "--backend", backend, "--steps", str(steps),
                      "--out", str(out), "--quiet", *SMALL, *extra)
    assert code == 0, err
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small run on the built-in sample, float64 on numpy (shared by the tests below)."""
    from seqframe.cli.main import main

    out = tmp_path_factory.mktemp("translate") / "run"
    with pytest.raises(SystemExit) as info:
        main(["run", "--task", "translate", "--backend", "numpy", "--dtype", "float64",
              "--steps", "40", "--out", str(out), "--quiet", *SMALL,
              "-o", "attention_plots=2", "--config", str(_config(out.parent))])
    assert info.value.code == 0
    return out


def _config(folder):
    path = folder / "model.toml"  # model keys without flags go through a run file
    path.write_text('embed = 12\nattention = "additive"\nlr = 0.01\n')
    return path


def test_a_run_reports_the_metrics_and_writes_the_artefacts(trained):
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["task"] == "translate" and summary["steps"] == 40
    assert set(summary["metrics"]["test"]) == {"bleu", "bleu_cased", "chrf", "loss",
                                               "perplexity"}
    assert summary["metrics"]["test"]["loss"] < 5.0  # below uniform over the vocabulary (~5.5)
    assert "encoder generic BPTT, decoder generic BPTT, attention additive" in summary["paths"]
    lines = (trained / "translations.txt").read_text("utf-8").splitlines()
    assert len(lines) == 100  # one per test sentence of the sample
    assert (trained / "attention-1.png").stat().st_size > 1000
    assert (trained / "attention-2.png").exists() and not (trained / "attention-3.png").exists()


def test_seqframe_translate_texts_files_and_beams(sf, trained, tmp_path):
    code, out, err = sf("translate", str(trained), "--text", "der Hund schläft .",
                        "--text", "eine Frau liest ein Buch .", "--beam", "3")
    assert code == 0, err
    assert len(out.splitlines()) == 2 and all(line.strip() for line in out.splitlines())
    sentences = tmp_path / "in.txt"
    sentences.write_text("der Hund schläft .\n\neine Frau liest ein Buch .\n", "utf-8")
    code, from_file, err = sf("translate", str(trained), "--file", str(sentences), "--beam", "3")
    assert code == 0, err
    got = from_file.splitlines()
    assert got[0] == out.splitlines()[0] and got[1] == "" and got[2] == out.splitlines()[1]


@needs_torch
def test_run_translate_is_the_same_on_both_backends(trained):
    test_sources = (seqframe.load(trained).task.pairs["test"].source)[:20]
    on_numpy = seqframe.load(trained).translate(list(test_sources), beam=4)
    on_torch = seqframe.load(trained, backend="torch").translate(list(test_sources), beam=4)
    assert on_torch == on_numpy
    greedy = seqframe.load(trained, backend="torch").translate(list(test_sources), beam=1)
    assert greedy == seqframe.load(trained).translate(list(test_sources), beam=1)
    assert seqframe.load(trained).translate("der Hund schläft .") == \
        seqframe.load(trained).translate(["der Hund schläft ."])


def test_translations_txt_is_what_the_test_metrics_scored(trained):
    # the file holds the test translations at -o beam (1 here); translating the test sources
    # again gives the same lines
    run = seqframe.load(trained)
    sources = run.task.pairs["test"].source
    assert run.translate(list(sources), beam=1) == \
        (trained / "translations.txt").read_text("utf-8").splitlines()


@pytest.mark.parametrize(("args", "message"), [
    (["--beam", "0", "--text", "x"], "--beam must be at least 1"),
    ([], "nothing to translate"),
    (["--file", "missing.txt"], "cannot read 'missing.txt'"),
])
def test_translate_usage_errors(sf, trained, args, message):
    code, _, err = sf("translate", str(trained), *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_translate_a_file_that_is_not_utf8(sf, trained, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("der Hund\nschön\n".encode("latin-1"))
    code, _, err = sf("translate", str(trained), "--file", str(bad))
    assert code == 2 and "line 2: not valid UTF-8 (byte 0xf6)" in err


def test_translate_refuses_a_run_of_another_task(sf, tmp_path):
    code, _, err = sf("run", "--task", "adding", "--steps", "2", "--out", str(tmp_path / "a"),
                      "--quiet", "-o", "train_size=64", "-o", "val_size=32",
                      "-o", "test_size=32")
    assert code == 0, err
    code, _, err = sf("translate", str(tmp_path / "a"), "--text", "x")
    assert code == 2
    assert "`seqframe translate` does not apply to this run" in " ".join(err.split())


@pytest.mark.parametrize(("flags", "message"), [
    (["--bptt", "5"], "reads each sentence pair whole"),
    (["--ensemble", "2"], "--ensemble combines the outputs of single-stack models"),
])
def test_settings_that_do_not_apply_are_refused(sf, tmp_path, flags, message):
    code, _, err = sf("run", "--task", "translate", "--steps", "1", "--out",
                      str(tmp_path / "r"), *flags)
    assert code == 2 and message in " ".join(err.split()), err


def test_an_interrupted_run_resumes_exactly(sf, tmp_path, monkeypatch):
    extra = ["--dropout", "0.3", "--checkpoint-every", "2", "--eval-every", "3",
             "--dtype", "float64"]
    straight = small_run(sf, tmp_path / "straight", *extra, steps=7)
    original = Trainer._after_step

    def stop_after_four(self):
        original(self)
        if self.state.step == 4:
            self.interrupt.set = True  # as Ctrl-C does

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "_after_step", stop_after_four)
        with pytest.raises(Interrupted):
            seqframe.train(task="translate", backend="numpy", steps=7, hidden=16, batch_size=32,
                           dropout=0.3, checkpoint_every=2, eval_every=3, dtype="float64",
                           out=str(tmp_path / "stopped"), quiet=True,
                           options={"baselines": False, "eval_batch_size": 50,
                                    "max_output_extra": 3})
    resumed = seqframe.resume(tmp_path / "stopped").summary
    assert resumed["metrics"] == straight["metrics"]  # exact float equality
    assert resumed["steps"] == 7


@pytest.mark.slow
@needs_torch
def test_torch_trains_the_sample_past_word_for_word(tmp_path):
    # the sample's word-for-word baseline gets agreement and word order wrong; a small
    # attention model learns both in a minute or two of CPU (measured: test BLEU 62 against 45)
    run = seqframe.train(task="translate", backend="torch", epochs=30, hidden=64,
                         batch_size=32, quiet=True, out=str(tmp_path / "run"),
                         options={"attention_plots": 0})
    summary = run.summary
    assert summary["metrics"]["test"]["bleu"] > summary["baselines"]["word_for_word"]["bleu"]


def test_a_model_without_attention_trains_and_draws_no_heat_maps(sf, tmp_path):
    run_file = tmp_path / "none.toml"
    run_file.write_text('attention = "none"\nembed = 8\nbidirectional = false\n')
    summary = small_run(sf, tmp_path / "run", "--config", str(run_file), steps=3)
    assert "attention none" in next(iter(summary["paths"]))
    names = [p.rsplit("/", 1)[-1] for p in summary["artefacts"]]
    assert sorted(names) == ["curves.png", "translations.txt"]  # no attention heat maps
