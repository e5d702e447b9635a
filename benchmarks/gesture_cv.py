"""Cross-validate a gesture run file on its TRAINING file only: choose settings without TEST.

    OMP_NUM_THREADS=1 python benchmarks/gesture_cv.py \
        --config docs/benchmarks/gesture-pickup.toml --jobs 2
    OMP_NUM_THREADS=1 python benchmarks/gesture_cv.py \
        --config docs/benchmarks/gesture-pickup.toml --set ensemble=1 -o kernels=32 --jobs 2

The training file is cut into ``--folds`` stratified folds (seeded by ``--fold-seed``). For each
fold an ordinary ``seqframe run`` of the config trains on the other folds -- carving its own
validation split from them for early stopping, as it would from the full training file -- and
is scored on the held-out fold, passed as its test file. The test file of the data set is never
read. Printed: each fold's accuracy, the pooled accuracy over all training cases (correct / N),
and the 1-NN DTW baseline on the same folds for comparison. On UCR sets with a few dozen cases
a fold holds ~10 series, so differences under ~0.05 in pooled accuracy are noise.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import tomllib
from seqframe_gesture import sources
from seqframe_gesture.tsformat import read_ts, write_ts

import seqframe
from seqframe.config import load_toml


def stratified_folds(labels: list[str], folds: int, seed: int) -> np.ndarray:
    """Fold index of every case: each class's cases dealt round-robin, in a seeded order."""
    rng = np.random.default_rng(seed)
    labels_arr = np.asarray(labels)
    fold = np.empty(len(labels_arr), dtype=np.int64)
    for label in dict.fromkeys(labels):
        members = rng.permutation(np.flatnonzero(labels_arr == label))
        fold[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    return fold


def write_folds(data: str | None, folds: int, seed: int,
                out: Path) -> list[tuple[Path, Path, int]]:
    """``(FoldK_TRAIN.ts, FoldK_TEST.ts, held-out cases)`` per fold, from the training file only."""
    train = read_ts(sources.train_path(data))
    out.mkdir(parents=True, exist_ok=True)
    declared = train.header.class_labels or sources.label_order(train.labels)
    fold = stratified_folds(train.labels, folds, seed)
    pairs = []
    for k in range(folds):
        parts = []
        for role, keep in (("TRAIN", fold != k), ("TEST", fold == k)):
            rows = np.flatnonzero(keep)
            parts.append(write_ts(out / f"Fold{k}_{role}.ts", [train.series[i] for i in rows],
                                  [train.labels[i] for i in rows], f"Fold{k}", declared))
        pairs.append((parts[0], parts[1], int((fold == k).sum())))
    return pairs


def run_fold(job: tuple[int, dict, str]) -> dict:
    k, flags, config_file = job
    summary = seqframe.train(config_file, log=lambda _line: None, **flags).summary
    return {"fold": k, "accuracy": summary["metrics"]["test"]["accuracy"],
            "dtw": summary["baselines"].get("1nn_dtw", {}).get("accuracy"),
            "run_dir": summary["run_dir"]}


def parse_value(text: str):
    """A ``--set`` value as a TOML literal (``3``, ``0.5``, ``true``); anything else is a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="gesture run file (docs/benchmarks/...)")
    parser.add_argument("--data", help="override the config's data (its TRAIN file is used)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seed", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="the runs' --seed")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="KEY=VALUE", help="override a run-file key; repeatable")
    parser.add_argument("-o", dest="options", action="append", default=[],
                        metavar="KEY=VALUE", help="override a task option; repeatable")
    parser.add_argument("--jobs", type=int, default=1, help="folds trained at once")
    parser.add_argument("--out", help="folder for the fold files and runs (default: temp)")
    parser.add_argument("--json", help="also write the per-fold results to this file")
    args = parser.parse_args()

    out = Path(args.out or tempfile.mkdtemp(prefix="gesture-cv-"))
    data = args.data or load_toml(args.config).get("data")
    pairs = write_folds(data, args.folds, args.fold_seed, out)
    overrides = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.settings)}
    options = dict(item.split("=", 1) for item in args.options)
    jobs = []
    for k, (train, test, _) in enumerate(pairs):
        flags = {**overrides, "seed": args.seed, "data": str(train), "quiet": True,
                 "out": str(out / f"run{k}"), "options": {**options, "test": str(test)}}
        jobs.append((k, flags, args.config))
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        results = list(pool.map(run_fold, jobs))
    held_out = [n for _, _, n in pairs]
    for r, n in zip(results, held_out, strict=True):
        print(f"fold {r['fold']}: accuracy {r['accuracy']:.3f} on {n} held-out training cases "
              f"(1-NN DTW {r['dtw']:.3f})")
    pooled = sum(r["accuracy"] * n for r, n in zip(results, held_out, strict=True)) / sum(held_out)
    dtw = sum(r["dtw"] * n for r, n in zip(results, held_out, strict=True)) / sum(held_out)
    print(f"pooled cross-validated accuracy {pooled:.3f} over {sum(held_out)} training cases "
          f"(1-NN DTW on the same folds {dtw:.3f}); settings: {overrides or 'as in the file'}, "
          f"options {options or 'as in the file'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"pooled": pooled, "dtw": dtw, "folds": results},
                                              indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
