"""The many-series half of the ``timeseries`` task: panels, the global and joint layouts.

What is evaluated, precisely: the common time grid (see :mod:`.panel`) is split in time into
train / val / test (``test_size``, ``val_size``: fractions of the grid, or step counts), the
same cut for every series, so no series' future leaks into another's training. A series is
kept when its training part holds at least one window (lookback + horizon steps); the others
are skipped, with their count and ids in the log. Every (series, origin) window whose H targets
lie in a split (and inside the series' span, with a full season of the series' history before
it for the seasonal-naive baseline) is scored; in the joint layout only the origins every kept
series has. Scaling is per series, fitted on that series' training part. Metrics and baselines:
:mod:`.panelscore`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from seqframe.errors import ConfigError, DataError
from seqframe.task import ModelSpec, Predictor, log_to_stderr

from . import panelscore as sc
from .io import load_table
from .options import PANEL_LAYOUTS, check_panel
from .panel import Panel, PanelSpec, read_panel
from .panelwin import PanelBatches, PanelWindows, common, pairs, series_origins
from .scaling import Scaler, TargetTransform
from .timeaxis import Frequency, calendar_features, default_season
from .windows import make_splits, spread

PREDICT_ROWS = 2048  # windows per predict call: bounds the (rows, L, D) input buffer


class ManySeries:
    """Prepares, batches, scores and forecasts a panel for :class:`.task.TimeSeriesTask`.

    Args:
        opts: the task's parsed options.
        data: ``--data``.
        calendar: the calendar fields (``-o calendar``).
        log: where one-line notes go (skipped series); stderr by default.
    """

    def __init__(self, opts: dict[str, Any], data: str | None, calendar: list[str],
                 log: Callable[[str], None] = log_to_stderr):
        self.opts, self.data, self.calendar, self.log = opts, data, calendar, log
        self.layout = opts["layout"] if opts["layout"] in PANEL_LAYOUTS else "global"
        check_panel({**opts, "layout": self.layout})
        self.horizon = opts["horizon"]
        self.steps = sc.report_steps(opts["horizons"], self.horizon)

    # ---- preparing ---------------------------------------------------------------------------

    def prepare(self, state: dict[str, Any] | None) -> ModelSpec:
        o, L, H = self.opts, self.opts["lookback"], self.horizon
        table = load_table(self.data, numbered_header=True)
        self.spec = self.panel_spec(table.default_id, state)
        panel = read_panel(table, self.spec)
        self.parts = make_splits(panel.steps, o["test_size"], o["val_size"])
        self.season = o["season"] or default_season(panel.frequency)
        if state:
            panel, self.skipped = panel.select(state["ids"]), list(state["skipped"])
        else:
            panel = self._keep_trainable(panel)
        self.panel = panel
        if self.calendar and panel.times is None:
            raise ConfigError(f"-o calendar needs times, and {table.source} has none: set -o "
                              f"time_column=NAME, or -o start and -o freq.")
        self.transform = TargetTransform(o["log"], ())
        z = self.levels(panel)  # (S, N), NaN off-span
        train_end = self.parts.train_end
        self.scaler = Scaler.from_dict(state["scaler"]) if state else \
            Scaler.fit(o["scaler"], z[:, :train_end].T)  # per-series (S,) shift and scale
        self.windows = self._windows(panel, z)
        per = series_origins(panel.starts, panel.ends, 0, train_end, L, H)
        self.train_series, self.train_origins = self._rows(per)
        if len(self.train_origins) == 0:
            raise DataError(
                f"the {len(panel.ids)} series of {panel.source} never all have a training "
                f"window at the same time, which the joint layout needs (lookback {L} + "
                f"horizon {H} steps before step {train_end}); use -o layout=global.")
        self.mase_scale = sc.series_scales(panel.values, panel.starts, train_end, self.season)
        self.season_means = sc.seasonal_means(panel.values, panel.starts, train_end,
                                              self.season)
        self._check_splits()
        return ModelSpec(input_size=self.windows.input_size,
                         output_size=self.windows.output_size, readout="last", loss="mse")

    def panel_spec(self, default_id: str | None, state: dict | None) -> PanelSpec:
        o = self.opts
        if state:
            return PanelSpec(state["id_column"], state["time_column"],
                             state["value_column"], o["start"], o["freq"], o["missing"])
        return PanelSpec(o["id"].strip() or default_id, o["time_column"], o["target"],
                         o["start"].strip(), o["freq"].strip(), o["missing"])

    def _keep_trainable(self, panel: Panel) -> Panel:
        """Skip the series whose training part holds no window; log how many and which."""
        L, H, end = self.opts["lookback"], self.horizon, self.parts.train_end
        per = series_origins(panel.starts, panel.ends, 0, end, L, H)
        keep = [name for name, o in zip(panel.ids, per, strict=True) if len(o)]
        self.skipped = [name for name, o in zip(panel.ids, per, strict=True) if not len(o)]
        lengths = np.minimum(panel.ends, end) - panel.starts
        if not keep:
            raise DataError(
                f"none of the {len(panel.ids)} series of {panel.source} has lookback {L} + "
                f"horizon {H} = {L + H} steps in its training part (the first {end} of "
                f"{panel.steps} steps; the longest series has {max(int(lengths.max()), 0)}). "
                f"Use a shorter -o lookback/horizon or a smaller test_size/val_size.")
        if self.skipped:
            shown = ", ".join(f"{name} ({max(int(n), 0)})" for name, n in zip(
                panel.ids, lengths, strict=True) if name in set(self.skipped[:10]))
            more = ", ..." if len(self.skipped) > 10 else ""
            self.log(f"skipped {len(self.skipped)} of {len(panel.ids)} series with fewer than "
                     f"lookback {L} + horizon {H} = {L + H} steps in the training part: "
                     f"{shown}{more}")
        return panel.select(keep) if self.skipped else panel

    def levels(self, panel: Panel) -> np.ndarray:
        """(S, N) the values the scaler sees: log(y) under ``-o log``, else y."""
        if self.opts["log"]:
            low = np.where(np.isfinite(panel.values), panel.values, np.inf).min(axis=1)
            if np.any(low <= 0):
                s = int(np.argmin(low))
                raise DataError(f"-o log=true needs positive values, but series "
                                f"{panel.ids[s]!r} of {panel.source} has {low[s]:g}. Use "
                                f"log=false.")
        return self.transform.level(panel.values)

    def _windows(self, panel: Panel, z: np.ndarray) -> PanelWindows:
        x = (z - self.scaler.shift[:, None]) / self.scaler.scale[:, None]  # (S, N)
        cal = calendar_features(panel.times, self.calendar) if self.calendar \
            else np.zeros((panel.steps, 0))  # (N, 2K)
        return PanelWindows(self.layout, x, cal, self.opts["lookback"], self.horizon,
                            self.opts["normalize"], self.opts["series_id"])

    def _rows(self, per: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Batch rows from per-series origins: (series, origin) pairs, or common origins."""
        if self.layout == "joint":
            origins = common(per)
            return np.zeros(len(origins), np.int64), origins
        return pairs(per)

    def _check_splits(self) -> None:
        H = self.horizon
        for split in ("val", "test"):
            size = self.parts.size(split)
            if 0 < size < H or (split == "test" and size == 0 and self.parts.size("val") == 0):
                raise ConfigError(
                    f"the {split} part has {size} steps, fewer than the horizon {H}: no "
                    f"complete forecast fits. Use {split}_size >= {H} (steps) "
                    + ("or val_size=0." if split == "val" else "or a shorter horizon."))
        for split in self.splits():
            if len(self.eval_pairs(split)[0]) == 0:
                raise ConfigError(
                    f"no series has a {split} window with lookback {self.opts['lookback']} "
                    f"and a full season ({self.season} steps) of its own history before it"
                    + (", at an origin every series shares (joint layout)"
                       if self.layout == "joint" else "")
                    + "; lower -o season or -o lookback, or the val/test sizes.")

    def state_dict(self) -> dict[str, Any]:
        p = self.panel
        return {
            "panel": True, "layout": self.layout, "ids": list(p.ids), "skipped": self.skipped,
            "id_column": self.spec.id_column,
            "time_column": p.time_column or self.spec.time_column,
            # long: the value column; wide: the series' own columns, so nothing else is read
            "value_column": p.value_name if self.spec.id_column else ",".join(p.ids),
            "frequency": p.frequency.to_dict() if p.frequency else None,
            "scaler": self.scaler.to_dict(), "log": self.opts["log"], "season": self.season,
            "calendar": self.calendar, "series_id": self.opts["series_id"],
            "model_horizon": self.horizon,
        }

    # ---- training ----------------------------------------------------------------------------

    def train_batches(self, epoch: int, batch_size: int, seed: int) -> PanelBatches:
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(self.train_origins))
        if 0 < self.opts["windows_per_epoch"] < len(order):
            order = order[:self.opts["windows_per_epoch"]]
        return PanelBatches(self.windows, self.train_series, self.train_origins, order,
                            batch_size)

    # ---- evaluation --------------------------------------------------------------------------

    def splits(self) -> tuple[str, ...]:
        return ("val", "test") if self.parts.size("test") else ("val",)

    def eval_pairs(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Scored windows of ``split``: (series (W,), origins (W,)). With val_size=0, 'val' is
        the training windows (in sample)."""
        if split not in ("val", "test"):
            raise ConfigError(f"unknown split {split!r}; the timeseries task has val and test.")
        lo, hi = self.parts.bounds(split)
        if split == "val" and lo == hi:
            lo, hi = self.parts.bounds("train")
        p = self.panel
        per = series_origins(p.starts, p.ends, lo, hi, self.opts["lookback"], self.horizon,
                             history=self.season)
        per = [spread(o, self.opts["backtest"]) for o in per]
        if self.layout == "joint":
            shared = common(per)
            per = [shared] * len(per)
        return pairs(per)

    def actual(self, series: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """(W, H) observed values, data units."""
        return self.panel.values[series[:, None], origins[:, None] + np.arange(self.horizon)]

    def model_forecast(self, predictor: Predictor, series: np.ndarray, origins: np.ndarray,
                       windows: PanelWindows | None = None,
                       scaler: Scaler | None = None) -> np.ndarray:
        """(W, H) model forecasts in data units for (series, origin) windows."""
        windows, scaler = windows or self.windows, scaler or self.scaler
        if self.layout == "joint":
            rows, back = np.unique(origins, return_inverse=True)
            scaled = self._predict(predictor, windows, np.zeros(len(rows), np.int64), rows)
            x = scaled[back, series]  # (W, H) from (U, S, H)
        else:
            x = self._predict(predictor, windows, series, origins)
        u = x * scaler.scale[series, None] + scaler.shift[series, None]
        return self.transform.to_data_units(u)

    def _predict(self, predictor: Predictor, windows: PanelWindows, series: np.ndarray,
                 origins: np.ndarray) -> np.ndarray:
        parts = []
        for lo in range(0, len(origins), PREDICT_ROWS):
            rows = slice(lo, lo + PREDICT_ROWS)
            inputs, level = windows.inputs(series[rows], origins[rows])
            out, _ = predictor.predict(inputs)
            parts.append(windows.scaled_forecast(out, level))
        return np.concatenate(parts)

    def evaluate(self, predictor: Predictor, split: str) -> dict[str, float]:
        series, origins = self.eval_pairs(split)
        out = self._score(self.actual(series, origins),
                          self.model_forecast(predictor, series, origins), series)
        if split == "val" and self.parts.size("val") == 0:
            out["in_sample"] = 1.0
        return out

    def _score(self, actual: np.ndarray, forecast: np.ndarray,
               series: np.ndarray) -> dict[str, float]:
        out = sc.score(actual, forecast, self.mase_scale[series], self.steps)
        out.update(mase_season=float(self.season), windows=float(len(series)),
                   series=float(len(np.unique(series))), horizon=float(self.horizon))
        return out

    def baseline_forecasts(self, series: np.ndarray, origins: np.ndarray
                           ) -> dict[str, np.ndarray]:
        y, H = self.panel.values, self.horizon
        return {
            "naive": sc.naive(y, series, origins, H),
            "seasonal_naive": sc.seasonal_naive(y, series, origins, H, self.season),
            "historical_average": sc.historical_average(self.season_means, series, origins, H),
        }

    def baselines(self, split: str) -> dict[str, dict[str, float]]:
        """naive (last value), seasonal_naive (one season back), historical_average (the
        training mean at the same time of day / position in the season), same windows."""
        series, origins = self.eval_pairs(split)
        actual = self.actual(series, origins)
        return {name: self._score(actual, fc, series)
                for name, fc in self.baseline_forecasts(series, origins).items()}

    # ---- artefacts and forecasting -----------------------------------------------------------

    def write_artefacts(self, predictor: Predictor, run_dir: Path) -> list[Path]:
        from .panelart import write_split_artefacts

        split = "test" if "test" in self.splits() else "val"
        return write_split_artefacts(self, predictor, split, Path(run_dir))

    def forecast(self, predictor: Predictor, *, horizon: int, data: str | None, out_dir: Path,
                 series: str | None = None) -> list[Path]:
        from .panelart import write_future
        from .panelfuture import forecast_panel

        panel, result = forecast_panel(self, predictor, horizon, data, series)
        return write_future(self, panel, result, Path(out_dir))

    def forecast_series(self, predictor: Predictor, *, horizon: int, data: str | None = None,
                        series: str | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Forecast ``horizon`` steps past each series' end (the joint layout: past the grid's).

        Returns:
            ``{id: (times or step numbers (h,), forecasts (h,))}`` for every series, or only
            ``series``.
        """
        from .panelfuture import forecast_panel

        return forecast_panel(self, predictor, horizon, data, series)[1]

    @property
    def frequency(self) -> Frequency | None:
        return self.panel.frequency

