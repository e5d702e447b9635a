"""Forecasts past the end of many series (``seqframe forecast RUN [--series ID]``).

The global layout forecasts each series from its own last observation; the joint layout
forecasts every series from the grid's last step, which all of them must reach. Series the run
was trained on keep their training-time scaling. With ``--data`` another file can be forecast:
under the global layout without series-id inputs it may hold series the run never saw (the
shared model generalises across series); each of those is scaled on its own history. With
series-id inputs, or the joint layout, the model knows its series by position, so the file must
hold every trained series.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from seqframe.errors import ConfigError, DataError
from seqframe.task import Predictor

from .io import load_table
from .panel import Panel, PanelSpec, read_panel
from .panelwin import PanelWindows
from .scaling import Scaler
from .timeaxis import calendar_features, future_times

if TYPE_CHECKING:
    from .manyseries import ManySeries


def forecast_panel(many: ManySeries, predictor: Predictor, horizon: int, data: str | None,
                   series: str | None) -> tuple[Panel, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The panel forecast from, and ``{id: (times or step numbers (h,), forecasts (h,))}``
    for every series of it, or only ``series``; see the module docstring."""
    if horizon < 1:
        raise ConfigError(f"--horizon must be at least 1; got {horizon}.")
    if horizon > many.horizon:
        raise ConfigError(
            f"--horizon {horizon} is longer than the trained horizon {many.horizon}; a "
            f"many-series model forecasts at most the horizon it was trained for. Use --horizon "
            f"{many.horizon} or less, or train with a longer -o horizon.")
    panel = many.panel if data is None else _read(many, data)
    if many.layout == "joint" or many.opts["series_id"]:
        # the model knows its series by position: the trained ones, in their order
        panel = panel.select(many.panel.ids, what="this run")
    elif series is not None:
        panel = panel.select([panel.ids[find_series(panel.ids, series)]])
    rows = np.arange(len(panel.ids))  # (W,) the series forecast
    if series is not None:
        rows = np.array([find_series(panel.ids, series)])
    L = many.opts["lookback"]
    origins = panel.ends.copy() if many.layout == "global" else \
        np.full(len(panel.ids), panel.steps)
    needed = np.arange(len(panel.ids)) if many.layout == "joint" else rows
    short = [s for s in needed.tolist() if origins[s] - L < panel.starts[s]]
    if short:
        s = short[0]
        reach = "its last" if many.layout == "global" else "the grid's last step (joint layout)"
        raise DataError(f"series {panel.ids[s]!r} of {panel.source} has no {L} observed steps "
                        f"up to {reach}; a forecast needs the last {L} (the lookback).")
    scaler = _scaler(many, panel)
    x = (many.levels(panel) - scaler.shift[:, None]) / scaler.scale[:, None]  # (S, N)
    cal = calendar_features(panel.times, many.calendar) if many.calendar \
        else np.zeros((panel.steps, 0))  # (N, 2K)
    windows = PanelWindows(many.layout, x, cal, L, many.horizon, many.opts["normalize"],
                           many.opts["series_id"])
    point = many.model_forecast(predictor, rows, origins[rows], windows, scaler)  # (W, H)
    freq, out = panel.frequency, {}
    for k, s in enumerate(rows.tolist()):
        last = int(origins[s]) - 1
        when = future_times(panel.times[last], freq, horizon) \
            if panel.times is not None and freq is not None else last + np.arange(1, horizon + 1)
        out[panel.ids[s]] = (when, point[k, :horizon])
    return panel, out


def find_series(ids: list[str], name: str) -> int:
    """The index of series ``name``; an unknown one is a ConfigError naming close matches."""
    if name in ids:
        return ids.index(name)
    from difflib import get_close_matches

    close = get_close_matches(name, ids, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    shown = ", ".join(ids[:12]) + (f", ... ({len(ids)} in all)" if len(ids) > 12 else "")
    raise ConfigError(f"no series {name!r} in this run.{hint} Its series: {shown}.")


def _read(many: ManySeries, data: str) -> Panel:
    spec = many.spec
    return read_panel(load_table(data, numbered_header=True), PanelSpec(
        spec.id_column, many.panel.time_column or spec.time_column,
        spec.target if spec.id_column is None else many.panel.value_name,
        spec.start, spec.freq, spec.missing))


def _scaler(many: ManySeries, panel: Panel) -> Scaler:
    """Per-series scaling of ``panel``: the fitted one for trained ids, else fitted on the
    series' own history (global layout without series ids only)."""
    trained = {name: i for i, name in enumerate(many.panel.ids)}
    fitted = many.scaler
    shift, scale = np.zeros(len(panel.ids)), np.ones(len(panel.ids))
    new = [s for s, name in enumerate(panel.ids) if name not in trained]
    if new:
        own = Scaler.fit(fitted.kind, many.levels(panel)[new].T)
        shift[new], scale[new] = own.shift, own.scale
    for s, name in enumerate(panel.ids):
        if name in trained:
            shift[s], scale[s] = fitted.shift[trained[name]], fitted.scale[trained[name]]
    return Scaler(fitted.kind, shift, scale)
