"""translations.txt and the attention heat maps, alone and through the task."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from seqframe_translate.artefacts import (  # noqa: E402
    attention_figure,
    attention_png,
    write_translations,
)
from seqframe_translate.task import TranslateTask  # noqa: E402

from seqframe.errors import ShapeError  # noqa: E402

SOURCE = ["ein", "mann", "fährt", "<eos>"]
TARGET = ["a", "man", "rides", "a", "bike", "<eos>"]


def synthetic() -> np.ndarray:
    """(T, S) weights: mostly the diagonal, rows summing to 1."""
    weights = np.full((len(TARGET), len(SOURCE)), 0.1)
    for t in range(len(TARGET)):
        weights[t, min(t, len(SOURCE) - 1)] = 0.7
    return weights


def test_translations_file_has_one_line_per_sentence(tmp_path):
    path = write_translations(tmp_path / "translations.txt", ["A dog.", "Two\nlines", ""])
    assert path.read_text(encoding="utf-8") == "A dog.\nTwo lines\n\n"


def test_attention_figure_shows_the_matrix_with_token_labels():
    weights = synthetic()
    fig = attention_figure(weights, SOURCE, TARGET, title="sentence 1")
    try:
        ax = fig.axes[0]
        np.testing.assert_array_equal(ax.images[0].get_array(), weights)
        assert [t.get_text() for t in ax.get_xticklabels()] == SOURCE
        assert [t.get_text() for t in ax.get_yticklabels()] == TARGET
        assert ax.get_title() == "sentence 1"
    finally:
        plt.close(fig)


def test_attention_png_is_written(tmp_path):
    path = attention_png(synthetic(), SOURCE, TARGET, tmp_path / "a.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 300


def test_attention_shape_must_match_the_tokens():
    with pytest.raises(ShapeError, match=r"shape \(6, 3\) but there are 6 target and 4 source "
                                         r"tokens; expected a \(T, S\) = \(6, 4\) matrix"):
        attention_figure(synthetic()[:, :3], SOURCE, TARGET)


def test_task_writes_translations_and_heat_maps(tmp_path, fakes, monkeypatch):
    task = TranslateTask({"min_freq": 1, "lowercase": False, "attention_plots": 2})
    task.prepare()
    paths = task.write_artefacts(fakes.Attending(task, "test"), tmp_path)
    assert [p.name for p in paths] == ["translations.txt", "attention-1.png", "attention-2.png"]
    written = (tmp_path / "translations.txt").read_text(encoding="utf-8").splitlines()
    assert written == task.pairs["test"].target  # the stand-in translates perfectly

    drawn = []
    monkeypatch.setattr("seqframe_translate.artefacts.attention_png",
                        lambda w, s, t, path, title: drawn.append((w, s, t, title)) or path)
    task.write_artefacts(fakes.Attending(task, "test"), tmp_path)
    weights, source, target, title = drawn[0]
    assert source == [*task.source.pieces(task.encoded["test"][0][0]), "<eos>"]
    assert target == [*task.target.pieces(task.encoded["test"][1][0]), "<eos>"]
    # the stand-in's step t attends to source position t (the last one once past the end)
    expected = np.zeros((len(target), len(source)))
    expected[np.arange(len(target)), np.minimum(np.arange(len(target)), len(source) - 1)] = 1
    np.testing.assert_array_equal(weights, expected)
    assert task.pairs["test"].source[0] in title


def test_predictor_without_attention_gets_translations_only(tmp_path, fakes):
    task = TranslateTask({"attention_plots": 2})
    task.prepare()
    paths = task.write_artefacts(fakes.Reference(task, "test"), tmp_path)
    assert [p.name for p in paths] == ["translations.txt"]
