"""Bad values in .ts files and Hugging Face rows (items 4 and 14): an infinite or overflowing
value is a data error naming file, line (the series) and channel instead of silently zeroing
the channel; a line cut short is reported as such, not as an undeclared class label."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_gesture.sources import _hf_case
from seqframe_gesture.tsformat import read_ts

from seqframe.errors import DataError


def run(sf, tmp_path, data):
    code, _, err = sf("run", "--task", "gesture", "--data", str(data), "--hidden", "4",
                      "--steps", "1", "--quiet", "--out", str(tmp_path / "run"))
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize("value, what", [("inf", "not finite"), ("-inf", "not finite"),
                                         ("1e300", "too large")])
def test_a_bad_value_in_the_training_file_names_line_and_channel(sf, tiny_pair, tmp_path, value,
                                                                 what):
    lines = tiny_pair.read_text().splitlines()
    data_start = lines.index("@data") + 1
    fields = lines[data_start + 2].split(":")
    values = fields[1].split(",")
    values[1] = value
    fields[1] = ",".join(values)
    lines[data_start + 2] = ":".join(fields)
    tiny_pair.write_text("\n".join(lines) + "\n")
    code, err = run(sf, tmp_path, tiny_pair)
    assert code == 2
    assert (f"{tiny_pair}, line {data_start + 3}: channel 1, value 1 is '{value}', which is "
            f"{what}; expected a finite number of magnitude at most 3.4e+38") in err
    assert not (tmp_path / "run").exists()


def test_a_bad_value_in_the_test_file_is_caught_too(tiny_pair):
    test = tiny_pair.with_name("Tiny_TEST.ts")
    test.write_text(test.read_text().replace("@data\n", "@data\n1e400,2:3,4:a\n"))
    with pytest.raises(DataError, match=r"Tiny_TEST.ts, line 6: channel 0, value 0 is '1e400', "
                                        r"which is not finite"):
        read_ts(test)


MULTI = """@problemName Cut
@univariate false
@dimensions 3
@classLabel true a b
@data
1,2:3,4:5,6:a
1,2:3,4:5,6:b
"""


@pytest.mark.parametrize("line, message", [
    ("1,2:3,4:5,6", r"line 8: 3 ':'-separated fields \(the line may be cut short\); expected 3 "
                    r"channel\(s\) and then the class label"),
    ("1,2:3,4:5", r"line 8: 3 ':'-separated fields \(the line may be cut short\)"),
    ("1,2:3,4:5,6:a:b", r"line 8: 5 ':'-separated fields; expected 3 channel"),
])
def test_a_line_cut_short_is_reported_as_such(tmp_path, line, message):
    path = tmp_path / "Cut_TRAIN.ts"
    path.write_text(MULTI + line + "\n")
    with pytest.raises(DataError, match=message):
        read_ts(path)


def test_a_cut_univariate_line_says_the_label_looks_like_values(tmp_path):
    path = tmp_path / "Cut_TRAIN.ts"
    path.write_text("@problemName U\n@classLabel true a b\n@data\n1,2,3:a\n1,2:3,4\n")
    with pytest.raises(DataError, match=r"line 5: class label '3,4' is not declared \(it looks "
                                        r"like values: the line may be cut short\)"):
        read_ts(path)


def test_an_infinite_value_in_a_hugging_face_row_is_a_data_error():
    row = {"x": [1.0, float("inf"), 3.0], "y": 0}
    with pytest.raises(DataError, match=r"ds train row 4, channel 0, value 1 is inf, which is "
                                        r"not finite"):
        _hf_case(row, ["x"], "channels_first", "ds train row 4")
    ok = _hf_case({"x": [1.0, None, 3.0]}, ["x"], "channels_first", "row")
    assert np.isnan(ok[1, 0]) and ok[2, 0] == 3.0  # None stays a missing value
