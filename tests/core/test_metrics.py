"""Classification metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from seqframe.metrics import accuracy, confusion_matrix, confusion_text, macro_f1

Y_TRUE = np.array([0, 0, 1, 1, 2])
Y_PRED = np.array([0, 1, 1, 1, 0])


def test_accuracy():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(3 / 5)
    assert accuracy([1, 2], [1, 2]) == 1.0


def test_macro_f1_by_hand():
    # class 0: tp 1, fp 1, fn 1 -> 2/4; class 1: tp 2, fp 1, fn 0 -> 4/5; class 2: tp 0 -> 0
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_macro_f1_averages_over_true_and_predicted_classes():
    # class 0: tp 1, fn 1 -> 2/3; class 1 is only predicted -> 0
    assert macro_f1([0, 0], [0, 1]) == pytest.approx(1 / 3)
    assert macro_f1([3, 4, 4], [3, 4, 4]) == 1.0


def test_confusion_matrix_rows_true_columns_predicted():
    expected = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, 3), expected)
    np.testing.assert_array_equal(confusion_matrix([1], [0], 3), [[0, 0, 0], [1, 0, 0], [0, 0, 0]])


def test_confusion_text_table():
    text = confusion_text(np.array([[2, 1], [0, 3]]), ["a", "bb"], title="demo")
    lines = text.splitlines()
    assert lines[0] == "demo"
    assert lines[1].split() == ["true", "\\", "pred", "a", "bb"]
    assert lines[2].split() == ["a", "2", "1"] and lines[3].split() == ["bb", "0", "3"]
    assert lines[4] == "5/6 correct (0.8333)"
    assert len({len(line) for line in lines[1:4]}) == 1  # columns aligned
