"""Scoring many series: pooled and per-horizon errors, MASE per series, the three baselines.

A scored *window* is a (series, origin) pair; its H forecasts are compared with the actual
values in data units. The averages pool every (window, step) pair of every series, as the
traffic literature does (T-GCN): ``rmse`` is the square root of the mean squared error over all
of them, not a mean of per-series RMSEs. ``rmse_hK``, ``mae_hK`` and ``mape_hK`` pool the same
way over the windows at step K (K steps ahead) only.

``mape`` (percent) skips pairs whose actual value is 0 (a percentage of 0 is undefined; traffic
sets use 0 for a failed sensor); ``mape_excluded`` counts them when there are any. RMSE, MAE and
MASE keep them. ``mase`` is the mean over all pairs of ``|error| / scale_s``, where ``scale_s``
is series s's in-sample MAE of the seasonal-naive forecast (lag m) on its training part
(lag 1 if that is 0 or undefined; 1 if both are): with the same windows per series it is the
mean of the per-series MASEs.
"""

from __future__ import annotations

import numpy as np

from . import metrics as met


def report_steps(spec: str, horizon: int) -> list[int]:
    """``-o horizons``: the steps scored on their own; default H/4, H/2, 3H/4 and H."""
    from seqframe.errors import ConfigError

    if not spec.strip():
        return sorted({max(1, round(horizon * k / 4)) for k in (1, 2, 3, 4)})
    try:
        steps = sorted({int(v) for v in spec.split(",") if v.strip()})
    except ValueError:
        raise ConfigError(f"-o horizons={spec!r} must list whole steps ahead, e.g. 3,6,9,12."
                          ) from None
    bad = [k for k in steps if not 1 <= k <= horizon]
    if bad or not steps:
        raise ConfigError(f"-o horizons={spec!r}: every step must lie in 1..{horizon} (the "
                          f"horizon); got {bad or 'none'}.")
    return steps


def series_scales(values: np.ndarray, starts: np.ndarray, train_end: int,
                  season: int) -> np.ndarray:
    """(S,) MASE denominators from each series' training part (see the module docstring)."""
    out = np.ones(len(values))
    for s, start in enumerate(starts.tolist()):
        train = values[s, start:train_end]
        train = train[np.isfinite(train)]
        out[s] = met.mase_scale(train, season) or met.mase_scale(train, 1) or 1.0
    return out


def score(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray,
          steps: list[int]) -> dict[str, float]:
    """Pooled and per-step metrics.

    Args:
        actual, forecast: (W, H) data units.
        scale: (W,) the MASE denominator of each window's series.
        steps: the steps ahead (1-based) reported on their own.
    """
    error = forecast - actual
    out = {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error ** 2)))}
    percent, excluded = _mape(actual, error)
    if percent is not None:
        out["mape"] = percent
    if excluded:
        out["mape_excluded"] = float(excluded)
    out["smape"] = met.smape(actual, forecast)
    out["mase"] = float(np.mean(np.abs(error) / scale[:, None]))
    for k in steps:
        col_a, col_e = actual[:, k - 1], error[:, k - 1]
        out[f"rmse_h{k}"] = float(np.sqrt(np.mean(col_e ** 2)))
        out[f"mae_h{k}"] = float(np.mean(np.abs(col_e)))
        percent, _ = _mape(col_a, col_e)
        if percent is not None:
            out[f"mape_h{k}"] = percent
    return out


def _mape(actual: np.ndarray, error: np.ndarray) -> tuple[float | None, int]:
    nonzero = actual != 0
    if not nonzero.any():
        return None, int(actual.size)
    return float(100.0 * np.mean(np.abs(error[nonzero] / actual[nonzero]))), \
        int(actual.size - nonzero.sum())


def per_step(actual: np.ndarray, forecast: np.ndarray) -> dict[str, np.ndarray]:
    """RMSE, MAE and MAPE at every step ahead: each (H,), for the error table."""
    error = forecast - actual
    mape = [(_mape(actual[:, h], error[:, h])[0]) for h in range(actual.shape[1])]
    return {"rmse": np.sqrt(np.mean(error ** 2, axis=0)), "mae": np.mean(np.abs(error), axis=0),
            "mape": np.array([np.nan if v is None else v for v in mape])}


# ---- baselines: each (W, H) from values before the origin (or the training part) --------------

def naive(y: np.ndarray, series: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value of the window's series, repeated."""
    return np.repeat(y[series, origins - 1][:, None], horizon, axis=1)


def seasonal_naive(y: np.ndarray, series: np.ndarray, origins: np.ndarray, horizon: int,
                   season: int) -> np.ndarray:
    """The value one season (m steps; a day for sub-daily data) before each target, from the
    last observed season: ``y[s, o + h - m * ceil((h + 1) / m)]``."""
    h = np.arange(horizon)
    back = season * ((h // season) + 1)  # (H,)
    return y[series[:, None], origins[:, None] + h[None, :] - back[None, :]]


def seasonal_means(y: np.ndarray, starts: np.ndarray, train_end: int,
                   season: int) -> np.ndarray:
    """(S, m) mean of each series' training values at each position modulo m (the same time of
    day for sub-daily data, the same month for monthly); a position with no training value
    takes the series' training mean."""
    out = np.zeros((len(y), season))
    for s, start in enumerate(starts.tolist()):
        index = np.arange(start, train_end)
        values = y[s, index]
        keep = np.isfinite(values)
        index, values = index[keep], values[keep]
        sums = np.bincount(index % season, weights=values, minlength=season)
        counts = np.bincount(index % season, minlength=season)
        out[s] = np.where(counts > 0, sums / np.maximum(counts, 1), values.mean())
    return out


def historical_average(means: np.ndarray, series: np.ndarray, origins: np.ndarray,
                       horizon: int) -> np.ndarray:
    """The training mean of the same time of day (position modulo m) as each target."""
    season = means.shape[1]
    steps = origins[:, None] + np.arange(horizon)[None, :]  # (W, H)
    return means[series[:, None], steps % season]
