"""Reference forecasts scored on exactly the windows the model is scored on.

Each takes the full series ``y`` (N,), the window origins (W,) and the horizon H, and uses only
values before each origin. Returns (W, H).
"""

from __future__ import annotations

import numpy as np


def naive(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value, repeated."""
    return np.repeat(y[origins - 1][:, None], horizon, axis=1)


def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The value one season back from each target step, from the last observed season:
    ``y[o + h - m * ceil((h + 1) / m)]`` for step ``h = 0 .. H-1``."""
    h = np.arange(horizon)
    back = season * ((h // season) + 1)  # (H,) steps back, always reaching before the origin
    return y[origins[:, None] + h[None, :] - back[None, :]]


def drift(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The line through the first and the last observed value, extended (Hyndman's drift)."""
    slope = (y[origins - 1] - y[0]) / np.maximum(origins - 1, 1)  # (W,)
    steps = np.arange(1, horizon + 1)
    return y[origins - 1][:, None] + slope[:, None] * steps[None, :]


def all_baselines(y: np.ndarray, origins: np.ndarray, horizon: int,
                  season: int) -> dict[str, np.ndarray]:
    return {
        "naive": naive(y, origins, horizon),
        "seasonal_naive": seasonal_naive(y, origins, horizon, season),
        "drift": drift(y, origins, horizon),
    }
