"""The ``timeseries`` task: forecast a numeric column H steps ahead from L steps of history.

What is evaluated, precisely: the series is split in time into train / val / test
(:mod:`.windows`). Every window whose H targets all lie in a split is scored (or K evenly spaced
ones with ``-o backtest=K``); its inputs are the L actual values before its origin. Errors are
pooled over every (window, step) pair in data units. With ``test_size`` equal to the horizon
there is exactly one test window: one forecast of H steps from the end of the training data,
the "last H held out" protocol of the forecasting literature (airline: last 36 months).

The model reads ``lookback`` steps of features ``[target, covariates..., calendar...]`` and
emits all H steps at once from its last step (readout ``last``, loss ``mse``; or H means and H
log-variances with ``-o likelihood=gaussian``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seqframe.errors import ConfigError, DataError
from seqframe.task import ModelSpec, Predictor, Task

from . import baselines as base
from . import metrics as met
from .artefacts import forecast_future, write_split_forecast
from .forecasting import Inverse, predict_scaled
from .io import BUILTIN_PANELS, load_table
from .manyseries import ManySeries
from .options import OPTIONS, PANEL_LAYOUTS, check
from .scaling import Scaler, TargetTransform
from .series import Series, select_series
from .timeaxis import Frequency, calendar_features, default_season
from .windows import WindowBatches, gather, make_splits, origins_in, spread


class TimeSeriesTask(Task):
    """Forecasting of one numeric series from CSV, Parquet, Hugging Face or a built-in set."""

    name = "timeseries"
    description = "time-series forecasting (direct multi-step), MAE/RMSE/MAPE/sMAPE/MASE"
    options = OPTIONS
    run_defaults = {"epochs": 50, "batch_size": 32, "hidden": 32}
    metric = "mase"
    metric_mode = "min"
    # how a split was scored, reported beside the metrics (summary.json "evaluation")
    setting_keys = ("mase_season", "windows", "horizon", "in_sample", "series")

    def __init__(self, options: dict[str, Any] | None = None, data: str | None = None):
        super().__init__(options, data)
        self.calendar = check(self.opts)
        self.many: ManySeries | None = None  # the many-series half, once prepared as such

    def many_series(self, state: dict[str, Any] | None = None) -> bool:
        """Whether this run reads many series (see docs/tasks/timeseries.md)."""
        if state:
            return bool(state.get("panel"))
        o = self.opts
        builtin = self.data in BUILTIN_PANELS
        if o["layout"] == "single" and builtin:
            raise ConfigError(f"--data {self.data} holds many series; use -o layout=global or "
                              f"-o layout=joint (or the default, -o layout=auto).")
        return o["layout"] in PANEL_LAYOUTS or bool(o["id"].strip()) or builtin

    # ---- preparing ---------------------------------------------------------------------------

    def prepare(self, state: dict[str, Any] | None = None) -> ModelSpec:
        if self.many_series(state):
            self.many = ManySeries(self.opts, self.data, self.calendar, lambda m: self.log(m))
            return self.many.prepare(state)
        o = self.opts
        for key in ("start", "freq", "horizons", "plot_series"):
            if o[key].strip():
                raise ConfigError(f"-o {key} is for many series (-o layout=global or joint, or "
                                  f"-o id=COLUMN); this run reads one series. Drop it.")
        table = load_table(self.data)
        if state:  # the columns chosen at training time, whatever the options now say
            names = (state["target"], state["time_column"] or "none",
                     ",".join(state["covariates"]))
        else:
            names = (o["target"], o["time_column"], o["covariates"])
        self.series = select_series(table, *names, o["missing"])
        if self.calendar and self.series.times is None:
            raise ConfigError(f"-o calendar needs a time column, and {table.source} has none "
                              f"(set -o time_column=NAME).")
        lags = ((o["seasonal_difference"],) if o["seasonal_difference"] else ()) + \
            (1,) * o["difference"]
        self.transform = TargetTransform(o["log"], lags)
        self.parts = make_splits(len(self.series), o["test_size"], o["val_size"])
        self.model_horizon = 1 if o["strategy"] == "recursive" else o["horizon"]
        self.season = o["season"] or default_season(self.series.frequency)
        self._fit(state)
        self._check_lengths()
        self.mase_scale = met.mase_scale(self.series.values[:self.parts.train_end], self.season) \
            or met.mase_scale(self.series.values[:self.parts.train_end], 1) or 1.0
        gaussian = o["likelihood"] == "gaussian"
        return ModelSpec(input_size=self.features.shape[1], output_size=self.model_horizon,
                         readout="last", loss="gaussian_nll" if gaussian else "mse")

    def _fit(self, state: dict[str, Any] | None) -> None:
        """Transform, fit (or restore) the scalers on the training part, build the features."""
        series, end = self.series, self.parts.train_end
        self.z = self.transform.level(series.values, f"column {series.target!r}")
        u = self.transform.forward(series.values)  # (N,), NaN before the offset
        if state:
            self.scaler = Scaler.from_dict(state["scaler"])
            self.cov_scaler = Scaler.from_dict(state["cov_scaler"])
        else:
            self.scaler = Scaler.fit(self.opts["scaler"], u[:end])
            self.cov_scaler = Scaler.fit("standard", series.covariates[:end])
        self.x = self.scaler.transform(u)  # (N,)
        self.features = self.build_features(series, self.x)  # (N, D)

    def build_features(self, series: Series, x: np.ndarray) -> np.ndarray:
        """(N, D) model inputs: the scaled target, scaled covariates, calendar (sin, cos)."""
        cov = self.cov_scaler.transform(series.covariates)  # (N, C)
        cal = calendar_features(series.times, self.calendar) if self.calendar \
            else np.zeros((len(x), 0))  # (N, 2K)
        return np.concatenate([x[:, None], cov, cal], axis=1)

    def _check_lengths(self) -> None:
        o, parts, offset = self.opts, self.parts, self.transform.offset
        L, H = o["lookback"], o["horizon"]
        self.train_origins = origins_in(0, parts.train_end, L, self.model_horizon, offset)
        if len(self.train_origins) == 0:
            need = L + self.model_horizon + offset
            raise DataError(
                f"{self.series.source} is too short for these settings: a training window "
                f"needs lookback {L} + horizon {self.model_horizon}"
                + (f" + {offset} lost to differencing" if offset else "")
                + f" = {need} steps, but the training part has {parts.train_end} of the "
                f"series' {parts.n} steps. Use a smaller lookback/horizon or test_size/val_size."
            )
        for split in ("val", "test"):
            size = parts.size(split)
            if 0 < size < H or (split == "test" and size == 0 and parts.size("val") == 0):
                raise ConfigError(
                    f"the {split} part has {size} steps, fewer than the horizon {H}: no "
                    f"complete forecast fits. Use {split}_size >= {H} (steps) "
                    + ("or val_size=0." if split == "val" else "or a shorter horizon.")
                )
        for split in self.splits():
            if len(self.eval_origins(split)) == 0:
                raise ConfigError(
                    f"no {split} window has a full season ({self.season} steps) of history "
                    f"for the seasonal-naive baseline; lower -o season or the training part.")

    def state_dict(self) -> dict[str, Any]:
        if self.many is not None:
            return self.many.state_dict()
        s = self.series
        return {
            "target": s.target, "time_column": s.time_column, "covariates": s.covariate_names,
            "frequency": s.frequency.to_dict() if s.frequency else None,
            "transform": self.transform.to_dict(), "scaler": self.scaler.to_dict(),
            "cov_scaler": self.cov_scaler.to_dict(), "calendar": self.calendar,
            "season": self.season, "model_horizon": self.model_horizon,
        }

    # ---- training ----------------------------------------------------------------------------

    def train_batches(self, epoch: int, batch_size: int, seed: int) -> WindowBatches:
        if self.many is not None:
            return self.many.train_batches(epoch, batch_size, seed)
        # the trainer asks once per epoch and keeps the answer, so nothing is cached here
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(self.train_origins)
        if 0 < self.opts["windows_per_epoch"] < len(order):
            order = order[:self.opts["windows_per_epoch"]]
        return WindowBatches(self.features, self.x, order, self.opts["lookback"],
                             self.model_horizon, self.opts["normalize"], batch_size)

    # ---- evaluation --------------------------------------------------------------------------

    def splits(self) -> tuple[str, ...]:
        if self.many is not None:
            return self.many.splits()
        return ("val", "test") if self.parts.size("test") else ("val",)

    def eval_origins(self, split: str) -> np.ndarray:
        """Origins scored on ``split``: (W,). With val_size=0, 'val' is the training windows."""
        if split not in ("val", "test"):
            raise ConfigError(f"unknown split {split!r}; the timeseries task has val and test.")
        lo, hi = self.parts.bounds(split)
        if split == "val" and lo == hi:
            lo, hi = self.parts.bounds("train")
        lo = max(lo, self.season)  # the seasonal-naive baseline needs one season of history
        origins = origins_in(lo, hi, self.opts["lookback"], self.opts["horizon"],
                             self.transform.offset)
        return spread(origins, self.opts["backtest"])

    def actual(self, origins: np.ndarray) -> np.ndarray:
        """(W, H) observed values of each window's targets, data units."""
        return self.series.values[origins[:, None] + np.arange(self.opts["horizon"])[None, :]]

    def model_forecast(self, predictor: Predictor, origins: np.ndarray):
        """Model forecasts for windows inside the data: (W, H) data units, and the scaled
        forecast with its inverse map (for intervals)."""
        o = self.opts
        windows = gather(self.features, origins, o["lookback"])  # (W, L, D)
        future = None
        if self.calendar and o["horizon"] > self.model_horizon:
            index = origins[:, None] + np.arange(o["horizon"])[None, :]
            future = self.features[:, -2 * len(self.calendar):][index]  # (W, H, 2K)
        scaled = predict_scaled(predictor, windows, steps=o["horizon"],
                                model_horizon=self.model_horizon, normalize=o["normalize"],
                                gaussian=o["likelihood"] == "gaussian", future_calendar=future)
        offset = self.transform.offset
        hist = self.z[origins[:, None] + np.arange(-offset, 0)[None, :]]  # (W, offset)
        inverse = Inverse(self.transform, self.scaler, hist)
        return inverse.point(scaled.mean), scaled, inverse

    def evaluate(self, predictor: Predictor, split: str) -> dict[str, float]:
        if self.many is not None:
            return self.many.evaluate(predictor, split)
        origins = self.eval_origins(split)
        forecast, scaled, inverse = self.model_forecast(predictor, origins)
        actual = self.actual(origins)
        out = self._score(actual, forecast)
        if scaled.std is not None:
            lower, upper = inverse.interval(scaled, self.opts["interval"])
            out["coverage"] = met.coverage(actual, lower, upper)
        if split == "val" and self.parts.size("val") == 0:
            out["in_sample"] = 1.0
        return out

    def _score(self, actual: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
        out = met.all_metrics(actual, forecast, self.mase_scale)
        out.update(mase_season=float(self.season), windows=float(actual.shape[0]),
                   horizon=float(actual.shape[1]))
        return out

    def baseline_forecasts(self, origins: np.ndarray) -> dict[str, np.ndarray]:
        return base.all_baselines(self.series.values, origins, self.opts["horizon"], self.season)

    def baselines(self, split: str) -> dict[str, dict[str, float]]:
        """naive, seasonal_naive, drift, and transform_only: what the task's transforms
        forecast when the model outputs zero (the training mean of the scaled target, plus the
        window anchor under ``normalize``) -- the share of the skill that is not the model's.
        Many series: naive, seasonal_naive and historical_average (:mod:`.panelscore`)."""
        if self.many is not None:
            return self.many.baselines(split)
        origins = self.eval_origins(split)
        actual = self.actual(origins)
        forecasts = self.baseline_forecasts(origins)
        width = self.model_horizon * (2 if self.opts["likelihood"] == "gaussian" else 1)
        forecasts["transform_only"] = self.model_forecast(_ZeroModel(width), origins)[0]
        return {name: self._score(actual, fc) for name, fc in forecasts.items()}

    # ---- artefacts and `seqframe forecast` ---------------------------------------------------

    def write_artefacts(self, predictor: Predictor, run_dir: Path) -> list[Path]:
        if self.many is not None:
            return self.many.write_artefacts(predictor, Path(run_dir))
        split = "test" if "test" in self.splits() else "val"
        return write_split_forecast(self, predictor, split, Path(run_dir))

    def forecast(self, predictor: Predictor, *, horizon: int, data: str | None,
                 out_dir: Path, series: str | None = None) -> list[Path]:
        """Forecast ``horizon`` steps past the end of the data (the run's, or ``data``'s).

        A horizon longer than the trained one is reached recursively (see
        :mod:`.forecasting`); that is refused when the model uses covariates. Many series:
        every series (or only ``series``), written as one long ``forecast.csv``
        (:mod:`.panelart`); see :meth:`forecast_series` for the arrays.
        """
        if self.many is not None:
            return self.many.forecast(predictor, horizon=horizon, data=data, out_dir=out_dir,
                                      series=series)
        if series is not None and series != self.series.target:
            raise ConfigError(f"this run forecasts one series, {self.series.target!r}; drop "
                              f"--series {series} (it is for many-series runs).")
        if horizon < 1:
            raise ConfigError(f"--horizon must be at least 1; got {horizon}.")
        if horizon > self.model_horizon and self.series.covariate_names:
            raise ConfigError(
                f"--horizon {horizon} is longer than the trained horizon {self.model_horizon}, "
                f"which needs a recursive forecast, but the model reads covariates "
                f"({', '.join(self.series.covariate_names)}) whose future is unknown. Use "
                f"--horizon {self.model_horizon} or less, or train with a longer horizon."
            )
        series = self.series
        if data is not None:
            table = load_table(data)
            series = select_series(table, series.target, series.time_column or "none",
                                   ",".join(series.covariate_names), self.opts["missing"])
        paths = forecast_future(self, predictor, series, horizon, Path(out_dir))
        if horizon > self.model_horizon:  # say how the longer forecast was made
            self.log(recursive_note(horizon, self.model_horizon))
        return paths

    def forecast_series(self, predictor: Predictor, *, horizon: int, data: str | None = None,
                        series: str | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Many series: ``{id: (times (h,), forecasts (h,))}`` past each series' end, for every
        series or only ``series``; nothing is written. (For the Python API's forecast.)"""
        if self.many is None:
            raise ConfigError("forecast_series is for many-series runs; this run forecasts "
                              "one series: use forecast().")
        return self.many.forecast_series(predictor, horizon=horizon, data=data, series=series)

    # helpers used by the artefact writers
    @property
    def frequency(self) -> Frequency | None:
        if self.many is not None:
            return self.many.frequency
        return self.series.frequency

    def scaled_from(self, series: Series) -> tuple[np.ndarray, np.ndarray]:
        """The levels z (N,) and the model features (N, D) of another series (fitted state)."""
        z = self.transform.level(series.values, f"column {series.target!r} of {series.source}")
        x = self.scaler.transform(self.transform.forward(series.values))
        return z, self.build_features(series, x)



def recursive_note(horizon: int, model_horizon: int) -> str:
    """How a forecast longer than the model's output was made (a line of the task's log)."""
    passes = -(-horizon // model_horizon)
    return (f"note: --horizon {horizon} is longer than the {model_horizon} step(s) the model "
            f"forecasts at once, so steps {model_horizon + 1}-{horizon} were forecast recursively: "
            f"the model's own forecasts were fed back as if observed ({passes} passes). Errors "
            f"compound over such a rollout; forecast.csv marks each step's method. For a direct "
            f"forecast, train with -o horizon={horizon}.")


class _ZeroModel:
    """A predictor whose every output is 0 (the ``transform_only`` baseline)."""

    def __init__(self, width: int):
        self.width = width

    def predict(self, inputs: np.ndarray, mask=None, state=None):
        return np.zeros((len(inputs), self.width)), None
