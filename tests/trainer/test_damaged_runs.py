"""Damaged or edited run directories: one clear error (exit code 2), never a traceback, never a
silently different model; and what can be repaired is repaired (metrics.jsonl, a member's
summary.json, leftovers of a crash)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from seqframe.runs import api
from seqframe.training import checkpoint as ck

TINY = ("--task", "tiny", "--cell", "lstm", "--hidden", "4", "--eval-every", "2", "--dtype",
        "float32", "--quiet")



@pytest.fixture(autouse=True)
def no_curves(monkeypatch):
    """curves.png is not what these tests are about, and drawing it is most of a tiny run."""
    from seqframe.runs import single

    monkeypatch.setattr(single, "plot_curves", lambda *args, **kwargs: None)

def finished_run(sf, out: Path, steps: int = 4) -> Path:
    code, _, err = sf("run", *TINY, "--steps", str(steps), "--out", str(out))
    assert code == 0, err
    return out


def stopped_run(sf, out: Path, at: int, steps: int) -> Path:
    """A run whose latest checkpoint is mid-way, at step ``at`` of ``steps``: trained to ``at``,
    then made to want ``steps`` (the same as a run stopped there: the schedule is constant and a
    checkpoint holds everything else)."""
    finished_run(sf, out, steps=at)
    config = out / "config.toml"
    config.write_text(config.read_text().replace(f"steps = {at}", f"steps = {steps}"))
    edit_meta(out, lambda m: m["loop"].update(finished=False, stop_reason=""))
    return out


def edit_meta(out: Path, change) -> None:
    path = out / "checkpoints" / "latest" / ck.META
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def records(out: Path) -> list[dict]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "wall_seconds"} for x in lines]


def resume(sf, out: Path):
    code, outp, err = sf("run", "--resume", str(out))
    assert "Traceback" not in err
    return code, err


# ---- checkpoint integrity (items 8, 9, 12) ------------------------------------------------------


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("loop"), r"cannot be resumed: its meta.json is not what seqframe writes "
                              r"\(KeyError: 'loop'\)"),
    (lambda m: m.update(rng=5), r"cannot be resumed: its meta.json is not what seqframe writes"),
    (lambda m: m["loop"].update(step="x"), r"loop field 'step' is 'x', expected int"),
    (lambda m: m["loop"]["cursor"].update(batch=-1), r"the data cursor .* is not three whole "
                                                     r"numbers >= 0"),
    (lambda m: m.update(format_version="x"), r"has format_version 'x'; expected a whole number"),
    (lambda m: m.update(checksums={}), r"has no checksum of tensors.safetensors"),
])
def test_an_edited_meta_json_is_one_clear_error(sf, tmp_path, change, message):
    out = finished_run(sf, tmp_path / "run")
    edit_meta(out, change)
    code, err = resume(sf, out)
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    import re

    assert re.search(message, err), err


def test_a_truncated_meta_json_is_one_clear_error(sf, tmp_path):
    out = finished_run(sf, tmp_path / "run")
    meta = out / "checkpoints" / "latest" / ck.META
    meta.write_text(meta.read_text()[:200])
    code, err = resume(sf, out)
    assert code == 2 and "cannot be read" in err


def test_a_cursor_past_the_data_is_one_clear_error(sf, tmp_path):
    out = stopped_run(sf, tmp_path / "run", at=2, steps=4)
    edit_meta(out, lambda m: m["loop"]["cursor"].update(batch=10**6))
    code, err = resume(sf, out)
    assert code == 2
    assert "data cursor points at batch 1000000 of epoch 0, but the task gives 4 batches" in err


def test_a_bit_flip_in_the_tensors_is_caught_by_the_checksum(sf, tmp_path):
    out = finished_run(sf, tmp_path / "run")
    tensors = out / "checkpoints" / "latest" / ck.TENSORS
    data = bytearray(tensors.read_bytes())
    data[-5] ^= 0x40  # one bit of the last parameter value
    tensors.write_bytes(bytes(data))
    code, err = resume(sf, out)
    assert code == 2
    assert "tensors.safetensors does not match the checksum recorded in meta.json" in err
    code, _, err = sf("eval", str(out))  # reading the best checkpoint checks too
    assert code == 0  # `best` is untouched
    (out / "checkpoints" / "best" / ck.TENSORS).write_bytes(bytes(data))
    code, _, err = sf("eval", str(out))
    assert code == 2 and "does not match the checksum" in err


def test_parameters_of_another_dtype_are_refused_even_with_a_matching_checksum(sf, tmp_path):
    out = finished_run(sf, tmp_path / "run")
    folder = out / "checkpoints" / "latest"
    tensors = load_file(str(folder / ck.TENSORS))
    save_file({k: v.astype(np.float64) for k, v in tensors.items()}, str(folder / ck.TENSORS))
    digest = hashlib.sha256((folder / ck.TENSORS).read_bytes()).hexdigest()
    edit_meta(out, lambda m: m.update(checksums={ck.TENSORS: digest}))
    code, err = resume(sf, out)
    assert code == 2
    assert "is float64, but the run trains in float32; the checkpoint was altered" in err


def test_an_edited_config_toml_that_changes_the_model_is_refused(sf, tmp_path):
    out = finished_run(sf, tmp_path / "run")
    config = out / "config.toml"
    config.write_text(config.read_text().replace("hidden = 4", "hidden = 5"))
    code, err = resume(sf, out)
    assert code == 2
    assert "config.toml says hidden = 5, but the checkpoint was trained with hidden = 4" in err


def test_a_binary_config_toml_is_one_clear_error(sf, tmp_path):
    out = finished_run(sf, tmp_path / "run")
    (out / "config.toml").write_bytes(bytes(range(256)))
    code, err = resume(sf, out)
    assert code == 2 and "is not UTF-8 text" in err


# ---- metrics.jsonl (item 5) ---------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_short_or_damaged_metrics_log_is_repaired_on_resume(sf, tmp_path, damage):
    straight = finished_run(sf, tmp_path / "straight", steps=6)
    out = stopped_run(sf, tmp_path / "run", at=4, steps=6)
    log = out / "metrics.jsonl"
    first = log.read_text().splitlines()[0]
    if damage == "truncated":
        log.write_text(first + "\n" + '{"step": 4, "ep')  # the second record cut short
    else:
        log.write_bytes(first.encode() + b"\n\x00\x00\x00\x00\n")
    code, _, err = sf("run", "--resume", str(out))  # quiet comes from the run's config
    assert code == 0, err
    assert "metrics.jsonl" in err and "kept its first 1 valid record(s)" in err
    # the evaluation at step 4 is lost from the log; the rest is the uninterrupted run's
    kept = records(out)
    assert kept == [records(straight)[0], records(straight)[2]]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"] == json.loads((straight / "summary.json").read_text())["metrics"]


def test_metrics_are_synced_before_a_checkpoint_records_their_size(tiny_config, monkeypatch):
    from seqframe.training import progress

    synced, sizes = [], []
    original_sync = progress.MetricsLog.sync

    def sync(self):
        synced.append(self.size())
        return original_sync(self)

    monkeypatch.setattr(progress.MetricsLog, "sync", sync)
    original_save = ck.save_checkpoint

    def save(path, tensors, meta):
        sizes.append(meta["loop"]["metrics_size"])
        return original_save(path, tensors, meta)

    from seqframe.training import trainer

    monkeypatch.setattr(trainer, "save_checkpoint", save)
    api.train_config(tiny_config(steps=4, epochs=None, eval_every=2))
    assert sizes and sizes == synced  # every size a checkpoint recorded was synced first


# ---- ensembles (item 8) --------------------------------------------------------------------------


def test_an_ensemble_member_with_a_damaged_summary_is_finished_again(sf, tmp_path):
    out = tmp_path / "ens"
    code, _, err = sf("run", *TINY, "--steps", "2", "--ensemble", "2", "--out", str(out))
    assert code == 0, err
    whole = json.loads((out / "summary.json").read_text())
    (out / "member-0" / "summary.json").write_text('{"steps": ')
    (out / "summary.json").unlink()
    code, _, err = sf("run", "--resume", str(out))
    assert code == 0 and "Traceback" not in err
    assert "member-0/summary.json is damaged; finishing the member again" in err
    assert json.loads((out / "summary.json").read_text())["metrics"] == whole["metrics"]


# ---- leftovers of a crash (item 1) --------------------------------------------------------------


def test_leftovers_of_interrupted_writes_are_removed_on_the_next_start(sf, tmp_path):
    out = finished_run(sf, tmp_path / "run")
    folder = out / "checkpoints"
    (folder / ".latest.abc123.tmp").mkdir()
    (folder / ".latest.abc123.tmp" / ck.TENSORS).write_bytes(b"half")
    (out / ".summary.json.xyz.tmp").write_text("{")
    (folder / "latest").rename(folder / ".latest.old")  # a crash between the two renames
    code, err = resume(sf, out)
    assert code == 0, err
    assert sorted(p.name for p in folder.iterdir()) == ["best", "latest"]
    assert not (out / ".summary.json.xyz.tmp").exists()


@pytest.mark.parametrize("edit, named", [
    (lambda text: text.replace("lr = 0.002", "lr = 0.5"),
     "says lr = 0.5, but the checkpoint was trained with lr = 0.002"),
    # cut short where it still parses: the keys after the cut fall back to their defaults -- a
    # different run (here: the validation cadence), refused by name rather than trained on
    (lambda text: text.split("eval_every")[0],
     "does not set eval_every (default), but the checkpoint was trained with eval_every = 2"),
])
def test_an_edited_or_cut_config_toml_is_refused_on_resume(sf, tmp_path, edit, named):
    out = stopped_run(sf, tmp_path / "run", at=2, steps=4)
    config = out / "config.toml"
    assert "lr = 0.002" in config.read_text() and "[options]" in config.read_text()
    config.write_text(edit(config.read_text()))
    code, _, err = sf("run", "--resume", str(out))
    assert code == 2, err
    assert named in err and "the checkpoint was trained with" in err
    assert "the file was edited or damaged since" in err and "Traceback" not in err
