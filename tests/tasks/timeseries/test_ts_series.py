"""Choosing target, time axis and covariates; timestamps, frequencies, calendar features."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_timeseries.io import load_table
from seqframe_timeseries.series import select_series
from seqframe_timeseries.timeaxis import (
    Frequency,
    calendar_features,
    default_season,
    format_times,
    future_times,
    infer_frequency,
    parse_times,
)
from ts_helpers import write_csv

from seqframe.errors import ConfigError, DataError


def _table(tmp_path, header, rows):
    return load_table(write_csv(tmp_path / "t.csv", header, rows))


def _rows(n=6):
    return [[f"2001-0{i + 1}-01", i + 1.0, 2.0 * i, "x"] for i in range(n)]


def test_unknown_columns_list_the_columns(tmp_path):
    table = _table(tmp_path, ["date", "a", "b", "note"], _rows())
    for kwargs, what in (({"target": "temp"}, "target"), ({"time_column": "when"}, "time"),
                         ({"target": "a", "covariates": "zz"}, "covariate")):
        with pytest.raises(ConfigError, match=f"{what} column '.*' is not in .*Its columns are: "
                                              "date, a, b, note"):
            select_series(table, **kwargs)


def test_target_must_be_numeric_and_is_chosen_when_unambiguous(tmp_path):
    table = _table(tmp_path, ["date", "a", "b", "note"], _rows())
    with pytest.raises(DataError, match="target column 'note' .* not numeric: 'x' at line 2"):
        select_series(table, target="note")
    with pytest.raises(ConfigError, match=r"2 numeric columns \(a, b\).*-o target=COLUMN"):
        select_series(table)
    assert select_series(table, covariates="b").target == "a"
    series = select_series(table, target="b", covariates="all")
    assert series.covariate_names == ["a"] and series.covariates[:, 0].tolist() == [1, 2, 3, 4,
                                                                                    5, 6]
    with pytest.raises(DataError, match="covariate column 'note' .* not numeric"):
        select_series(table, target="a", covariates="note")
    with pytest.raises(ConfigError, match="covariate 'a' is the target"):
        select_series(table, target="a", covariates="a")


def test_time_column_auto_none_and_ambiguous(tmp_path):
    rows = [[f"2001-01-0{i + 1}", f"2001-02-0{i + 1}", float(i)] for i in range(5)]
    table = _table(tmp_path, ["start", "end", "y"], rows)
    with pytest.raises(ConfigError, match=r"several date columns \(start, end\).*time_column"):
        select_series(table)
    assert select_series(table, time_column="end").times[0] == np.datetime64("2001-02-01")
    series = select_series(table, time_column="none")
    assert series.times is None and series.frequency is None
    named = _table(tmp_path, ["date", "end", "y"], rows)
    assert select_series(named).time_column == "date"  # one candidate is named like a date


def test_bad_time_columns(tmp_path):
    table = _table(tmp_path, ["t", "y"], [["2001-01-02", 1], ["2001-01-01", 2]])
    with pytest.raises(DataError, match="not strictly increasing: 2001-01-02.* at line 3"):
        select_series(table)
    dupes = _table(tmp_path, ["t", "y"], [["2001-01-01", 1], ["2001-01-01", 2]])
    with pytest.raises(DataError, match="not strictly increasing"):
        select_series(dupes)
    words = _table(tmp_path, ["t", "y"], [["soon", 1], ["later", 2]])
    with pytest.raises(DataError, match="time column 't' .* does not hold timestamps"):
        select_series(words, time_column="t")
    hole = _table(tmp_path, ["t", "y"], [["2001-01-01", 1], ["", 2], ["2001-01-03", 3]])
    with pytest.raises(DataError, match="empty or unreadable timestamp at line 3"):
        select_series(hole, time_column="t")


def test_missing_values_error_or_interpolate(tmp_path):
    rows = [["2001-01-01", 1.0], ["2001-01-02", ""], ["2001-01-03", "NaN"], ["2001-01-04", 7.0],
            ["2001-01-05", ""]]
    table = _table(tmp_path, ["t", "y"], rows)
    with pytest.raises(DataError, match="'y' .* 3 missing value.*first at line 3.*"
                                        "missing=interpolate"):
        select_series(table)
    assert select_series(table, missing="interpolate").values.tolist() == [1, 3, 5, 7, 7]
    empty = _table(tmp_path, ["t", "y"], [["2001-01-01", ""], ["2001-01-02", ""]])
    with pytest.raises(DataError, match="no values at all"):
        select_series(empty, missing="interpolate")


def test_interpolate_fills_skipped_timestamps(tmp_path):
    rows = [["2001-01-01 00:00", 1.0], ["2001-01-01 01:00", 2.0], ["2001-01-01 04:00", 8.0],
            ["2001-01-01 05:00", 9.0]]
    table = _table(tmp_path, ["t", "y"], rows)
    assert len(select_series(table)) == 4  # error policy: rows are consecutive steps
    filled = select_series(table, missing="interpolate")
    assert filled.values.tolist() == [1, 2, 4, 6, 8, 9]
    assert str(filled.times[2]) == "2001-01-01T02:00:00"


def test_numeric_year_column_as_time(tmp_path):
    table = _table(tmp_path, ["year", "y"], [[1990 + i, i] for i in range(5)])
    assert select_series(table, target="y").times is None  # numbers are not auto-detected
    series = select_series(table, target="y", time_column="year")
    assert str(series.times[1]) == "1991-01-01T00:00:00"
    assert series.frequency == Frequency("months", 12) and default_season(series.frequency) == 1


@pytest.mark.parametrize("texts, expected", [
    (["1949-01", "1949-02"], ["1949-01-01T00:00:00", "1949-02-01T00:00:00"]),
    (["2010/01/01 00:00", "2010/01/01 01:00"], ["2010-01-01T00:00:00", "2010-01-01T01:00:00"]),
    (["01/31/2010", "02/01/2010"], ["2010-01-31T00:00:00", "2010-02-01T00:00:00"]),
    (["31.01.2010 13:00", "01.02.2010 13:00"], ["2010-01-31T13:00:00", "2010-02-01T13:00:00"]),
    (["2010-01-01T12:00:00Z", "2010-01-01T14:00:00+01:00"],
     ["2010-01-01T12:00:00", "2010-01-01T13:00:00"]),
])
def test_parse_times_formats(texts, expected):
    parsed = parse_times(np.array(texts, dtype=object))
    assert [str(t) for t in parsed] == expected


def test_parse_times_rejects_numbers_and_words():
    assert parse_times(np.array(["112", "118"], dtype=object)) is None
    assert parse_times(np.array(["red", "blue"], dtype=object)) is None
    assert parse_times(np.array([1.0, 2.0])) is None


def test_frequency_inference_and_seasons():
    months = np.array(["1949-01", "1949-02", "1949-03"], dtype="datetime64[M]")
    assert infer_frequency(months.astype("datetime64[s]")) == Frequency("months", 1)
    quarters = np.array(["2000-01", "2000-04", "2000-07"], dtype="datetime64[M]")
    freq = infer_frequency(quarters.astype("datetime64[s]"))
    assert freq == Frequency("months", 3) and default_season(freq) == 4
    hours = np.datetime64("2010-03-14T00:00") + np.array([0, 1, 3, 4, 5]) * np.timedelta64(1, "h")
    freq = infer_frequency(hours.astype("datetime64[s]"))  # one skipped hour: still hourly
    assert freq == Frequency("seconds", 3600) and default_season(freq) == 24
    assert default_season(Frequency("seconds", 86400)) == 7
    assert default_season(Frequency("seconds", 900)) == 96
    assert default_season(None) == 1
    irregular = np.array(["2000-01-01", "2000-01-02", "2000-01-09", "2000-03-01"],
                         dtype="datetime64[s]")
    assert infer_frequency(irregular) is None


def test_future_times_and_formatting():
    last = np.datetime64("1960-12-01T00:00:00")
    ahead = future_times(last, Frequency("months", 1), 3)
    assert format_times(ahead, Frequency("months", 1)) == ["1961-01", "1961-02", "1961-03"]
    hour = future_times(np.datetime64("2010-12-31T23:00:00"), Frequency("seconds", 3600), 2)
    assert format_times(hour, Frequency("seconds", 3600)) == ["2011-01-01 00:00:00",
                                                              "2011-01-01 01:00:00"]


def test_calendar_features_by_hand():
    times = np.array(["2024-01-01T06:00", "2024-07-04T18:00"], dtype="datetime64[s]")
    feats = calendar_features(times, ["hour", "weekday", "month"])
    # 2024-01-01 was a Monday (0), 2024-07-04 a Thursday (3)
    expected = [[np.sin(np.pi / 2), np.cos(np.pi / 2), 0, 1, 0, 1],
                [np.sin(1.5 * np.pi), np.cos(1.5 * np.pi), np.sin(6 * np.pi / 7),
                 np.cos(6 * np.pi / 7), np.sin(np.pi), np.cos(np.pi)]]
    np.testing.assert_allclose(feats, expected, atol=1e-12)
