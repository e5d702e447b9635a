"""The Los-loop run file is the T-GCN protocol, and the task page lists every option."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from seqframe_timeseries.task import TimeSeriesTask

from seqframe.runs.build import resolve_config

REPO = Path(__file__).resolve().parents[3]


def test_losloop_file_is_the_tgcn_protocol(shared_data):
    config = resolve_config({"data": str(shared_data / "los-loop" / "los_speed.csv")},
                            REPO / "docs" / "benchmarks" / "timeseries-losloop.toml")
    task = TimeSeriesTask(config.options, config.data)
    spec = task.prepare()
    many = task.many
    assert (spec.input_size, spec.output_size) == (1 + 160 + 2, 12)  # value, ids, time of day
    assert many.parts.n == 2016 and many.parts.train_end == 1411 and many.parts.val_end == 1613
    assert many.season == 288 and many.steps == [3, 6, 9, 12]
    series, origins = many.eval_pairs("test")
    assert len(series) == 160 * 392 and origins.min() == 1613 and origins.max() + 12 == 2016
    # the training windows never reach past the training part
    assert (many.train_origins + 12).max() == 1411 and len(many.train_origins) == 160 * 1388
    naive = task.baselines("test")["naive"]
    # naive at 15 minutes by hand: speed 3 steps ahead against the last input, all sensors
    speeds = np.loadtxt(shared_data / "los-loop" / "los_speed.csv", delimiter=",", skiprows=1)
    o = np.arange(1613, 2005)
    error = speeds[o + 2] - speeds[o - 1]  # (392, 160)
    assert naive["rmse_h3"] == pytest.approx(np.sqrt(np.mean(error ** 2)))
    assert naive["mae_h3"] == pytest.approx(np.mean(np.abs(error)))


def test_task_page_lists_every_option_with_its_default():
    page = (REPO / "docs" / "tasks" / "timeseries.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r"^\| `(\w+)` \| `?([^|`]*)`? \|", page, re.MULTILINE)}
    for option in TimeSeriesTask.options:
        assert option.name in rows, option.name
        default = option.default
        shown = {None: "unset", True: "true", False: "false"}.get(default, None) \
            if isinstance(default, (bool, type(None))) else None
        expected = shown or ('""' if default == "" else str(default))
        assert rows[option.name] == expected, (option.name, rows[option.name], expected)


def test_losloop_joint_file_is_the_same_protocol_in_the_joint_layout(shared_data):
    config = resolve_config({"data": str(shared_data / "los-loop" / "los_speed.csv")},
                            REPO / "docs" / "benchmarks" / "timeseries-losloop-joint.toml")
    assert (config.steps, config.eval_every, config.patience) == (1500, 150, 5)
    task = TimeSeriesTask(config.options, config.data)
    spec = task.prepare()
    assert spec.output_size == 160 * 12  # every sensor's next hour from one row
    many = task.many
    assert many.parts.train_end == 1411 and many.parts.val_end == 1613
    series, origins = many.eval_pairs("test")  # scored on the same (sensor, origin) windows
    assert len(series) == 160 * 392 and origins.min() == 1613
