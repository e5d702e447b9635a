"""Sum regression: read T numbers, output their sum at the last step (readout "last", MSE)."""

import numpy as np

from seqframe.task import Batch, ModelSpec, Task, TaskOption


class SumTask(Task):
    name = "demo-sum"
    description = "predict the sum of a short sequence"
    options = (
        TaskOption("length", int, 6, "Steps per sequence (T)."),
        TaskOption("size", int, 256, "Training sequences."),
    )
    run_defaults = {"epochs": 2, "hidden": 8, "batch_size": 32}
    metric = "mse"

    def prepare(self, state=None):
        length = self.opts["length"]
        rng = np.random.default_rng(1234)  # fixed data, independent of the run seed
        self._data = {
            split: rng.uniform(-1, 1, size=(n, length, 1))  # (N, T, 1)
            for split, n in (("train", self.opts["size"]), ("val", 64), ("test", 64))
        }
        return ModelSpec(input_size=1, output_size=1, readout="last", loss="mse")

    def state_dict(self):
        return {}

    def _batch(self, x):
        n, length, _ = x.shape
        return Batch(inputs=x, targets=x.sum(axis=1), mask=np.ones((n, length), bool),
                     reset=np.ones(n, bool))

    def train_batches(self, epoch, batch_size, seed):
        x = self._data["train"]
        order = np.random.default_rng([seed, epoch]).permutation(len(x))
        return [self._batch(x[order[i:i + batch_size]]) for i in range(0, len(x), batch_size)]

    def evaluate(self, predictor, split):
        x = self._data[split]
        outputs, _ = predictor.predict(x)  # (N, 1)
        return {"mse": float(np.mean((outputs - x.sum(axis=1)) ** 2))}
