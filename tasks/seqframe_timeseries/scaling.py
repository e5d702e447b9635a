"""What the target goes through before the model sees it, and back.

``y`` (data units) -> ``z = log(y)`` (optional; turns a multiplicative series such as airline
passengers into an additive one) -> ``u`` = ``z`` differenced at each lag in turn (``12`` is a
seasonal difference for monthly data, ``1`` an ordinary one) -> ``x = (u - shift) / scale``.

Every fitted number is fitted on the training part only, so nothing about the validation or test
values leaks into the inputs. Forecasts come back through :meth:`TargetTransform.integrate`,
which undoes the differencing step by step from the last observed values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seqframe.errors import DataError


@dataclass
class Scaler:
    """Affine scaling ``(x - shift) / scale`` per column, fitted on training values.

    ``standard``: mean 0, standard deviation 1; ``minmax``: the training range to [0, 1];
    ``none``: identity. A constant column keeps scale 1 rather than dividing by zero.
    """

    kind: str = "none"
    shift: np.ndarray = field(default_factory=lambda: np.zeros(()))
    scale: np.ndarray = field(default_factory=lambda: np.ones(()))

    @classmethod
    def fit(cls, kind: str, values: np.ndarray) -> Scaler:
        """Fit on ``values``: (N,) for one series or (N, C) for columns; NaNs are ignored."""
        if kind == "none" or values.size == 0:
            shape = values.shape[1:]
            return cls(kind, np.zeros(shape), np.ones(shape))
        if kind == "standard":
            shift, scale = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        elif kind == "minmax":
            shift = np.nanmin(values, axis=0)
            scale = np.nanmax(values, axis=0) - shift
        else:
            raise ValueError(f"unknown scaler {kind!r}")
        scale = np.where(scale > 1e-12, scale, 1.0)
        return cls(kind, np.asarray(shift, np.float64), np.asarray(scale, np.float64))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.shift) / self.scale

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return values * self.scale + self.shift

    def to_dict(self) -> dict:
        return {"kind": self.kind, "shift": self.shift.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> Scaler:
        return cls(data["kind"], np.asarray(data["shift"], np.float64),
                   np.asarray(data["scale"], np.float64))


@dataclass(frozen=True)
class TargetTransform:
    """Log and differencing of the target (the affine scaling is a separate :class:`Scaler`).

    Attributes:
        log: take the natural log first (needs positive values).
        lags: differencing lags applied in order, e.g. ``(12, 1)``.
    """

    log: bool = False
    lags: tuple[int, ...] = ()

    @property
    def offset(self) -> int:
        """Steps lost at the start: ``u`` is defined from time ``offset`` on."""
        return sum(self.lags)

    def level(self, y: np.ndarray, source: str = "the target") -> np.ndarray:
        """``z``: the log of ``y`` when ``log`` is on, else ``y``."""
        if not self.log:
            return np.asarray(y, np.float64)
        if np.any(y <= 0):
            raise DataError(
                f"-o log=true needs positive values, but {source} has a value of "
                f"{float(np.min(y)):g}. Use log=false (or shift the series to be positive)."
            )
        return np.log(y)

    def to_data_units(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.log else z

    def forward(self, y: np.ndarray, source: str = "the target") -> np.ndarray:
        """``u`` aligned with ``y``: (N,), NaN for the first ``offset`` steps."""
        u = self.level(y, source)
        for lag in self.lags:
            u = np.concatenate([np.full(lag, np.nan), u[lag:] - u[:-lag]])
        return u

    def integrate(self, z_history: np.ndarray, u_future: np.ndarray) -> np.ndarray:
        """Undo the differencing of forecasts.

        Args:
            z_history: (W, K) the last K >= ``offset`` levels before each forecast origin.
            u_future: (W, S) forecasts of ``u`` for the S steps from the origin (or (W*R, S)
                with ``z_history`` repeated R times).

        Returns:
            (W, S) forecasts of ``z``.
        """
        levels = [z_history]  # levels[k]: the history differenced by lags[:k]
        for lag in self.lags:
            prev = levels[-1]
            levels.append(prev[:, lag:] - prev[:, :-lag])
        pred = u_future
        for k in reversed(range(len(self.lags))):
            lag, base = self.lags[k], levels[k]
            n, steps = base.shape[1], pred.shape[1]
            ext = np.concatenate([base, np.zeros_like(pred)], axis=1)  # (W, n + S)
            for h in range(steps):  # x_t = d_t + x_{t-lag}, later steps use earlier forecasts
                ext[:, n + h] = pred[:, h] + ext[:, n + h - lag]
            pred = ext[:, n:]
        return pred

    def to_dict(self) -> dict:
        return {"log": self.log, "lags": list(self.lags)}

    @classmethod
    def from_dict(cls, data: dict) -> TargetTransform:
        return cls(bool(data["log"]), tuple(int(v) for v in data["lags"]))
