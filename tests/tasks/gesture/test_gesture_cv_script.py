"""benchmarks/gesture_cv.py: stratified folds cut from the training file alone."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

from seqframe_gesture.tsformat import read_ts

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "gesture_cv.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gesture_cv", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_folds_are_stratified_and_deterministic():
    cv = load_script()
    labels = list("aaaaabbbbbcccc")
    fold = cv.stratified_folds(labels, 5, seed=3)
    assert list(fold) == list(cv.stratified_folds(labels, 5, seed=3))
    for label in "abc":  # each class spread over the folds, at most one case per fold
        counts = Counter(f for f, lab in zip(fold, labels, strict=True) if lab == label)
        assert max(counts.values()) == 1


def test_fold_files_partition_the_training_file_and_never_read_test(tiny_pair, tmp_path):
    cv = load_script()
    tiny_pair.with_name("Tiny_TEST.ts").unlink()  # the data set's test file is not needed
    pairs = cv.write_folds(str(tiny_pair), 4, seed=0, out=tmp_path / "folds")
    original = read_ts(tiny_pair)
    held_out = []
    for train, test, size in pairs:
        fit, fold = read_ts(train), read_ts(test)
        assert size == len(fold.series)
        assert len(fit.series) + len(fold.series) == len(original.series)
        assert fit.header.class_labels == fold.header.class_labels == ("a", "b", "c")
        held_out += [(tuple(s.ravel()), label) for s, label in zip(fold.series, fold.labels,
                                                                     strict=True)]
    assert sorted(held_out) == sorted((tuple(s.ravel()), label) for s, label
                                      in zip(original.series, original.labels, strict=True))
    assert cv.parse_value("3") == 3 and cv.parse_value("gru") == "gru"
