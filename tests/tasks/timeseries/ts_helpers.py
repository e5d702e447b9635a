"""Helpers of the timeseries-task tests: small CSV files and transparent predictors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def write_csv(path: Path, header: list[str], rows: list[list]) -> str:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def monthly_times(count: int, start: str = "2000-01") -> list[str]:
    return [str(t) for t in np.datetime64(start, "M") + np.arange(count)]


def hourly_times(count: int, start: str = "2020-03-01T00:00") -> list[str]:
    base = np.datetime64(start, "s")
    return [str(t).replace("T", " ") for t in base + np.arange(count) * np.timedelta64(3600, "s")]


class ConstantModel:
    """A predictor emitting the same output row for every window (an exact model of series
    whose transformed target is constant), recording what it was asked."""

    def __init__(self, row):
        self.row = np.asarray(row, dtype=np.float64)
        self.calls: list[np.ndarray] = []

    def predict(self, inputs, mask=None, state=None):
        self.calls.append(np.array(inputs))
        return np.tile(self.row, (len(inputs), 1)), None


def read_rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
