"""Fixtures of the timeseries-task tests; helpers live in ts_helpers.py."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ts_helpers import monthly_times, write_csv  # noqa: E402


@pytest.fixture
def linear_csv(tmp_path) -> str:
    """120 monthly steps of y = 10 + 0.5 t (column ``y``), with a noise covariate ``c``."""
    rng = np.random.default_rng(0)
    t = np.arange(120)
    rows = [[d, 10 + 0.5 * i, float(rng.normal())] for d, i in zip(monthly_times(120), t,
                                                                      strict=True)]
    return write_csv(tmp_path / "linear.csv", ["month", "y", "c"], rows)
