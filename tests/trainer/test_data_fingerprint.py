"""A resume notices changed data (item 10): the data files' fingerprint is recorded when a run
starts, a changed file is refused unless --allow-data-change, and data paths are stored
absolute, so a run resumes from any working directory."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path

import pytest

from seqframe.config import read_resolved
from seqframe.runs.fingerprint import changes, fingerprint
from seqframe.training.checkpoint import load_checkpoint

ARGS = ("--task", "timeseries", "--hidden", "4", "--steps", "2", "--quiet")


@pytest.fixture(autouse=True)
def no_curves(monkeypatch):
    """curves.png is not what these tests are about, and drawing it is most of a tiny run."""
    from seqframe.runs import single

    monkeypatch.setattr(single, "plot_curves", lambda *args, **kwargs: None)


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working directory holding a copy of the airline CSV; the run is trained from there."""
    work = tmp_path / "work"
    work.mkdir()
    with files("seqframe_timeseries").joinpath("data", "airline.csv").open("rb") as fh:
        (work / "air.csv").write_bytes(fh.read())
    monkeypatch.chdir(work)
    return work


def test_the_fingerprint_is_recorded_and_the_data_path_stored_absolute(sf, work):
    code, _, err = sf("run", *ARGS, "--data", "air.csv", "--out", "run")
    assert code == 0, err
    config = read_resolved(work / "run" / "config.toml")
    assert config.data == str(work / "air.csv")
    _, meta = load_checkpoint(work / "run" / "checkpoints" / "latest")
    [entry] = meta["data"]["files"]
    raw = (work / "air.csv").read_bytes()
    import hashlib

    assert entry == {"path": str(work / "air.csv"), "size": len(raw),
                     "mtime": (work / "air.csv").stat().st_mtime,
                     "sha256": hashlib.sha256(raw).hexdigest()}


def test_a_changed_data_file_is_refused_unless_allowed(sf, work):
    assert sf("run", *ARGS, "--data", "air.csv", "--out", "run")[0] == 0
    text = (work / "air.csv").read_text()
    (work / "air.csv").write_text(text.replace(",112", ",113", 1))  # same size, new content
    code, _, err = sf("run", "--resume", "run")
    assert code == 2
    assert f"the data changed since this run started: {work / 'air.csv'} changed" in err
    assert "--allow-data-change" in err
    code, _, err = sf("run", "--resume", "run", "--allow-data-change")
    assert code == 0, err
    assert "warning: the data changed since this run started" in err
    _, meta = load_checkpoint(work / "run" / "checkpoints" / "latest")
    # the new fingerprint is the run's from now on: the next resume accepts it
    assert meta["data"] == fingerprint(read_resolved(work / "run" / "config.toml"))
    assert sf("run", "--resume", "run")[0] == 0


def test_a_touched_or_copied_file_with_the_same_bytes_is_accepted(sf, work):
    assert sf("run", *ARGS, "--data", "air.csv", "--out", "run")[0] == 0
    (work / "air.csv").write_bytes((work / "air.csv").read_bytes())  # new mtime, same content
    code, _, err = sf("run", "--resume", "run")
    assert code == 0, err


def test_a_run_resumes_from_another_working_directory(sf, work, tmp_path, monkeypatch):
    assert sf("run", *ARGS, "--data", "air.csv", "--out", "run")[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = sf("run", "--resume", str(work / "run"))
    assert code == 0, err


def test_changes_are_described_file_by_file(tmp_path):
    old = {"files": [{"path": "/a", "size": 1, "sha256": "x"},
                     {"path": "/b", "size": 2, "sha256": "y"}]}
    new = {"files": [{"path": "/a", "size": 3, "sha256": "z"},
                     {"path": "/c", "size": 2, "sha256": "y"}]}
    assert changes(old, new) == ["/a changed (1 -> 3 bytes, new content)", "/b is gone",
                                 "/c is new"]
    assert changes(None, new) == []  # a checkpoint from before fingerprints: nothing to compare


def test_a_folder_is_fingerprinted_file_by_file(tmp_path):
    from seqframe.config import RunConfig

    folder = tmp_path / "set"
    (folder / "sub").mkdir(parents=True)
    (folder / "X_TRAIN.ts").write_text("a")
    (folder / "sub" / "X_TEST.ts").write_text("b")
    (folder / ".hidden").write_text("c")
    shutil.copy(folder / "X_TRAIN.ts", tmp_path / "extra.ts")
    config = RunConfig(data=str(folder), options={"test": str(tmp_path / "extra.ts"),
                                                   "src": "de"})
    paths = [Path(f["path"]).relative_to(tmp_path) for f in fingerprint(config)["files"]]
    assert paths == [Path("extra.ts"), Path("set/X_TRAIN.ts"), Path("set/sub/X_TEST.ts")]
    assert json.loads(json.dumps(fingerprint(config))) == fingerprint(config)
