"""A tiny synthetic task for the trainer's tests: 3 inputs, 4 classes, learnable in a few steps.

The class at each step is the argmax of a fixed linear map of the running sum of the inputs, so
a recurrent model must carry information forward. Options switch on what the trainer must cope
with: a last-step readout, stateful streams, variable lengths (masks), an injected NaN.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from seqframe import hookimpl, plugins
from seqframe.task import Batch, ModelSpec, Task, TaskOption

D, CLASSES = 3, 4
MIX = np.array([[1.0, -1.0, 0.5, 0.0], [0.0, 1.0, -1.0, 0.5], [-0.5, 0.0, 1.0, -1.0]])


class TinyTask(Task):
    name = "tiny"
    description = "synthetic running-sum classification (tests only)"
    options = (
        TaskOption("readout", str, "every_step", "every_step or last",
                   choices=("every_step", "last")),
        TaskOption("stateful", bool, False, "consecutive chunks of long streams"),
        TaskOption("rows", int, 32, "training rows (streams when stateful)"),
        TaskOption("length", int, 12, "steps per training sequence (per chunk when stateful)"),
        TaskOption("chunks", int, 3, "chunks per stream when stateful"),
        TaskOption("ragged", bool, False, "variable-length rows (padded, masked)"),
        TaskOption("nan_batch", int, -1, "put a NaN into this training batch of epoch 0"),
    )
    run_defaults = {"epochs": 2, "hidden": 8, "batch_size": 8}
    metric = "loss"
    metric_mode = "min"

    def prepare(self, state=None):
        o = self.opts
        rng = np.random.default_rng(1234)
        total = o["length"] * (o["chunks"] if o["stateful"] else 1)
        self.data = {}
        for split, rows in (("train", o["rows"]), ("val", 16), ("test", 16)):
            x = rng.normal(size=(rows, total, D))  # (B, T, D)
            y = np.argmax(np.cumsum(x, axis=1) @ MIX, axis=-1)  # (B, T)
            mask = np.ones((rows, total), bool)
            if o["ragged"]:
                lengths = rng.integers(total // 2, total + 1, size=rows)
                mask = np.arange(total)[None, :] < lengths[:, None]
            self.data[split] = (x, y, mask)
        train_x = self.data["train"][0]
        self.scale = state["scale"] if state else float(train_x.std())
        return ModelSpec(D, CLASSES, o["readout"], "cross_entropy", o["stateful"])

    def state_dict(self):
        return {"scale": self.scale}

    def _targets(self, y, mask):
        if self.opts["readout"] == "every_step":
            return y
        last = mask.sum(axis=1) - 1
        return y[np.arange(len(y)), last]

    def train_batches(self, epoch, batch_size, seed):
        x, y, mask = self.data["train"]
        x = x / self.scale
        batches = []
        if self.opts["stateful"]:
            streams = min(batch_size, len(x))
            length = self.opts["length"]
            for c in range(self.opts["chunks"]):
                cut = slice(c * length, (c + 1) * length)
                batches.append(Batch(x[:streams, cut], y[:streams, cut], mask[:streams, cut],
                                     np.full(streams, c == 0)))
        else:
            order = np.random.default_rng([seed, epoch]).permutation(len(x))
            for start in range(0, len(x), batch_size):
                rows = order[start:start + batch_size]
                batches.append(Batch(x[rows].copy(), self._targets(y[rows], mask[rows]),
                                     mask[rows], np.ones(len(rows), bool)))
        if epoch == 0 and 0 <= self.opts["nan_batch"] < len(batches):
            batches[self.opts["nan_batch"]].inputs = batches[self.opts["nan_batch"]].inputs.copy()
            batches[self.opts["nan_batch"]].inputs[0, 0, 0] = np.nan
        return batches

    def evaluate(self, predictor, split):
        x, y, mask = self.data[split]
        out, _ = predictor.predict(x / self.scale, mask)
        targets = self._targets(y, mask)
        if self.opts["readout"] == "every_step":
            logits, keep = out[mask], targets[mask]
        else:
            logits, keep = out, targets
        logits = logits - logits.max(axis=-1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        loss = -logp[np.arange(len(keep)), keep].mean()
        return {"loss": float(loss), "accuracy": float((logits.argmax(-1) == keep).mean())}

    def baselines(self, split):
        return {"uniform": {"loss": math.log(CLASSES), "accuracy": 1.0 / CLASSES}}


@hookimpl
def seqframe_register_tasks(register):
    register("tiny", TinyTask, "synthetic running-sum classification (tests only)")


def registry_with_tiny() -> plugins.Registry:
    """The installed plugins plus this module as plugin ``tiny``, through the plugin door."""
    registry = plugins.build_registry()
    registry.add_module(sys.modules[__name__],
                        plugins.PluginRecord("tiny", __name__, "seqframe-tests", "0"))
    return registry


def install():
    """Make ``--task tiny`` resolvable in this process (used by subprocess tests)."""
    plugins._REGISTRY = registry_with_tiny()
