"""Bad input to the gesture task: every message a user can hit, and exit code 2."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_gesture.task import GestureTask

from seqframe.errors import ConfigError, DataError, ExitCode


def prepare(data, **options):
    return GestureTask(options, str(data)).prepare()


def expect(exc_type, match, data, **options):
    with pytest.raises(exc_type, match=match) as info:
        prepare(data, **options)
    assert info.value.exit_code == ExitCode.USAGE == 2


def test_malformed_train_file_names_line(tiny_pair):
    text = tiny_pair.read_text().splitlines()
    text[7] = text[7].replace(",", ",x", 1)
    tiny_pair.write_text("\n".join(text) + "\n")
    expect(DataError, r"Tiny_TRAIN.ts, line 8: channel 0, value 1 is 'x.*'; expected a number",
           tiny_pair)


def test_test_labels_unseen_in_training(tiny_pair, ts_text):
    nan = float("nan")
    cases = [([[1.0, 2.0], [3.0, nan]], "a"), ([[1.0], [2.0]], "c")]
    header_with_d = ts_text(cases).replace("@classLabel true a b c", "@classLabel true a b c d")
    tiny_pair.with_name("Tiny_TEST.ts").write_text(header_with_d.replace(":c\n", ":d\n"))
    expect(DataError, r"the test file .* has class label\(s\) d that the training file never "
           r"uses \(it has a, b, c\)", tiny_pair)


def test_channel_count_mismatch(tiny_pair, ts_text, tiny_cases):
    tiny_pair.with_name("Tiny_TEST.ts").write_text(ts_text(tiny_cases(1, 1, dims=3)))
    expect(DataError, r"has 3 channel\(s\) per series but the training data has 2", tiny_pair)


def test_missing_test_sibling(tiny_pair):
    tiny_pair.with_name("Tiny_TEST.ts").unlink()
    expect(DataError, r"no test file '.*Tiny_TEST.ts' beside .*; expected the UCR pair .* "
           r"-o test=PATH", tiny_pair)


def test_train_file_without_train_suffix_needs_test_option(tiny_pair):
    renamed = tiny_pair.rename(tiny_pair.with_name("tiny.ts"))
    expect(DataError, r"cannot tell where the test set .* is: its name does not end in _TRAIN.ts",
           renamed)


def test_explicit_test_file_missing(tiny_pair, tmp_path):
    expect(DataError, r"nope.ts' does not exist", tiny_pair, test=str(tmp_path / "nope.ts"))


def test_unknown_data_name(tmp_path):
    expect(DataError, r"--data 'PickupGesture' is not a file, a folder, a built-in data set "
           r"\(PickupGestureWiimoteZ, JapaneseVowels\)", "PickupGesture")


def test_folder_without_train_file(tmp_path):
    expect(DataError, r"holds no X_TRAIN.ts file", tmp_path)


def test_unlabelled_training_or_test_file(tiny_pair, ts_text, tiny_cases):
    test = tiny_pair.with_name("Tiny_TEST.ts")
    test.write_text(ts_text(tiny_cases(1, 1), labelled=False))
    expect(DataError, r"the test file .* has no class labels \(@classLabel false\)", tiny_pair)
    tiny_pair.write_text(ts_text(tiny_cases(1, 1), labelled=False))
    expect(DataError, r"the training file .* has no class labels", tiny_pair)


def test_val_fraction_out_of_range(tiny_pair):
    expect(ConfigError, r"val_fraction must be between 0 and 1", tiny_pair, val_fraction=1.5)


def test_no_class_to_spare_for_validation(tmp_path, ts_text):
    cases = [([[1.0, 2.0]], "a"), ([[3.0, 4.0]], "b")]
    (tmp_path / "S_TRAIN.ts").write_text(ts_text(cases))
    (tmp_path / "S_TEST.ts").write_text(ts_text(cases))
    expect(ConfigError, r"no class with two or more cases", tmp_path / "S_TRAIN.ts")


def test_missing_value_policies(tmp_path, ts_text):
    nan = float("nan")
    cases = [([[1.0, nan, 3.0]], "a"), ([[1.0, 2.0]], "a"), ([[1.0, 2.0]], "b"),
             ([[1.0, 5.0]], "b")]
    (tmp_path / "M_TRAIN.ts").write_text(ts_text(cases))
    (tmp_path / "M_TEST.ts").write_text(ts_text(cases[1:]))
    expect(DataError, r"M_TRAIN.ts, series 0 has a missing value at step 1, channel 0 "
           r"\(-o missing=error\)", tmp_path / "M_TRAIN.ts", missing="error", val_fraction=0.5)
    assert prepare(tmp_path / "M_TRAIN.ts", val_fraction=0.5).input_size == 1


def test_all_missing_series_and_channel(tmp_path, ts_text):
    nan = float("nan")
    good = [([[1.0, 2.0], [1.0, 2.0]], "a")] * 2 + [([[3.0, 2.0], [1.0, 0.0]], "b")] * 2
    (tmp_path / "E_TEST.ts").write_text(ts_text(good))
    (tmp_path / "E_TRAIN.ts").write_text(ts_text([([[nan, nan], [nan, nan]], "a"), *good]))
    expect(DataError, r"E_TRAIN.ts, series 0 has no values", tmp_path / "E_TRAIN.ts")
    (tmp_path / "E_TRAIN.ts").write_text(ts_text([([[nan, nan], [1.0, 2.0]], "a"), *good]))
    expect(DataError, r"series 0, channel 0 has no values; cannot interpolate",
           tmp_path / "E_TRAIN.ts")
    task = GestureTask({"missing": "zero", "normalize": "series"}, str(tmp_path / "E_TRAIN.ts"))
    task.prepare()
    np.testing.assert_array_equal(task.sets["train_full"][0][0][:, 0], [0.0, 0.0])


def test_predict_file_with_other_channel_count(tiny_pair, tmp_path, ts_text, tiny_cases,
                                               predictor):
    task = GestureTask({}, str(tiny_pair))
    task.prepare()
    other = tmp_path / "three.ts"
    other.write_text(ts_text(tiny_cases(2, 1, dims=3), labelled=False))
    with pytest.raises(DataError, match=r"the file .*three.ts' has 3 channel\(s\) per series but "
                       r"the training data has 2") as info:
        task.predict_file(predictor, data=str(other), out_dir=tmp_path)
    assert info.value.exit_code == 2


def test_unknown_option_lists_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown option 'readouts' for task 'gesture'; did "
                       r"you mean 'readout'\? Valid options: augment, baselines, differences, "
                       r"downsample"):
        GestureTask({"readouts": "mean"})
