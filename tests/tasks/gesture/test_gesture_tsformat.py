"""The UCR/UEA .ts reader: hand-written files, the shared archive files, and malformed input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from seqframe_gesture.tsformat import read_ts

from seqframe.errors import DataError, ExitCode

UNIVARIATE = """# a comment line
@problemName Toy
@timeStamps false
@missing true
@univariate true
@equalLength false
@classLabel true a b
@data
1.0,2.0,3.0:a
4.5,?,NaN,7:b

-1e-3,2:a
"""

MULTIVARIATE = """@problemName Multi
@univariate false
@dimensions 2
@equalLength true
@seriesLength 3
@classLabel false
@data
1,2,3:4,5,6
7,8,9:10,?,12
"""


def write(tmp_path: Path, text: str, name: str = "X_TRAIN.ts") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_univariate_unequal_with_missing_values_and_header(tmp_path):
    data = read_ts(write(tmp_path, UNIVARIATE))
    h = data.header
    assert (h.problem_name, h.univariate, h.dimensions, h.equal_length) == ("Toy", True, 1, False)
    assert (h.missing, h.timestamps, h.class_label) == (True, False, True)
    assert h.class_labels == ("a", "b")
    assert data.labels == ["a", "b", "a"]
    assert [s.shape for s in data.series] == [(3, 1), (4, 1), (2, 1)]
    np.testing.assert_array_equal(data.series[0][:, 0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(data.series[1][:, 0], [4.5, np.nan, np.nan, 7.0])
    np.testing.assert_array_equal(data.series[2][:, 0], [-0.001, 2.0])


def test_multivariate_equal_length_without_labels(tmp_path):
    data = read_ts(write(tmp_path, MULTIVARIATE))
    assert data.labels is None and data.n_channels == 2
    h = data.header
    assert (h.series_length, h.equal_length, h.dimensions) == (3, True, 2)
    np.testing.assert_array_equal(data.series[1], [[7, 10], [8, np.nan], [9, 12]])


def test_channels_of_unequal_length_are_nan_padded(tmp_path):
    text = "@univariate false\n@dimensions 2\n@classLabel true x\n@data\n1,2,3:4:x\n"
    (case,) = read_ts(write(tmp_path, text)).series
    np.testing.assert_array_equal(case, [[1, 4], [2, np.nan], [3, np.nan]])


def test_unknown_header_keys_are_kept(tmp_path):
    data = read_ts(write(tmp_path, "@targetLabel false\n@data\n1,2\n"))
    assert data.header.extra == {"targetLabel": "false"} and data.labels is None


@pytest.mark.parametrize(
    "name, n_train, n_test, channels, lengths, classes",
    [("PickupGestureWiimoteZ", 50, 50, 1, (29, 361), 10),
     ("JapaneseVowels", 270, 370, 12, (7, 29), 9)],
)
def test_shared_archive_files(shared_data, name, n_train, n_test, channels, lengths, classes):
    train = read_ts(shared_data / f"{name}_TRAIN.ts")
    test = read_ts(shared_data / f"{name}_TEST.ts")
    assert (len(train.series), len(test.series)) == (n_train, n_test)
    assert train.header.problem_name == name and train.n_channels == channels
    all_lengths = [len(s) for s in train.series + test.series]
    assert (min(all_lengths), max(all_lengths)) == lengths
    assert len(train.header.class_labels) == classes == len(set(train.labels))
    assert not any(np.isnan(s).any() for s in train.series + test.series)


@pytest.mark.parametrize(
    "text, match",
    [
        ("@data\n1,abc:a\n", r"line 2: channel 0, value 1 is 'abc'; expected a number"),
        ("@classLabel true a\n@data\n1,2:a\n3,4:b\n",
         r"line 4: class label 'b' is not declared; expected one of the @classLabel labels: a"),
        ("@classLabel true a\n@data\n1,2\n", r"line 3: no class label after the values"),
        ("@dimensions 2\n@data\n1,2\n", r"line 3: 1 channels; expected 2"),
        ("@univariate true\n@data\n1,2:3,4\n", r"line 3: 2 channels; expected 1"),
        ("@data\n1,2:3\n1,2\n", r"line 3: 1 channels; expected 2 like the cases above it"),
        ("@equalLength true\n@seriesLength 3\n@data\n1,2\n",
         r"line 4: a series of length 2; expected length 3"),
        ("@univariate maybe\n@data\n1\n", r"line 1: @univariate has value 'maybe'; expected 'tr"),
        ("@dimensions two\n@data\n1\n", r"line 1: @dimensions has value 'two'; expected a pos"),
        ("@classLabel true\n@data\n1\n", r"line 1: @classLabel true lists no labels"),
        ("@timeStamps true\n@data\n(0,1)\n", r"line 2: @timeStamps true is not supported"),
        ("@problemName P\n1,2,3\n@data\n", r"line 2: a data line before @data"),
        ("@problemName P\n", r"no '@data' line"),
        ("@problemName P\n@data\n\n", r"no cases after '@data'"),
    ],
)
def test_malformed_files_name_the_line_and_what_was_expected(tmp_path, text, match):
    with pytest.raises(DataError, match=match) as info:
        read_ts(write(tmp_path, text))
    assert info.value.exit_code == ExitCode.USAGE == 2


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_ts(tmp_path / "nope.ts")


def test_binary_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bin.ts"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="cannot read data file .* as UTF-8 text"):
        read_ts(path)


def test_write_ts_round_trips_through_the_reader(tmp_path):
    from seqframe_gesture.tsformat import write_ts

    cases = [np.array([[1.0, 0.5], [np.nan, 2.0], [3.0, -1.25]]), np.array([[0.1, 0.2]])]
    path = write_ts(tmp_path / "F_TRAIN.ts", cases, ["b", "a"], "Fold",
                    class_labels=("a", "b", "c"))
    data = read_ts(path)
    assert data.labels == ["b", "a"] and data.header.class_labels == ("a", "b", "c")
    assert data.header.problem_name == "Fold" and data.header.missing
    assert data.header.equal_length is False and data.n_channels == 2
    for got, want in zip(data.series, cases, strict=True):
        np.testing.assert_array_equal(got, want)  # repr() keeps every bit; NaN stays missing
    unlabelled = read_ts(write_ts(tmp_path / "U.ts", cases[1:], None, "U"))
    assert unlabelled.labels is None and unlabelled.header.univariate is False
