"""Reading CSV, Parquet, Hugging Face folders and the built-in data sets; malformed files."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
from seqframe_timeseries.io import BUILTIN, load_table
from seqframe_timeseries.series import select_series

from seqframe.errors import DataError, MissingDependencyError


def test_builtin_data_sets_are_shipped():
    airline = select_series(load_table(None))
    assert airline.source == "airline" and airline.target == "Passengers" and len(airline) == 144
    assert airline.time_column == "Date" and str(airline.times[0]) == "1949-01-01T00:00:00"
    assert airline.values[:3].tolist() == [112, 118, 132]
    seattle = select_series(load_table("seattle-temps"))
    assert (seattle.target, len(seattle), seattle.frequency.describe()) == ("temp", 8759, "hourly")


def test_builtin_data_sets_match_the_shared_copies(shared_data):
    for name, (filename, _) in BUILTIN.items():
        shared = np.loadtxt(shared_data / filename, delimiter=",", skiprows=1, usecols=1)
        np.testing.assert_array_equal(select_series(load_table(name)).values, shared)


@pytest.mark.parametrize("text", [
    "t,y\n2000-01-01,1\n2000-01-02,2\n2000-01-03,3\n",
    "\ufefft;y\n2000-01-01;1\n\n2000-01-02;2\n2000-01-03;3\n",
    "t\ty\n2000-01-01\t1\n2000-01-02\t2\n2000-01-03\t3\n",
    't,y\n"2000-01-01",1\r\n"2000-01-02", 2\r\n2000-01-03,3\r\n',
])
def test_csv_dialects(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    series = select_series(load_table(str(path)))
    assert series.target == "y" and series.values.tolist() == [1, 2, 3]
    assert series.frequency.describe() == "daily"


def test_parquet_with_typed_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    times = np.datetime64("2021-01-01T00:00") + np.arange(5) * np.timedelta64(1, "h")
    table = pa.table({"when": pa.array(times.astype("datetime64[s]")),
                      "load": pa.array([1, 2, None, 4, 5], pa.int64()),
                      "name": ["a", "b", "c", "d", "e"]})
    pq.write_table(table, tmp_path / "x.parquet")
    loaded = load_table(str(tmp_path / "x.parquet"))
    assert np.isnan(loaded.columns["load"][2]) and loaded.columns["when"].dtype.kind == "M"
    with pytest.raises(DataError, match=r"'load' .* 1 missing value.*row 3"):
        select_series(loaded)
    series = select_series(loaded, missing="interpolate")
    assert series.values.tolist() == [1, 2, 3, 4, 5] and series.time_column == "when"


def test_parquet_without_pyarrow_names_the_fix(tmp_path, monkeypatch):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1")
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(MissingDependencyError, match="needs pyarrow.*pip install pyarrow"):
        load_table(str(path))


def test_corrupt_parquet_is_a_data_error(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read Parquet file"):
        load_table(str(path))


def test_hugging_face_local_folder(tmp_path):
    datasets = pytest.importorskip("datasets")
    times = [f"2020-01-0{d} 00:00" for d in range(1, 8)]
    data = {"date": times, "sales": [float(v) for v in range(7)], "price": [1.0] * 7}
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(data),
                          "test": datasets.Dataset.from_dict(data)}).save_to_disk(
        str(tmp_path / "dd"))
    series = select_series(load_table(f"hf:{tmp_path / 'dd'}"), target="sales",
                           covariates="all")
    assert series.values.tolist() == list(range(7)) and series.covariate_names == ["price"]
    assert series.frequency.describe() == "daily"
    datasets.Dataset.from_dict(data).save_to_disk(str(tmp_path / "one"))
    assert len(load_table(f"hf:{tmp_path / 'one'}")) == 7
    datasets.DatasetDict({"a": datasets.Dataset.from_dict(data),
                          "b": datasets.Dataset.from_dict(data)}).save_to_disk(
        str(tmp_path / "two"))
    with pytest.raises(DataError, match="splits a, b and no 'train' split"):
        load_table(f"hf:{tmp_path / 'two'}")


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"t,y\n", "header but no data rows"),
    (b"t,y\n2000-01,1\n2000-02,2,7\n", r"line 3 has 3 fields, expected 2 .*\(t, y\)"),
    (b"t,y,y\n2000-01,1,2\n", "duplicate column name"),
    (b"t,\n2000-01,1\n", "empty column name"),
    (b"1,2\n3,4\n", "looks like data, not a header"),
    (b"t,y\n2000-01,\xff\xfe\n", "is not UTF-8 text"),
    (b't,y\n"2000-01,1\n', "not valid CSV|fields, expected"),
])
def test_malformed_csv(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_table(str(path))


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(DataError, match="neither a file nor a built-in data set.*airline"):
        load_table(str(tmp_path / "nope.csv"))
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match="unknown file type '.xlsx'"):
        load_table(str(tmp_path / "x.xlsx"))
