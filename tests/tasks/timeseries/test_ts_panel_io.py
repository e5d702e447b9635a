"""Many series from a table: wide and long files, unequal spans, missing values, -o start/freq,
the built-in stocks panel, Hugging Face, and the time-step spellings."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from seqframe_timeseries.io import load_table
from seqframe_timeseries.panel import PanelSpec, read_panel
from seqframe_timeseries.timeaxis import Frequency, parse_frequency, parse_times, regular_times
from ts_helpers import monthly_times, write_csv

from seqframe.errors import ConfigError, DataError


def _long(tmp_path, rows, header=("store", "month", "sales")):
    return load_table(write_csv(tmp_path / "long.csv", list(header), rows))


def test_long_file_unequal_starts_on_one_monthly_grid(tmp_path):
    months = monthly_times(6)
    # b starts two months later and ends one month earlier; rows are out of order on purpose
    rows = [["a", m, 10.0 + i] for i, m in enumerate(months)]
    rows += [["b", months[i], 100.0 + i] for i in (4, 2, 3)]
    panel = read_panel(_long(tmp_path, rows[3:] + rows[:3]), PanelSpec("store"))
    assert panel.ids == ["a", "b"]  # order of first appearance
    assert [str(t)[:7] for t in panel.times] == months and panel.frequency == Frequency("months", 1)
    assert panel.starts.tolist() == [0, 2] and panel.ends.tolist() == [6, 5]
    np.testing.assert_array_equal(panel.values[0], 10.0 + np.arange(6))
    np.testing.assert_array_equal(panel.values[1, 2:5], [102.0, 103.0, 104.0])
    assert np.isnan(panel.values[1, [0, 1, 5]]).all()
    assert panel.value_name == "sales" and panel.time_column == "month"


def test_long_file_holes_follow_the_missing_policy(tmp_path):
    months = monthly_times(5)
    rows = [["a", m, float(i)] for i, m in enumerate(months)]
    rows += [["b", months[0], 0.0], ["b", months[1], ""], ["b", months[3], 6.0],
             ["b", months[4], 8.0]]  # b: an empty cell at month 2, no row at month 3
    table = _long(tmp_path, rows)
    with pytest.raises(DataError, match=r"series 'b' .* 2 missing value\(s\) inside its span, "
                                        r"the first at 2000-02.*missing=interpolate"):
        read_panel(table, PanelSpec("store"))
    filled = read_panel(table, PanelSpec("store", missing="interpolate"))
    np.testing.assert_allclose(filled.values[1], [0.0, 2.0, 4.0, 6.0, 8.0])


def test_wide_file_of_sensor_ids_with_start_and_freq(tmp_path):
    # whole-number headers are series ids only when many series are asked for
    rows = [["", 60.0, 55.0], [61.0, 62.0, ""], [63.0, 64.0, ""], [65.0, "", ""]]
    path = write_csv(tmp_path / "speeds.csv", ["773869", "767541", "9"], rows)
    with pytest.raises(DataError, match="looks like data.*-o layout=global"):
        load_table(path)
    table = load_table(path, numbered_header=True)
    panel = read_panel(table, PanelSpec(None, start="2012-03-01T00:00", freq="5min"))
    assert panel.ids == ["773869", "767541", "9"] and panel.frequency == Frequency("seconds", 300)
    assert [str(t) for t in panel.times[[0, -1]]] == ["2012-03-01T00:00:00",
                                                     "2012-03-01T00:15:00"]
    # 773869 starts a step late, 767541 ends a step early, 9 has a single value
    assert panel.starts.tolist() == [1, 0, 0] and panel.ends.tolist() == [4, 3, 1]
    with pytest.raises(DataError, match="looks like data"):
        load_table(write_csv(tmp_path / "x.csv", ["64.375", "67.625"], [[1, 2]]),
                   numbered_header=True)


def test_wide_file_hole_inside_a_span_and_skipped_times(tmp_path):
    rows = [["2020-01-01 00:00", 1.0, 5.0], ["2020-01-01 01:00", "", 6.0],
            ["2020-01-01 02:00", 3.0, 7.0], ["2020-01-01 05:00", 9.0, 10.0]]
    table = load_table(write_csv(tmp_path / "w.csv", ["time", "x", "y"], rows))
    with pytest.raises(DataError, match=r"series 'x' .* 1 missing value\(s\).*first at "
                                        r"2020-01-01 01:00:00 \(line 3\)"):
        read_panel(table, PanelSpec(None))
    filled = read_panel(table, PanelSpec(None, missing="interpolate"))
    # interpolate also fills the skipped hours 03:00 and 04:00, linearly in time
    np.testing.assert_allclose(filled.values, [[1, 2, 3, 5, 7, 9], [5, 6, 7, 8, 9, 10]])


def test_wide_file_choices_and_errors(tmp_path):
    rows = [[m, 1.0, 2.0, "north"] for m in monthly_times(4)]
    table = load_table(write_csv(tmp_path / "w.csv", ["month", "a", "b", "region"], rows))
    picked = read_panel(table, PanelSpec(None, target="b,a"))
    assert picked.ids == ["b", "a"] and picked.time_column == "month"
    with pytest.raises(DataError, match=r"column 'region' of the wide file .* not a series of "
                                        r"numbers: 'north' at line 2.*-o target=a,b,c.*-o id"):
        read_panel(table, PanelSpec(None))
    with pytest.raises(ConfigError, match="series column 'zz' is not in"):
        read_panel(table, PanelSpec(None, target="a,zz"))
    with pytest.raises(ConfigError, match=r"has a time column \('month'\); -o start"):
        read_panel(table, PanelSpec(None, target="a", start="2000-01-01", freq="M"))
    with pytest.raises(ConfigError, match="-o start and -o freq go together"):
        read_panel(table, PanelSpec(None, target="a", time_column="none", freq="M"))


def test_stocks_is_shipped_and_matches_the_shared_copy(shared_data):
    panel = read_panel(load_table("stocks"), PanelSpec("symbol"))
    with (shared_data / "stocks.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert panel.ids == list(dict.fromkeys(r["symbol"] for r in rows))
    assert panel.frequency == Frequency("months", 1) and panel.steps == 123
    for s, name in enumerate(panel.ids):
        prices = [float(r["price"]) for r in rows if r["symbol"] == name]
        span = panel.values[s, panel.starts[s]:panel.ends[s]]
        np.testing.assert_array_equal(span, prices)
    goog = panel.ids.index("GOOG")
    assert str(panel.times[panel.starts[goog]])[:7] == "2004-08"


def test_los_loop_reads_as_160_sensors(shared_data):
    path = shared_data / "los-loop" / "los_speed.csv"
    panel = read_panel(load_table(str(path), numbered_header=True),
                       PanelSpec(None, start="2012-03-01T00:00", freq="5min"))
    header = path.read_text().splitlines()[0].split(",")
    assert panel.ids == header and len(header) == 160
    np.testing.assert_array_equal(panel.values.T, np.loadtxt(path, delimiter=",", skiprows=1))
    assert str(panel.times[-1]) == "2012-03-07T23:55:00"


def test_hugging_face_long_panel(tmp_path):
    datasets = pytest.importorskip("datasets")
    data = {"item": ["x", "x", "x", "y", "y"],
            "day": ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-02", "2020-01-03"],
            "units": [1.0, 2.0, 3.0, 7.0, 8.0]}
    datasets.Dataset.from_dict(data).save_to_disk(str(tmp_path / "hf"))
    panel = read_panel(load_table(f"hf:{tmp_path / 'hf'}"), PanelSpec("item"))
    assert panel.ids == ["x", "y"] and panel.starts.tolist() == [0, 1]
    np.testing.assert_array_equal(panel.values[1, 1:], [7.0, 8.0])
    assert panel.frequency == Frequency("seconds", 86400)


@pytest.mark.parametrize("text, unit, step", [
    ("5min", "seconds", 300), ("15min", "seconds", 900), ("1h", "seconds", 3600),
    ("2hours", "seconds", 7200), ("D", "seconds", 86400), ("W", "seconds", 604800),
    ("30s", "seconds", 30), ("M", "months", 1), ("MS", "months", 1), ("Q", "months", 3),
    ("Y", "months", 12),
])
def test_frequency_spellings(text, unit, step):
    assert parse_frequency(text) == Frequency(unit, step)


@pytest.mark.parametrize("text", ["", "0min", "5 parsecs", "min5"])
def test_bad_frequency(text):
    with pytest.raises(ConfigError, match="is not a time step.*5min"):
        parse_frequency(text)


def test_regular_times_and_month_names():
    times = regular_times("2000-01-31", Frequency("seconds", 86400), 3)
    assert [str(t)[:10] for t in times] == ["2000-01-31", "2000-02-01", "2000-02-02"]
    with pytest.raises(ConfigError, match="-o start='soon' is not a timestamp"):
        regular_times("soon", Frequency("seconds", 60), 2)
    parsed = parse_times(np.array(["Jan 1 2000", "Feb 1 2000"], dtype=object))
    assert [str(t) for t in parsed] == ["2000-01-01T00:00:00", "2000-02-01T00:00:00"]
