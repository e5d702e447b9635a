"""The ``-o KEY=VALUE`` options of the ``timeseries`` task and their cross-checks."""

from __future__ import annotations

from seqframe.errors import ConfigError
from seqframe.task import TaskOption

from .timeaxis import CALENDAR_PERIODS

OPTIONS = (
    # data
    TaskOption("target", str, None, "column to forecast (default: the only numeric column, or "
               "the built-in data set's)."),
    TaskOption("time_column", str, "auto", "column of timestamps; auto = the one date column, "
               "none = no time axis."),
    TaskOption("covariates", str, "", "other numeric input columns: a,b or all (past values "
               "only; direct strategy)."),
    TaskOption("missing", str, "error", "empty/NaN cells: error, or interpolate linearly (also "
               "fills skipped timestamps).", ("error", "interpolate")),
    # windows and model
    TaskOption("lookback", int, 24, "L: input steps per window."),
    TaskOption("horizon", int, 12, "H: steps forecast from each origin."),
    TaskOption("strategy", str, "direct", "direct: one model output per horizon step; "
               "recursive: a one-step model fed its own forecasts.", ("direct", "recursive")),
    TaskOption("likelihood", str, "none", "none (mse loss) or gaussian (mean and log-variance, "
               "gaussian_nll loss, prediction intervals).", ("none", "gaussian")),
    TaskOption("interval", float, 0.9, "coverage of the prediction interval (gaussian)."),
    # transforms, all fitted on the training part
    TaskOption("log", bool, False, "model log(y): for multiplicative series (needs y > 0)."),
    TaskOption("seasonal_difference", int, 0, "difference at this lag first (e.g. 12 monthly)."),
    TaskOption("difference", int, 0, "then difference this many times at lag 1 (0-2)."),
    TaskOption("scaler", str, "standard", "scaling of the transformed target, fitted on train.",
               ("standard", "minmax", "none")),
    TaskOption("normalize", str, "last", "per-window anchor subtracted from inputs and targets: "
               "the last input value, the window mean, or none.", ("last", "mean", "none")),
    TaskOption("calendar", str, "", "calendar inputs from the time column: any of "
               f"{','.join(CALENDAR_PERIODS)}."),
    # evaluation
    TaskOption("test_size", float, 0.2, "held-out test part: a fraction (<1) or a step count."),
    TaskOption("val_size", float, 0.1, "validation part before the test part (0 = none: "
               "'val' is then scored in sample on the training windows)."),
    TaskOption("season", int, 0, "m for seasonal naive and MASE; 0 = from the frequency "
               "(12 monthly, 24 hourly, 7 daily)."),
    TaskOption("backtest", int, 0, "score K evenly spaced origins of each split; 0 = every "
               "rolling origin."),
    TaskOption("windows_per_epoch", int, 0, "train on a random subset of this many windows "
               "per epoch; 0 = all."),
    # many series (docs/tasks/timeseries.md)
    TaskOption("layout", str, "auto", "single series, or many: global (one model, each "
               "series' windows are batch rows) or joint (all series are channels of one "
               "input); auto = global for many-series data, else single.",
               ("auto", "single", "global", "joint")),
    TaskOption("id", str, "", "long many-series file: the column naming each row's series "
               "(rows are id, time, value)."),
    TaskOption("series_id", bool, False, "global layout: one-hot series-id input channels."),
    TaskOption("start", str, "", "first time of a file without a time column, e.g. "
               "2012-03-01T00:00 (with -o freq)."),
    TaskOption("freq", str, "", "step of a file without a time column: 5min, 1h, D, W, M, Q, "
               "Y (with -o start)."),
    TaskOption("horizons", str, "", "many series: steps ahead scored on their own (rmse_hK, "
               "mae_hK, mape_hK), e.g. 3,6,9,12; default H/4, H/2, 3H/4, H."),
    TaskOption("plot_series", str, "", "many series: ids to plot, a,b; default the first 3."),
)

PANEL_LAYOUTS = ("global", "joint")


def check(opts: dict) -> list[str]:
    """Reject impossible option values; return the calendar field names."""
    for key, low in (("lookback", 1), ("horizon", 1), ("difference", 0),
                     ("seasonal_difference", 0), ("season", 0), ("backtest", 0),
                     ("windows_per_epoch", 0)):
        if opts[key] < low:
            raise ConfigError(f"-o {key} must be >= {low}; got {opts[key]}.")
    if opts["difference"] > 2:
        raise ConfigError(f"-o difference must be 0, 1 or 2; got {opts['difference']}.")
    if opts["seasonal_difference"] == 1:
        raise ConfigError("-o seasonal_difference=1 is an ordinary difference; use "
                          "-o difference=1 (or a seasonal lag such as 12 or 24).")
    if not 0 < opts["interval"] < 1:
        raise ConfigError(f"-o interval must be between 0 and 1 (e.g. 0.9); got "
                          f"{opts['interval']}.")
    names = [n.strip() for n in opts["calendar"].split(",") if n.strip()]
    bad = [n for n in names if n not in CALENDAR_PERIODS]
    if bad:
        raise ConfigError(f"-o calendar: unknown field {bad[0]!r}; choose from "
                          f"{', '.join(CALENDAR_PERIODS)}.")
    if opts["strategy"] == "recursive" and opts["covariates"].strip():
        raise ConfigError("-o strategy=recursive cannot use covariates: their future values "
                          "are unknown. Use the direct strategy, or drop the covariates.")
    if opts["layout"] in PANEL_LAYOUTS or opts["id"].strip():
        check_panel(opts)
    elif opts["series_id"]:
        raise ConfigError("-o series_id=true is for many series (-o layout=global).")
    return names


# the single-series features a many-series run does not have (yet), with their defaults
_SINGLE_ONLY = {"covariates": "", "strategy": "direct", "likelihood": "none", "difference": 0,
                "seasonal_difference": 0}


def check_panel(opts: dict) -> None:
    """Reject options a many-series run cannot honour."""
    if opts["layout"] == "single":
        raise ConfigError(f"-o id={opts['id']} makes this many series; use -o layout=global "
                          f"or joint (or drop -o id to read one series).")
    for key, default in _SINGLE_ONLY.items():
        if opts[key] != default:
            raise ConfigError(
                f"-o {key}={opts[key]} is a single-series option; many-series runs use the "
                f"direct strategy on per-series scaled values (-o log, scaler, normalize and "
                f"calendar apply). Drop -o {key}.")
    if opts["series_id"] and opts["layout"] == "joint":
        raise ConfigError("-o series_id=true is for the global layout; in the joint layout "
                          "every series has its own input channel already.")
