"""Running the model over forecast windows, and bringing its outputs back to data units.

The model reads L steps of features and emits its trained horizon Hm at once (the *direct*
strategy; for ``gaussian`` likelihood also Hm log-variances). A longer horizon S > Hm is reached
*recursively*: the forecast mean is appended to the window as if observed, calendar features of
the new steps are computed, and the model is applied again. Covariates are not known in the
future, so a recursive forecast with covariates is refused.

Prediction intervals come from the model's per-step variances. With no differencing every map
back to data units is monotone and the interval is exact (the transformed Gaussian quantiles).
With differencing, the forecast is integrated, so sample paths are drawn (independent steps)
and integrated; quantiles of those paths give the interval. Past the first Hm steps of a
recursive forecast no interval is given (the fed-back means carry no uncertainty).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from seqframe.task import Predictor

from .scaling import Scaler, TargetTransform
from .windows import normalized

LOGVAR_LIMIT = 20.0  # the loss clamps the log-variance here; predictions are clamped alike
SAMPLE_PATHS = 500  # Monte Carlo paths per window for intervals of differenced series
ROW_CHUNK = 64  # windows sampled at a time


@dataclass
class ScaledForecast:
    """Forecasts in the model's space (the scaled transformed target ``x``)."""

    mean: np.ndarray  # (W, S)
    std: np.ndarray | None  # (W, S); NaN where no interval is given; None without likelihood


def predict_scaled(predictor: Predictor, windows: np.ndarray, *, steps: int, model_horizon: int,
                   normalize: str, gaussian: bool,
                   future_calendar: np.ndarray | None = None) -> ScaledForecast:
    """Forecast ``steps`` values of ``x`` after each window.

    Args:
        predictor: the trained model.
        windows: (W, L, D) raw (not yet anchored) input features, target channel first.
        steps: S, how far ahead.
        model_horizon: Hm, the horizon the model was trained for.
        normalize: the window anchoring (``none``, ``last``, ``mean``).
        gaussian: the model emits means then log-variances.
        future_calendar: (W, S, K) calendar features of the forecast steps, the last K feature
            channels; needed only when S > Hm and K > 0.
    """
    means, stds = [], []
    done = 0
    while done < steps:
        inputs, level = normalized(windows, normalize)
        out, _ = predictor.predict(inputs)  # (W, Hm) or (W, 2*Hm)
        take = min(model_horizon, steps - done)
        mean = out[:, :take] + level[:, None]
        means.append(mean)
        if gaussian:
            logvar = np.clip(out[:, model_horizon:model_horizon + take], -LOGVAR_LIMIT,
                             LOGVAR_LIMIT)
            std = np.exp(0.5 * logvar) if done == 0 else np.full_like(mean, np.nan)
            stds.append(std)
        done += take
        if done < steps:
            windows = _extend(windows, mean, future_calendar, done - take)
    return ScaledForecast(np.concatenate(means, axis=1),
                          np.concatenate(stds, axis=1) if gaussian else None)


def _extend(windows: np.ndarray, mean: np.ndarray, calendar: np.ndarray | None,
            start: int) -> np.ndarray:
    """Slide each window forward by the new forecast steps: (W, L, D)."""
    rows, count = mean.shape
    new = np.zeros((rows, count, windows.shape[2]))  # (W, k, D)
    new[:, :, 0] = mean
    if calendar is not None and calendar.shape[2]:
        new[:, :, -calendar.shape[2]:] = calendar[:, start:start + count]
    return np.concatenate([windows, new], axis=1)[:, -windows.shape[1]:]


@dataclass
class Inverse:
    """Maps model-space forecasts back to data units for a set of windows.

    Attributes:
        transform: log and differencing.
        scaler: the target scaler.
        z_history: (W, K) the last K >= offset levels ``z`` before each origin.
    """

    transform: TargetTransform
    scaler: Scaler
    z_history: np.ndarray

    def point(self, x: np.ndarray) -> np.ndarray:
        """(W, S) data-unit forecasts from (W, S) scaled forecasts."""
        u = self.scaler.inverse(x)
        return self.transform.to_data_units(self.transform.integrate(self.z_history, u))

    def interval(self, forecast: ScaledForecast, level: float,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Central ``level`` prediction interval, (W, S) lower and upper; NaN where none."""
        if len(forecast.mean) > ROW_CHUNK:  # bounds the (W, R, S) sample array
            parts = [Inverse(self.transform, self.scaler, self.z_history[i:i + ROW_CHUNK])
                     .interval(ScaledForecast(forecast.mean[i:i + ROW_CHUNK],
                                              forecast.std[i:i + ROW_CHUNK]), level, seed + i)
                     for i in range(0, len(forecast.mean), ROW_CHUNK)]
            return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        mean, std = forecast.mean, forecast.std
        known = np.isfinite(std)
        safe_std = np.where(known, std, 0.0)
        z = NormalDist().inv_cdf(0.5 + level / 2)
        if not self.transform.lags:  # monotone maps: quantiles map exactly
            lower, upper = self.point(mean - z * safe_std), self.point(mean + z * safe_std)
        else:
            rng = np.random.default_rng(seed)
            rows, steps = mean.shape
            noise = rng.standard_normal((rows, SAMPLE_PATHS, steps))  # (W, R, S)
            paths = (mean[:, None, :] + safe_std[:, None, :] * noise).reshape(-1, steps)
            hist = np.repeat(self.z_history, SAMPLE_PATHS, axis=0)  # (W*R, K)
            u = self.scaler.inverse(paths)
            y = self.transform.to_data_units(self.transform.integrate(hist, u))
            y = y.reshape(rows, SAMPLE_PATHS, steps)
            q = (1 - level) / 2
            lower, upper = np.quantile(y, q, axis=1), np.quantile(y, 1 - q, axis=1)
        return np.where(known, lower, np.nan), np.where(known, upper, np.nan)
