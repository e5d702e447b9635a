"""An in-memory task for driving the real Trainer on any backend (imports no torch).

The parity workload (:func:`seqframe.diagnostics.parity.synthetic_batches`) as a stateful
every-step task;
with ``eval_every=1`` the trainer writes every step's training loss to ``metrics.jsonl``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from seqframe.config import RunConfig
from seqframe.diagnostics.parity import ParityWorkload, synthetic_batches
from seqframe.engine.model import Model, ModelConfig
from seqframe.task import ModelSpec, Task
from tests.plugins.torch.window_cases import CELLS


class CopyTask(Task):
    """Stateful streams with resets and padding, every-step cross-entropy."""

    name = "parity-copy"
    work = ParityWorkload()

    def prepare(self, state=None):
        self.batches = synthetic_batches(self.work, count=4)
        return ModelSpec(self.work.features, self.work.classes, "every_step", "cross_entropy",
                         stateful=True)

    def state_dict(self):
        return {}

    def train_batches(self, epoch, batch_size, seed):
        return self.batches

    def evaluate(self, predictor, split):
        logits, _ = predictor.predict(self.batches[0].inputs[:2, :5])  # tiny: one eval per step
        return {"loss": float(np.mean(logits))}


def make_trainer(ops, cell: str, run_dir: Path, steps: int):
    """A Trainer for CopyTask on ``ops`` (2 layers, dropout, TBPTT k1=8/k2=12, clipping)."""
    from seqframe.training.trainer import Trainer

    task = CopyTask()
    spec = task.prepare()
    work = task.work
    config = RunConfig(backend=ops.name, task=task.name, cell=cell, hidden=work.hidden,
                       layers=2, dropout=0.2, batch_size=work.batch, bptt=work.bptt,
                       bptt_back=work.bptt_back, clip_norm=work.clip_norm, lr=work.lr,
                       steps=steps, eval_every=1, dtype=ops.dtype, seed=3, quiet=True)
    model = Model(ModelConfig(cell=cell, input_size=spec.input_size, hidden_size=work.hidden,
                              output_size=spec.output_size, layers=2, dropout=0.2), CELLS[cell]())
    params = {k: ops.asarray(v) for k, v in model.init_params(config.seed).items()}
    run_dir.mkdir(parents=True, exist_ok=True)
    return Trainer(config, task, spec, model, ops, params, run_dir, log=lambda _m: None)


def step_losses(run_dir: Path, after: int = 0) -> list[float]:
    """The per-step training losses metrics.jsonl holds for steps > ``after``."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return [r["train_loss"] for r in records if r["step"] > after]


def trainer_losses(ops, cell: str, run_dir: Path, steps: int = 50):
    """Train ``steps`` steps from scratch; the path the trainer took and its per-step losses."""
    trainer = make_trainer(ops, cell, run_dir, steps)
    trainer.fit()
    return trainer.path, step_losses(run_dir)


def continue_on(ops, cell: str, source: Path, run_dir: Path, steps: int):
    """Copy the run in ``source`` and continue it on ``ops`` from its latest checkpoint."""
    shutil.copytree(source, run_dir)
    trainer = make_trainer(ops, cell, run_dir, steps)
    trainer.restore("latest")
    done = trainer.state.step
    # The first run stopped at its own step limit; go on past it.
    trainer.state.finished, trainer.state.stop_reason = False, ""
    trainer.fit()
    return step_losses(run_dir, after=done)
