"""Bad values and the messages about them, through the CLI (items 4 and 14): infinite and
overflowing cells are data errors naming file, line and column; a column spoilt by one cell
names that cell; a decimal comma is recognised; a bad date is quoted, not a good one."""

from __future__ import annotations

from importlib.resources import files

import pytest

ARGS = ("run", "--task", "timeseries", "--hidden", "4", "--steps", "2", "--quiet")


@pytest.fixture
def airline(tmp_path):
    """The airline CSV's lines (``Month,Passengers`` then one row per month)."""
    with files("seqframe_timeseries").joinpath("data", "airline.csv").open("rb") as fh:
        return fh.read().decode("utf-8").splitlines()


def run_on(sf, tmp_path, lines, *extra):
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    code, _, err = sf(*ARGS, "--data", str(path), "--out", str(tmp_path / "run"), *extra)
    assert "Traceback" not in err
    return code, err, path


@pytest.mark.parametrize("cell, shown, what", [
    ("inf", "inf", "not finite"), ("-Infinity", "-inf", "not finite"),
    ("1e300", "1e+300", "too large"), ("1e39", "1e+39", "too large"),
])
def test_an_infinite_or_overflowing_cell_is_a_data_error(sf, tmp_path, airline, cell, shown,
                                                         what):
    lines = list(airline)
    month = lines[5].split(",")[0]
    lines[5] = f"{month},{cell}"
    code, err, path = run_on(sf, tmp_path, lines)
    assert code == 2
    assert (f"error: column 'Passengers' of {path} has the value {shown} at line 6, which is "
            f"{what}; expected finite numbers of magnitude at most 3.4e+38") in err
    assert not (tmp_path / "run").exists()


def test_a_numeric_column_with_one_bad_cell_names_the_cell(sf, tmp_path):
    lines = ["month,value", "2000-01,1", "2000-02,x", "2000-03,3", "2000-04,4"]
    code, err, path = run_on(sf, tmp_path, lines)
    assert code == 2
    assert (f"the numeric-looking column 'value' of {path} is not numeric: 'x' at line 3. Fix "
            f"or empty that cell") in err


def test_a_decimal_comma_gets_a_hint(sf, tmp_path):
    lines = ["month;value", "2000-01;1,5", "2000-02;2,5", "2000-03;3,5", "2000-04;4,25"]
    code, err, path = run_on(sf, tmp_path, lines)
    assert code == 2
    assert (f"the numeric-looking column 'value' of {path} writes numbers with a decimal comma "
            f"('1,5' at line 2); seqframe reads a decimal point (1.5)") in err
    code, err, _ = run_on(sf, tmp_path, lines, "-o", "target=value")
    assert code == 2 and "target column 'value'" in err and "decimal comma" in err


def test_a_bad_date_is_the_one_quoted(sf, tmp_path):
    lines = ["month,value", "2000-01,1", "2000-02,2", "2000-13x,3", "2000-04,4"]
    code, err, path = run_on(sf, tmp_path, lines, "-o", "time_column=month")
    assert code == 2
    assert (f"time column 'month' of {path} does not hold timestamps: '2000-13x' at line 4 is "
            f"not one") in err
