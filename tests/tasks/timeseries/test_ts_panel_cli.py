"""Many series through the command line: stocks end to end in both layouts, `forecast` and
`eval` from the run, and every bad-input error with exit code 2."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from ts_helpers import monthly_times, read_rows, write_csv

STOCKS = ("--data", "stocks", "-o", "lookback=12", "-o", "horizon=6", "--hidden", "8",
          "--batch-size", "16")
HORIZON_NAMES = {f"{m}_h{k}" for m in ("rmse", "mae", "mape") for k in (2, 3, 4, 6)}


@pytest.fixture(scope="module")
def stocks_run(tmp_path_factory):
    from seqframe.cli import main

    out = tmp_path_factory.mktemp("stocks") / "run"
    with pytest.raises(SystemExit) as info:
        main(["run", "--task", "timeseries", *STOCKS, "--steps", "20", "--out", str(out),
              "--quiet"])
    assert info.value.code == 0
    return out


def test_stocks_summary_has_per_horizon_metrics_for_model_and_baselines(stocks_run):
    summary = json.loads((stocks_run / "summary.json").read_text())
    test = summary["metrics"]["test"]
    assert HORIZON_NAMES | {"rmse", "mae", "mape", "mase"} <= set(test)
    scored = summary["evaluation"]["test"]  # how test was scored: settings, not metrics
    assert scored["series"] == 5 and scored["horizon"] == 6 and scored["mase_season"] == 12
    assert set(summary["baselines"]) == {"naive", "seasonal_naive", "historical_average"}
    for scores in summary["baselines"].values():
        assert HORIZON_NAMES <= set(scores) and "windows" not in scores
    table = {(r["forecaster"], r["step"]): r
             for r in read_rows(stocks_run / "horizon_errors_test.csv")}
    assert float(table["model", "6"]["mae"]) == pytest.approx(test["mae_h6"], rel=1e-5)
    assert float(table["naive", "2"]["rmse"]) == pytest.approx(
        summary["baselines"]["naive"]["rmse_h2"], rel=1e-5)
    pngs = sorted(p.name for p in stocks_run.glob("forecast_test_*.png"))
    assert pngs == ["forecast_test_AMZN.png", "forecast_test_IBM.png", "forecast_test_MSFT.png"]


def test_forecast_and_eval_from_the_run(sf, stocks_run):
    code, out, err = sf("forecast", str(stocks_run), "--horizon", "3")
    assert code == 0, err
    rows = read_rows(stocks_run / "forecast.csv")
    assert [r["series"] for r in rows[::3]] == ["MSFT", "AMZN", "IBM", "GOOG", "AAPL"]
    assert {r["time"] for r in rows} == {"2010-04", "2010-05", "2010-06"}
    assert all(np.isfinite(float(r["forecast"])) for r in rows)
    code, out, err = sf("eval", str(stocks_run), "--split", "test")
    assert code == 0, err
    summary = json.loads((stocks_run / "summary.json").read_text())
    assert f"{summary['metrics']['test']['mase']:.6g}" in out


def test_joint_layout_end_to_end(sf, tmp_path):
    code, _, err = sf("run", "--task", "timeseries", *STOCKS, "-o", "layout=joint",
                      "--steps", "10", "--out", str(tmp_path / "j"), "--quiet")
    assert code == 0, err
    summary = json.loads((tmp_path / "j" / "summary.json").read_text())
    test = summary["evaluation"]["test"]
    # joint: the origins all five series share, each scored for every series
    assert test["series"] == 5 and test["windows"] % 5 == 0


def _long(tmp_path, rows, header=("id", "month", "y")):
    return write_csv(tmp_path / "bad.csv", list(header), rows)


def _run(sf, tmp_path, path, *options, quiet=True):
    opts = [a for o in options for a in ("-o", o)]
    return sf("run", "--task", "timeseries", "--data", path, "-o", "lookback=3",
              "-o", "horizon=2", "-o", "season=1", *opts, "--steps", "2",
              "--out", str(tmp_path / "r"), *(["--quiet"] if quiet else []))


def _series(name, count, start=0):
    return [[name, m, float(i)] for i, m in enumerate(monthly_times(count)[start:])]


def test_long_file_without_its_id_column(sf, tmp_path):
    code, _, err = _run(sf, tmp_path, _long(tmp_path, _series("a", 30)), "id=station")
    assert code == 2 and "-o id='station'" in err and "has no such column" in err


def test_long_file_with_one_row_per_series(sf, tmp_path):
    rows = [[f"row{i}", m, 1.0] for i, m in enumerate(monthly_times(30))]
    code, _, err = _run(sf, tmp_path, _long(tmp_path, rows), "id=id")
    assert code == 2 and "names a different series on every row (30 rows, 30 ids)" in err


def test_short_series_are_skipped_or_fatal(sf, tmp_path):
    path = _long(tmp_path, _series("long", 40) + _series("short", 40, start=34))
    code, _, err = _run(sf, tmp_path, path, "id=id", quiet=False)  # the note is a run message
    assert code == 0 and "skipped 1 of 2 series with fewer than lookback 3 + horizon 2" in err
    only_short = _long(tmp_path, _series("short", 40, start=34))
    code, _, err = _run(sf, tmp_path, only_short, "id=id")
    assert code == 2 and "none of the 1 series" in err


def test_duplicated_id_and_time(sf, tmp_path):
    rows = _series("a", 30)
    rows.insert(5, ["a", rows[3][1], 9.0])
    code, _, err = _run(sf, tmp_path, _long(tmp_path, rows), "id=id")
    assert code == 2 and "series 'a'" in err and "two rows at time 2000-04-01" in err
    assert "line 5 and line 7" in err


def test_wide_file_with_a_text_column(sf, tmp_path):
    rows = [[m, float(i), f"note {i}"] for i, m in enumerate(monthly_times(30))]
    path = write_csv(tmp_path / "wide.csv", ["month", "a", "comment"], rows)
    code, _, err = _run(sf, tmp_path, path, "layout=global")
    assert code == 2 and "column 'comment' of the wide file" in err and "'note 0'" in err


def test_wide_file_of_ids_needs_the_many_series_layout(sf, tmp_path):
    rows = [[float(i), float(i) + 1] for i in range(30)]
    path = write_csv(tmp_path / "ids.csv", ["101", "102"], rows)
    code, _, err = _run(sf, tmp_path, path)
    assert code == 2 and "looks like data" in err and "-o layout=global" in err
    code, _, err = _run(sf, tmp_path, path, "layout=global", "freq=5min")
    assert code == 2 and "-o start and -o freq go together" in err


def test_forecast_one_series_of_a_stocks_run(sf, tmp_path):
    run_dir = tmp_path / "stocks"
    code, _, err = sf("run", "--task", "timeseries", "--data", "stocks", "--steps", "3",
                      "--out", str(run_dir), "--quiet")
    assert code == 0, err
    code, out, err = sf("forecast", str(run_dir), "--horizon", "3", "--series", "AAPL")
    assert code == 0, err
    with (run_dir / "forecast.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["series"] for r in rows] == ["AAPL"] * 3 and [r["step"] for r in rows] == ["1",
                                                                                       "2", "3"]
    code, _, err = sf("forecast", str(run_dir), "--horizon", "3", "--series", "NOPE")
    assert code == 2 and "no series 'NOPE' in this run. Its series:" in err
