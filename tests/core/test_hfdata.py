"""Hugging Face loading, exercised on local files (this machine has no hub access)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from seqframe.errors import DataError
from seqframe.hfdata import is_hf_spec, load_hf, parse_spec

datasets = pytest.importorskip("datasets")


def test_spec_parsing():
    assert is_hf_spec("hf:karpathy/tiny_shakespeare") and not is_hf_spec("data.csv")
    assert parse_spec("hf:owner/name:config") == ("owner/name", "config")
    assert parse_spec("hf:owner/name") == ("owner/name", None)
    with pytest.raises(DataError, match="empty Hugging Face dataset name"):
        parse_spec("hf:")


def test_local_csv_file_loads_as_a_dataset(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("t,value\n1,10\n2,20\n3,30\n")
    ds = load_hf(f"hf:{path}")
    assert ds.column_names == ["t", "value"] and ds["value"] == [10, 20, 30]


def test_saved_dataset_folder_loads_with_its_split(tmp_path):
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["ab", "cd"]})})
    dd.save_to_disk(str(tmp_path / "saved"))
    assert load_hf(f"hf:{tmp_path / 'saved'}", split="train")["text"] == ["ab", "cd"]
    with pytest.raises(DataError, match="has no split 'test'"):
        load_hf(f"hf:{tmp_path / 'saved'}", split="test")


def test_unknown_file_format_is_a_clear_error(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_text("1\n")
    with pytest.raises(DataError, match="cannot tell the format of"):
        load_hf(f"hf:{path}")


def test_hub_name_offline_says_so_and_what_to_do():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    code = (
        "from seqframe.hfdata import load_hf\n"
        "try:\n    load_hf('hf:nobody/no_such_dataset_xyz')\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120).stdout
    assert out.startswith("DataError could not load Hugging Face data set 'nobody/no_such_dataset")
    assert "offline mode is on" in out and "pass a local file or folder" in out


def test_missing_datasets_package_gives_the_install_hint(monkeypatch, tmp_path):
    from seqframe.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'seqframe\[hf\]'"):
        load_hf(f"hf:{tmp_path}")


@pytest.mark.parametrize("name", ["./no/such/file.csv", "/no/such/folder", "~/no-such-data",
                                  "missing.parquet"])
def test_a_missing_local_path_is_not_blamed_on_the_hub(sf, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    code, _, err = sf("run", "--task", "timeseries", "--data", f"hf:{name}", "--steps", "1",
                      "--quiet", "--out", str(tmp_path / "run"))
    assert code == 2
    assert f"error: local path {name!r} of --data 'hf:{name}' does not exist" in err
    assert "hub could not be reached" not in err
