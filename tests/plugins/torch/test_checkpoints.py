"""Checkpoints are backend-neutral: a run saved by one backend continues or evaluates on another.

A run continued on the other backend must take the very steps it takes when continued on its own
(parameters, Adam's slots, the carried hidden state, the dropout RNG and the data cursor all cross
over); that a resumed run equals an uninterrupted one is the trainer's own test.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqframe_numpy.ops import NumpyOps  # noqa: E402
from seqframe_torch.ops import TorchOps  # noqa: E402

from tests.plugins.torch.copy_task import continue_on, trainer_losses  # noqa: E402

BACKENDS = {
    "numpy": lambda: NumpyOps(dtype="float64"),
    "torch": lambda: TorchOps(dtype="float64", device="cpu", fused=False),
    "torch-fused": lambda: TorchOps(dtype="float64", device="cpu", fused=True),
}


@pytest.mark.parametrize("first, then", [("numpy", "torch"), ("torch", "numpy"),
                                         ("numpy", "torch-fused")])
def test_a_checkpoint_continues_on_the_other_backend(tmp_path, first, then):
    """Continuing on the other backend takes the steps continuing on the same one takes."""
    trainer_losses(BACKENDS[first](), "lstm", tmp_path / "first", steps=6)
    same = continue_on(BACKENDS[first](), "lstm", tmp_path / "first", tmp_path / "same", 12)
    other = continue_on(BACKENDS[then](), "lstm", tmp_path / "first", tmp_path / "other", 12)
    assert len(other) == len(same) == 6
    tol = 1e-7 if then == "torch-fused" else 1e-9
    np.testing.assert_allclose(other, same, rtol=tol, atol=0)
    _, fresh = trainer_losses(BACKENDS[then](), "lstm", tmp_path / "fresh", steps=6)
    assert np.max(np.abs(np.subtract(other, fresh))) > 1e-3  # the checkpoint's state was used


@pytest.mark.slow
@pytest.mark.parametrize("backend, other", [("torch", "numpy"), ("numpy", "torch")])
def test_a_run_evaluates_on_the_other_backend(tmp_path, backend, other):
    from seqframe.runs import api
    from seqframe.runs.build import resolve_config

    config = resolve_config({
        "task": "adding", "backend": backend, "dtype": "float64", "device": "cpu",
        "cell": "gru", "hidden": 8, "batch_size": 16, "steps": 4, "eval_every": 2,
        "out": str(tmp_path / "run"), "quiet": True,
        "options": {"length": 8, "train_size": 64, "val_size": 32, "test_size": 32},
    })
    summary = api.train_config(config, log=lambda _m: None)
    assert summary["backend"] == backend
    own = api.load(tmp_path / "run").evaluate("test")
    crossed = api.load(tmp_path / "run", other).evaluate("test")
    assert set(own) == set(crossed) and own
    for name, value in own.items():
        assert crossed[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
