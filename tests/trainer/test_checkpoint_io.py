"""Checkpoint files: round trip, atomic replacement, recovery, clear errors."""

import json

import numpy as np
import pytest

from seqframe.errors import DataError
from seqframe.training import checkpoint as ck


def test_round_trip_keeps_values_dtypes_and_metadata(tmp_path):
    tensors = {"param/w": np.arange(6, dtype=np.float32).reshape(2, 3),
               "optim/exp_avg/w": np.ones((2, 3)), "state/0": np.zeros((4, 2))}
    rng = np.random.default_rng(3)
    rng.normal(size=5)
    meta = {"step": 7, "rng": rng.bit_generator.state, "best": 0.125}
    ck.save_checkpoint(tmp_path / "latest", tensors, meta)
    back, back_meta = ck.load_checkpoint(tmp_path / "latest")
    assert set(back) == set(tensors)
    for key, value in tensors.items():
        assert back[key].dtype == value.dtype
        np.testing.assert_array_equal(back[key], value)
    again = np.random.default_rng(0)
    again.bit_generator.state = back_meta["rng"]  # 128-bit PCG64 ints survive JSON
    assert again.normal() == rng.normal()
    assert back_meta["step"] == 7 and back_meta["format_version"] == ck.FORMAT_VERSION


def test_a_failed_write_leaves_the_old_checkpoint_whole_and_no_temp_files(tmp_path):
    ck.save_checkpoint(tmp_path / "latest", {"w": np.ones(3)}, {"step": 1})
    with pytest.raises(TypeError):
        ck.save_checkpoint(tmp_path / "latest", {"w": np.zeros(3)}, {"step": object()})
    tensors, meta = ck.load_checkpoint(tmp_path / "latest")
    assert meta["step"] == 1 and tensors["w"].tolist() == [1, 1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]


def test_a_crash_between_the_two_renames_is_recovered(tmp_path):
    ck.save_checkpoint(tmp_path / "latest", {"w": np.ones(2)}, {"step": 4})
    (tmp_path / "latest").rename(tmp_path / ".latest.old")  # the moment with neither
    _, meta = ck.load_checkpoint(tmp_path / "latest")
    assert meta["step"] == 4


def test_replacing_keeps_only_the_new_checkpoint(tmp_path):
    for step in range(3):
        ck.save_checkpoint(tmp_path / "latest", {"w": np.full(2, step)}, {"step": step})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]
    assert ck.load_checkpoint(tmp_path / "latest")[1]["step"] == 2


def test_atomic_write_text_failure_leaves_old_file(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    ck.atomic_write_text(target, "old")

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr(ck.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        ck.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_missing_checkpoint_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=r"no checkpoint at .*expected meta.json"):
        ck.load_checkpoint(tmp_path / "nothing")


def test_newer_format_is_refused(tmp_path):
    ck.save_checkpoint(tmp_path / "c", {"w": np.ones(1)}, {})
    meta = json.loads((tmp_path / "c" / ck.META).read_text())
    meta["format_version"] = 99
    (tmp_path / "c" / ck.META).write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"has format 99, newer than this seqframe"):
        ck.load_checkpoint(tmp_path / "c")


def test_corrupt_tensors_file_is_a_data_error(tmp_path):
    ck.save_checkpoint(tmp_path / "c", {"w": np.ones(1)}, {})
    (tmp_path / "c" / ck.TENSORS).write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"does not match the checksum recorded in meta.json"):
        ck.load_checkpoint(tmp_path / "c")
    # a format-1 checkpoint has no checksum: the reader's own error is reported
    meta = json.loads((tmp_path / "c" / ck.META).read_text())
    meta["format_version"] = 1
    del meta["checksums"]
    (tmp_path / "c" / ck.META).write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"cannot be read"):
        ck.load_checkpoint(tmp_path / "c")


def test_nested_states_flatten_and_come_back():
    state = ((np.ones((2, 3)), np.zeros((2, 3))), (np.full((2, 3), 2.0), np.full((2, 3), 3.0)))
    tensors, layout = ck.flatten_state(state, np.asarray)
    assert json.loads(json.dumps(layout)) == layout
    back = ck.unflatten_state(tensors, layout, np.asarray)
    assert isinstance(back, tuple) and isinstance(back[1], tuple)
    np.testing.assert_array_equal(back[1][1], state[1][1])
    assert ck.flatten_state(None, np.asarray) == ({}, None)
