"""Gesture ensembles: a validation split per member, the CLI end to end, predict averages."""

from __future__ import annotations

import csv
import json

import numpy as np
from seqframe_gesture.batching import pad_batch
from seqframe_gesture.task import GestureTask

from seqframe.runs import api


def test_each_member_holds_out_its_own_validation_split(tiny_pair):
    task = GestureTask({"split_seed": 5}, str(tiny_pair))
    assert task.member_options(0) == {"split_seed": 5}  # member 0 is the plain run
    assert task.member_options(2) == {"split_seed": 7}
    splits = []
    for member in range(3):
        member_task = GestureTask({"split_seed": 5, **task.member_options(member)}, str(tiny_pair))
        member_task.prepare()
        splits.append(sorted(map(tuple, member_task.sets["val"][0][0].tolist())))
    assert splits[0] != splits[1] or splits[1] != splits[2]


def test_members_draw_their_own_kernels_and_read_them_through_the_input_view(tiny_pair):
    task = GestureTask({"kernels": 4, "kernel_seed": 3, "augment": 0.1}, str(tiny_pair))
    task.prepare()
    assert task.member_options(0) == {"split_seed": 0, "kernel_seed": 3}
    assert task.member_options(2) == {"split_seed": 2, "kernel_seed": 5}
    assert task.input_view({"kernels": 4, "kernel_seed": 3, "split_seed": 2}) is None
    options = {"kernels": 4, "augment": 0.1, **task.member_options(2)}
    member = GestureTask(options, str(tiny_pair))
    member.prepare(task.state_dict())  # as an ensemble member: member 0's fitted state
    series = task.model_inputs["test"]
    batch = pad_batch(series, np.zeros(len(series)))
    got = task.input_view(options)(batch.inputs, batch.mask)
    expected = pad_batch(member.model_inputs["test"], np.zeros(len(series))).inputs
    assert not np.allclose(batch.inputs, expected)  # the members really read other kernels
    np.testing.assert_allclose(got[batch.mask], expected[batch.mask], rtol=1e-12, atol=1e-12)


def test_ensemble_run_eval_and_predict_through_the_cli(sf, tiny_pair, tmp_path):
    root = tmp_path / "ens"
    code, out, err = sf("run", "--task", "gesture", "--data", str(tiny_pair), "--backend",
                        "numpy", "--hidden", "4", "--epochs", "3", "--ensemble", "2",
                        "-o", "kernels=3", "--out", str(root))
    assert code == 0, err
    assert "ensemble member 2 of 2" in err and "gesture / lstm on numpy (ensemble of 2)" in out
    summary = json.loads((root / "summary.json").read_text())
    assert all((root / f"member-{m}" / name).exists()
               for m in range(2) for name in ("config.toml", "summary.json"))
    member1, _, config1 = api.open_run(root / "member-1")
    assert (config1.options["split_seed"], config1.options["kernel_seed"]) == (1, 1)
    assert member1.scaler == api.open_run(root / "member-0")[0].scaler  # member 0's, shared
    assert (root / "confusion.txt").exists()

    code, _, err = sf("eval", str(root), "--split", "val")
    assert code == 2 and "each held out their own validation split" in err
    code, out, _ = sf("eval", str(root))
    assert code == 0 and f"{summary['metrics']['test']['accuracy']:.6g}" in out

    test_file = tiny_pair.with_name("Tiny_TEST.ts")
    code, out, err = sf("predict", str(root), "--data", str(test_file))
    assert code == 0, err
    with (root / "predictions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    got = np.array([[float(r[f"p_{c}"]) for c in "abc"] for r in rows])
    expected = []
    for m in range(2):
        code, _, err = sf("predict", str(root / f"member-{m}"), "--data", str(test_file))
        with (root / f"member-{m}" / "predictions.csv").open() as fh:
            expected.append([[float(r[f"p_{c}"]) for c in "abc"] for r in csv.DictReader(fh)])
    np.testing.assert_allclose(got, np.mean(expected, axis=0), atol=2e-6)  # CSV has 6 decimals
    accuracy = np.mean([r["predicted"] == r["label"] for r in rows])
    assert accuracy == summary["metrics"]["test"]["accuracy"]
