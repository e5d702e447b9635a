"""The one way tests reach ../shared/data: absent or empty means skip, never a failure."""

from __future__ import annotations

from tests.conftest import SHARED_DATA_ENV, shared_data_dir


def test_a_missing_or_empty_folder_counts_as_absent(monkeypatch, tmp_path):
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "no-such-folder"))
    assert shared_data_dir() is None
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(SHARED_DATA_ENV, str(empty))
    assert shared_data_dir() is None


def test_a_folder_with_data_is_used(monkeypatch, tmp_path):
    (tmp_path / "airline.csv").write_text("Month,Passengers\n1949-01,112\n")
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    assert shared_data_dir() == tmp_path
