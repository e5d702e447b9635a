"""Forecast accuracy metrics, pooled over every (window, step) pair of a split.

``mape`` and ``smape`` are in percent. ``mase`` divides the MAE by the in-sample MAE of the
seasonal-naive forecast ``y[t-m]`` on the training part (Hyndman & Koehler, 2006), so 1.0 means
"as good as repeating last season, one step ahead, in sample".
"""

from __future__ import annotations

import numpy as np


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - forecast)))


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - forecast) ** 2)))


def mape(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    """Mean absolute percentage error, percent; None when an actual value is 0."""
    if np.any(actual == 0):
        return None
    return float(100.0 * np.mean(np.abs(actual - forecast) / np.abs(actual)))


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE, percent, in [0, 200]; a pair that is 0 and 0 counts as no error."""
    denom = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(2.0 * np.abs(actual - forecast), denom, out=np.zeros_like(denom),
                      where=denom > 0)
    return float(100.0 * np.mean(ratio))


def mase_scale(train: np.ndarray, season: int) -> float | None:
    """In-sample MAE of the seasonal-naive forecast on ``train``; None if undefined or 0."""
    if season < 1 or len(train) <= season:
        return None
    scale = float(np.mean(np.abs(train[season:] - train[:-season])))
    return scale if scale > 0 else None


def all_metrics(actual: np.ndarray, forecast: np.ndarray, scale: float | None) -> dict:
    """mae, rmse, mape, smape, mase (those that are defined) for arrays of equal shape."""
    out = {"mae": mae(actual, forecast), "rmse": rmse(actual, forecast)}
    percent = mape(actual, forecast)
    if percent is not None:
        out["mape"] = percent
    out["smape"] = smape(actual, forecast)
    if scale is not None:
        out["mase"] = out["mae"] / scale
    return out


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Percent of actual values inside their prediction interval, over the steps that have one
    (NaN bounds mean no interval, e.g. past the trained horizon of a recursive forecast)."""
    known = np.isfinite(lower) & np.isfinite(upper)
    if not known.any():
        return float("nan")
    inside = (actual >= lower) & (actual <= upper)
    return float(100.0 * inside[known].mean())
