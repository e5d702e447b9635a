"""Windows of many series, and the two ways a model reads them.

Times are indices into the common grid (see :mod:`.panel`); a window with origin ``o`` of series
``s`` reads ``x[s, o-L .. o-1]`` and forecasts ``x[s, o .. o+H-1]``, all inside the series' span.

*global* layout: one model shared by every series; each (series, origin) pair is a batch row.
A row's inputs are, per step, ``[value, one-hot series id (S, optional), calendar (2K)]``; its
targets are the H next values: inputs (B, L, 1 [+ S] + 2K), targets (B, H).

*joint* layout: all S series are the channels of one input and are forecast together; a batch
row is an origin. Inputs (B, L, S + 2K): channel ``s`` is series ``s`` (in the run's series
order), then the calendar. Targets and model outputs (B, S * H) are **series-major**: output
``s * H + h`` is series ``s``, ``h + 1`` steps ahead, i.e. ``out.reshape(B, S, H)``.

In both, the value channels are the per-series scaled values minus the window's anchor (the
``normalize`` option: the last input value, the window mean, or 0), and the targets are scaled
values minus the same anchor, so the model forecasts the change from the anchor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqframe.task import Batch, RowBatches

from .windows import anchors


@dataclass(frozen=True)
class PanelWindows:
    """Everything a batch is made from.

    Attributes:
        layout: ``global`` or ``joint``.
        x: (S, N) per-series scaled values (NaN outside each span; never read there).
        calendar: (N, 2K) calendar features of the grid (K may be 0).
        lookback, horizon: L and the model's H.
        normalize: ``last``, ``mean`` or ``none``.
        series_id: global layout: append one-hot series-id channels.
    """

    layout: str
    x: np.ndarray
    calendar: np.ndarray
    lookback: int
    horizon: int
    normalize: str
    series_id: bool = False

    @property
    def series(self) -> int:
        return self.x.shape[0]

    @property
    def input_size(self) -> int:
        values = self.series if self.layout == "joint" else 1 + self.series * self.series_id
        return values + self.calendar.shape[1]

    @property
    def output_size(self) -> int:
        return self.horizon * (self.series if self.layout == "joint" else 1)

    def inputs(self, series: np.ndarray, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs and anchors of windows.

        Args:
            series, origins: (W,) for the global layout; for the joint one ``series`` is
                ignored and ``origins`` (W,) are the rows.

        Returns:
            (W, L, D) inputs, and anchors: (W,) global or (W, S) joint.
        """
        steps = origins[:, None] + np.arange(-self.lookback, 0)[None, :]  # (W, L)
        cal = self.calendar[steps]  # (W, L, 2K)
        if self.layout == "joint":
            values = np.transpose(self.x[:, steps], (1, 2, 0))  # (W, L, S)
            level = anchors(np.transpose(values, (0, 2, 1)).reshape(-1, self.lookback),
                            self.normalize).reshape(len(origins), self.series)  # (W, S)
            return np.concatenate([values - level[:, None, :], cal], axis=2), level
        values = self.x[series[:, None], steps]  # (W, L)
        level = anchors(values, self.normalize)  # (W,)
        parts = [(values - level[:, None])[:, :, None]]
        if self.series_id:
            onehot = np.zeros((len(series), self.lookback, self.series))  # (W, L, S)
            onehot[np.arange(len(series)), :, series] = 1.0
            parts.append(onehot)
        return np.concatenate(parts + [cal], axis=2), level

    def targets(self, series: np.ndarray, origins: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Training targets: (W, H) global, (W, S * H) joint (series-major)."""
        steps = origins[:, None] + np.arange(self.horizon)[None, :]  # (W, H)
        if self.layout == "joint":
            ahead = np.transpose(self.x[:, steps], (1, 0, 2)) - level[:, :, None]  # (W, S, H)
            return ahead.reshape(len(origins), -1)
        return self.x[series[:, None], steps] - level[:, None]

    def scaled_forecast(self, outputs: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Model outputs back to scaled values: (W, H) global, (W, S, H) joint."""
        if self.layout == "joint":
            return outputs.reshape(len(outputs), self.series, self.horizon) + level[:, :, None]
        return outputs[:, :self.horizon] + level[:, None]


class PanelBatches(RowBatches):
    """One epoch's training batches: rows are (series, origin) pairs (joint: origins)."""

    def __init__(self, windows: PanelWindows, series: np.ndarray, origins: np.ndarray,
                 order: np.ndarray, batch_size: int):
        super().__init__(order, batch_size)
        self.windows, self.series_index, self.origins = windows, series, origins

    def make(self, rows: np.ndarray, index: int) -> Batch:
        series, origins = self.series_index[rows], self.origins[rows]
        inputs, level = self.windows.inputs(series, origins)
        targets = self.windows.targets(series, origins, level)
        count, steps = inputs.shape[:2]
        return Batch(inputs=inputs, targets=targets, mask=np.ones((count, steps), dtype=bool),
                     reset=np.ones(count, dtype=bool))


def series_origins(starts: np.ndarray, ends: np.ndarray, lo: int, hi: int, lookback: int,
                   horizon: int, history: int = 0) -> list[np.ndarray]:
    """Per series, every origin whose targets lie in ``[lo, hi)`` and inside its span, with
    ``max(lookback, history)`` steps of its own history before it: a list of (W_s,) int64."""
    out = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        first = max(lo, start + lookback, start + history)
        out.append(np.arange(first, min(hi, end) - horizon + 1, dtype=np.int64))
    return out


def pairs(per_series: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Flatten per-series origins into (series (W,), origins (W,)), series by series."""
    series = np.concatenate([np.full(len(o), s, dtype=np.int64)
                             for s, o in enumerate(per_series)]) if per_series else \
        np.zeros(0, np.int64)
    origins = np.concatenate(per_series) if per_series else np.zeros(0, np.int64)
    return series, origins


def common(per_series: list[np.ndarray]) -> np.ndarray:
    """The origins every series has (the joint layout's rows): (W,)."""
    out = per_series[0]
    for origins in per_series[1:]:
        out = np.intersect1d(out, origins)
    return out
