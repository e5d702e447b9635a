"""Run directories written before [wider-models] still evaluate and resume with today's code.

tests/fixtures/old-runs holds three small runs made by seqframe at commit 44f06e4 (before losses
became plugins, before token inputs and cells with their own parameters), each stopped mid-run
the way Ctrl-C stops one, and what that old code measured on them (``expected.json``): the
evaluation of the best checkpoint on every split and backend, the ``seqframe eval`` table it
printed, and the run resumed to its end. make_old_runs.py in that folder made them.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from pathlib import Path

import pytest

import seqframe

OLD_RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "old-runs"
RUNS = sorted(p.name for p in OLD_RUNS.iterdir() if (p / "expected.json").is_file())
HAS_TORCH = importlib.util.find_spec("torch") is not None


def on_gpu() -> bool:
    """The torch backend's device "auto" is a GPU here: float32 there (cuDNN's TF32 kernels)
    cannot repeat the CPU's recorded numbers to the last digits."""
    if not HAS_TORCH:
        return False
    import torch

    return torch.cuda.is_available()


def rel(backend: str, cpu: float) -> float:
    """The relative tolerance for numbers computed on ``backend`` (recorded on a CPU)."""
    return 5e-3 if backend == "torch" and on_gpu() else cpu


def expected(name: str) -> dict:
    return json.loads((OLD_RUNS / name / "expected.json").read_text())


def copy_of(name: str, tmp_path: Path) -> Path:
    """A scratch copy: nothing here may write into the fixtures."""
    return Path(shutil.copytree(OLD_RUNS / name, tmp_path / name))


def needs_backend(backend: str) -> None:
    if backend == "torch" and not HAS_TORCH:
        pytest.skip("torch is not installed")


def assert_metrics(got: dict, want: dict, rel: float, what: str) -> None:
    assert set(got) == set(want), f"{what}: metrics {sorted(got)}, recorded {sorted(want)}"
    for key, value in want.items():
        assert math.isclose(got[key], value, rel_tol=rel, abs_tol=1e-12), (
            f"{what}: {key} = {got[key]!r}, the old code measured {value!r}")


def parse_table(text: str) -> dict[str, float]:
    """``seqframe eval``'s two-column table as {metric: value}."""
    rows = [line.split() for line in text.strip().splitlines()[2:]]
    return {name: float(value) for name, value in rows}


def test_the_fixtures_are_there():
    assert RUNS == ["numpy-adding-rnn", "numpy-timeseries-gaussian", "torch-charlm-gru"]
    for name in RUNS:
        meta = json.loads((OLD_RUNS / name / "checkpoints" / "latest" / "meta.json").read_text())
        assert meta["loop"]["step"] == expected(name)["stopped_at"]
        assert not meta["loop"]["finished"]  # an unfinished run: resume has work to do


@pytest.mark.parametrize("name", RUNS)
def test_seqframe_eval_prints_what_the_old_code_printed(sf, name, tmp_path):
    backend = "torch" if name.startswith("torch") else "numpy"  # the run's own
    needs_backend(backend)
    run = copy_of(name, tmp_path)
    for split, table in expected(name)["eval_cli"].items():
        code, out, err = sf("eval", str(run), "--split", split)
        assert code == 0, err
        got, want = parse_table(out), parse_table(table)
        # printed to 6 digits
        assert_metrics(got, want, rel(backend, 1e-5), f"{name} eval --split {split}")


@pytest.mark.parametrize("name", RUNS)
def test_evaluation_matches_the_recorded_numbers_on_every_backend(name, tmp_path):
    run = copy_of(name, tmp_path)
    for backend, splits in expected(name)["eval"].items():
        needs_backend(backend)
        loaded = seqframe.load(run, backend)
        for split, want in splits.items():
            # float32 runs: equal here; 1e-6 leaves room for another machine's BLAS
            assert_metrics(loaded.evaluate(split), want, rel(backend, 1e-6),
                           f"{name} on {backend} {split}")


@pytest.mark.parametrize("name", RUNS)
def test_resume_continues_to_the_end_the_old_code_reached(sf, name, tmp_path):
    run = copy_of(name, tmp_path)
    backend = "torch" if name.startswith("torch") else "numpy"
    needs_backend(backend)
    code, _, err = sf("run", "--resume", str(run))
    assert code == 0, err
    want = expected(name)["resumed"]
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["steps"], summary["stop_reason"], summary["best_step"]) == (
        want["steps"], want["stop_reason"], want["best_step"])
    for split, metrics in want["metrics"].items():
        assert_metrics(summary["metrics"][split], metrics, rel(backend, 1e-5),
                       f"{name} resumed, {split}")
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = {str(r["step"]): r["train_loss"] for r in records if "train_loss" in r}
    assert losses.keys() == want["train_loss"].keys()
    for step, loss in want["train_loss"].items():
        assert math.isclose(losses[step], loss, rel_tol=rel(backend, 1e-5)), (
            f"{name}: training loss at step {step} is {losses[step]}, the old code's {loss}")
