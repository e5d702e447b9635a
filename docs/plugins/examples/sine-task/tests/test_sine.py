"""The sine task passes seqframe's task conformance suite, with hand-computed metrics."""

import numpy as np
from seqframe.testing import FunctionPredictor, MetricCase, TaskConformance

from seqframe_sine.task import SineTask


# --8<-- [start:conformance]
class TestSineTask(TaskConformance):
    task = SineTask
    options = {"length": 12, "train_size": 40, "eval_size": 8}

    def metric_cases(self, task):
        # A "model" that outputs its input: its error is the mean squared change per step.
        inputs, targets = task.split_arrays("val")
        expected = float(np.mean(np.diff(task.waves["val"], axis=1) ** 2))
        echo = FunctionPredictor(lambda x, mask: x)
        # A model that is right everywhere but 0.5 too high: mse is exactly 0.25.
        right_plus_half = FunctionPredictor(lambda x, mask: targets + 0.5)
        return [
            MetricCase("val", echo, {"mse": expected, "rmse": expected ** 0.5}),
            MetricCase("val", right_plus_half, {"mse": 0.25, "rmse": 0.5}),
        ]
# --8<-- [end:conformance]


def test_noise_free_waves_are_exact_sines():
    task = SineTask(options={"noise": 0.0, "period": 4.0, "length": 8, "eval_size": 2})
    task.prepare()
    waves = task.waves["val"]  # with period 4, y_{t+2} = -y_t for every phase
    assert np.allclose(waves[:, 2:], -waves[:, :-2])


def test_the_noise_floor_baseline_is_the_noise_variance():
    task = SineTask(options={"noise": 0.3})
    task.prepare()
    assert task.baselines("val")["noise_floor"]["mse"] == 0.3 ** 2
