"""Preparing variable-length series: padding removal, missing values, downsampling, scaling.

Conventions (every reported number names the ones it used):

* **Trailing padding.** UCR files store unequal-length series NaN-padded to a common length.
  Trailing steps where every channel is missing are padding: they are cut off, and become masked
  steps of a batch. Nothing is resampled.
* **Missing values inside a series** (``-o missing=``): ``interpolate`` (default) fills each
  channel linearly between its neighbours and holds the first/last value at the edges;
  ``zero`` fills with 0 after normalisation, i.e. with the training mean (``channel``) or the
  series mean (``series``); ``error`` refuses them.
* **Normalisation** (``-o normalize=``): ``channel`` standardises each channel with a mean and
  standard deviation fitted on the training split only; ``series`` z-normalises every series
  channel by channel on its own (the UCR archive convention); ``none`` leaves values as they are.
"""

from __future__ import annotations

import numpy as np

from seqframe.errors import DataError

MISSING_POLICIES = ("interpolate", "zero", "error")
NORMALIZATIONS = ("channel", "series", "none")
_EPS = 1e-8  # a constant channel keeps its values instead of dividing by zero


def trim_padding(series: np.ndarray, where: str) -> np.ndarray:
    """Cut trailing all-NaN steps of a ``(T, D)`` series (UCR unequal-length padding)."""
    valid = ~np.all(np.isnan(series), axis=1)  # (T,)
    if not valid.any():
        raise DataError(f"{where} has no values (every step is missing); remove it from the file.")
    return series[: np.flatnonzero(valid)[-1] + 1]


def _interpolate(series: np.ndarray, where: str) -> np.ndarray:
    out = series.copy()
    steps = np.arange(len(series))
    for d in range(series.shape[1]):
        known = ~np.isnan(series[:, d])
        if not known.any():
            raise DataError(
                f"{where}, channel {d} has no values; cannot interpolate. "
                "Use -o missing=zero or remove the series."
            )
        out[:, d] = np.interp(steps, steps[known], series[known, d])
    return out


def fill_missing(series: np.ndarray, policy: str, where: str) -> np.ndarray:
    """Apply the missing-value policy before normalisation (``zero`` acts later, see module)."""
    if not np.isnan(series).any():
        return series
    if policy == "error":
        t, d = np.argwhere(np.isnan(series))[0]
        raise DataError(
            f"{where} has a missing value at step {t}, channel {d} (-o missing=error); "
            "use -o missing=interpolate or -o missing=zero to fill missing values."
        )
    if policy == "interpolate":
        return _interpolate(series, where)
    return series


def downsample(series: np.ndarray, factor: int) -> np.ndarray:
    """Average consecutive blocks of ``factor`` steps (the last block may be shorter)."""
    if factor <= 1:
        return series
    T, D = series.shape
    blocks = -(-T // factor)
    padded = np.full((blocks * factor, D), np.nan)  # (T', D); NaN tail so the last block is fair
    padded[:T] = series
    known = ~np.isnan(padded).reshape(blocks, factor, D)
    sums = np.nan_to_num(padded).reshape(blocks, factor, D).sum(axis=1)  # (T'/factor, D)
    counts = known.sum(axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of ``(T, D)`` values ignoring NaN; an empty channel gets (0, 1)."""
    known = ~np.isnan(values)
    count = np.maximum(known.sum(axis=0), 1)
    filled = np.where(known, values, 0.0)
    mean = filled.sum(axis=0) / count
    var = (np.where(known, values - mean, 0.0) ** 2).sum(axis=0) / count
    std = np.sqrt(var)
    return mean, np.where(std < _EPS, 1.0, std)


def fit_channel_scaler(series: list[np.ndarray]) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation over every step of the training series."""
    mean, std = _stats(np.concatenate(series, axis=0))  # over (sum T, D)
    return mean.tolist(), std.tolist()


def normalise(series: np.ndarray, mode: str, scaler: dict | None) -> np.ndarray:
    """Apply ``channel`` (with the fitted ``scaler``), ``series`` or ``none`` normalisation."""
    if mode == "none":
        return series
    if mode == "channel":
        return (series - np.asarray(scaler["mean"])) / np.asarray(scaler["std"])
    mean, std = _stats(series)
    return (series - mean) / std


def finish(series: np.ndarray) -> np.ndarray:
    """Fill what is still missing (policy ``zero``) with 0 after normalisation."""
    return np.nan_to_num(series, nan=0.0)


def augment(series: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A randomly stretched, rescaled and jittered copy of a ``(T, D)`` training series.

    Small data sets (Pickup has 40 training series after the validation split) overfit fast;
    these label-preserving distortions are the usual remedy. ``strength`` s sets all three:
    time stretch by ``exp(U(-s, s))`` (linear interpolation; the mask follows the new length),
    per-channel gain ``exp(N(0, s))`` and additive noise ``N(0, (s/4)^2)``.
    """
    T, D = series.shape
    new_T = max(2, int(round(T * np.exp(rng.uniform(-strength, strength)))))
    src = np.linspace(0.0, T - 1.0, new_T)  # (T',) positions in the original series
    stretched = np.stack([np.interp(src, np.arange(T), series[:, d]) for d in range(D)], axis=1)
    gain = np.exp(rng.normal(0.0, strength, size=D))  # (D,)
    return stretched * gain + rng.normal(0.0, strength / 4, size=stretched.shape)


def with_differences(series: np.ndarray) -> np.ndarray:
    """Append each channel's first difference (0 at step 0): ``(T, D)`` -> ``(T, 2D)``.

    Accelerometer gestures differ more in how the signal changes than in its level; the
    differences hand the model that view directly (as derivative DTW does for nearest neighbours).
    """
    diff = np.diff(series, axis=0, prepend=series[:1])  # (T, D), row 0 is zero
    return np.concatenate([series, diff], axis=1)


def with_elapsed(series: np.ndarray, span: int) -> np.ndarray:
    """Append the time elapsed since the series began, in units of ``span`` steps: ``(T, D+1)``.

    Per-series z-normalisation and a mean readout both discard how long a gesture took, yet
    duration separates gestures (on PickupGestureWiimoteZ a "pick up" lasts 4-10 times as long
    as a short flick). Step ``t`` gets ``t / span``; with ``span`` fixed (the longest training
    series), the channel's mean over the valid steps is ``(T - 1) / (2 span)``, so the model can
    read the length as well as each step's place in the gesture. Nothing is resampled.
    """
    elapsed = np.arange(len(series), dtype=np.float64)[:, None] / span  # (T, 1)
    return np.concatenate([series, elapsed], axis=1)
