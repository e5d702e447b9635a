"""Next-item speed: training throughput and one evaluation pass, numpy vs torch, small vs large
catalogue, full vs sampled losses -- the ratios from one invocation.

    OMP_NUM_THREADS=1 python benchmarks/nextitem_speed.py --items 1682 25000 \\
        --backends numpy torch --losses cross_entropy sampled_softmax bpr_max --json speed.json

Data: a synthetic interaction log per catalogue size with MovieLens 100K's shape -- 943 users
with ML-100K's own history lengths (20 to 737 items, 100,000 interactions in all) when
``--lengths-from`` names its ``.inter`` file, else lengths drawn to the same mean -- items drawn
from a Zipf(1.0) popularity over the catalogue, written as a SASRec ``user item`` file in a
temporary folder. Only the catalogue size differs between the data sets.

Model: the benchmark config's (``docs/benchmarks/nextitem-ml100k.toml``: GRU, embed 64, H 128,
batch 64, padded pieces of up to 50 steps), built by ``seqframe.runs.build.build`` and stepped by
``seqframe.training.step.TrainStep`` exactly as the trainer steps it (BPTT, clip, Adam).

* **Training**: ``--warmup`` untimed optimizer steps, then ``--steps`` timed ones over epoch 0's
  first batches; interactions per second = the batches' real (unmasked) steps / wall time.
* **Evaluation pass**: ``task.evaluate(predictor, "test")`` -- every user's history through the
  model (every-step outputs over the catalogue, the last read) and both rankings (100 sampled
  negatives and the full catalogue). It does not depend on the training loss; timed once per
  (size, backend), untrained parameters.

The machine may be shared: ``--rounds R`` repeats the sweep R times, interleaved, and each row is
the median of its rounds; ratios are of those medians, so they come from one invocation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from seqframe.engine.predictor import ModelPredictor
from seqframe.runs.build import build, resolve_config
from seqframe.training.clipping import Clipper
from seqframe.training.optim import build_optimizer
from seqframe.training.step import TrainStep

CONFIG = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "nextitem-ml100k.toml"
USERS, MEAN_LENGTH = 943, 106.04  # ML-100K: 100,000 ratings by 943 users
LOSS_OPTIONS = {"sampled_softmax": {"sampler": "popularity", "samples": 256},
                "bpr_max": {"samples": 256}, "top1_max": {"samples": 256}}


def lengths(source: str | None, seed: int = 0) -> np.ndarray:
    """(U,) history lengths: ML-100K's own (from its .inter file), or drawn to its mean."""
    if source:
        users = np.loadtxt(source, skiprows=1, usecols=0, dtype=np.int64)
        return np.unique(users, return_counts=True)[1]
    rng = np.random.default_rng(seed)
    return 20 + rng.geometric(1.0 / (MEAN_LENGTH - 19), size=USERS)


def synthetic(path: Path, items: int, sizes: np.ndarray, seed: int = 0) -> Path:
    """A SASRec file: per user, ``sizes[u]`` distinct items from a Zipf(1) popularity."""
    rng = np.random.default_rng([seed, items])
    popularity = 1.0 / np.arange(1, items + 1)
    popularity /= popularity.sum()
    lines = []
    for user, size in enumerate(sizes, start=1):
        picked = rng.choice(items, size=min(int(size), items), replace=False, p=popularity)
        lines += [f"{user} {item + 1}" for item in picked]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def built_for(data: Path, backend: str, loss: str):
    config = resolve_config({"task": "nextitem", "data": str(data),
                             "backend": backend, "quiet": True, "seed": 0,
                             "loss": "" if loss == "cross_entropy" else loss,
                             "loss_options": LOSS_OPTIONS.get(loss, {}),
                             "options": {"baselines": False}}, str(CONFIG))
    built = build(config, log=lambda _line: None)
    params = {k: built.ops.asarray(v) for k, v in built.model.init_params(0).items()}
    return config, built, params


def train_rate(data: Path, backend: str, loss: str, warmup: int, steps: int) -> float:
    """Interactions (unmasked training steps) per second over ``steps`` optimizer steps."""
    config, built, params = built_for(data, backend, loss)
    ops, model = built.ops, built.model
    step = TrainStep(model, ops, build_optimizer(config, ops), Clipper(ops, config.clip_norm, 0.0),
                     fused=ops.fused_recurrence(model.cell))
    batches = built.task.train_batches(0, config.batch_size, 0)
    rng = np.random.default_rng(0)
    interactions, seconds = 0, 0.0
    for k in range(warmup + steps):
        batch = batches[k % len(batches)]
        start = time.perf_counter()
        step(params, batch, None, config.lr, dropout_rng=rng, loss_rng=rng)
        if k >= warmup:
            seconds += time.perf_counter() - start
            interactions += int(batch.mask.sum())
    return interactions / seconds


def eval_seconds(data: Path, backend: str) -> float:
    """Wall seconds of one evaluation of every test user (model pass and both rankings)."""
    _, built, params = built_for(data, backend, "cross_entropy")
    predictor = ModelPredictor(built.model, built.ops, params)
    built.task.negatives("test")  # drawn once per run; not part of a pass
    start = time.perf_counter()
    built.task.evaluate(predictor, "test")
    return time.perf_counter() - start


def sweep(files: dict[int, Path], args) -> dict[tuple, float]:
    out = {}
    for items, data in files.items():
        for backend in args.backends:
            out[("eval", items, backend)] = eval_seconds(data, backend)
            took = out[("eval", items, backend)]
            print(f"  {items:6d} items {backend:5s} eval pass {took:.2f} s", flush=True)
            for loss in args.losses:
                rate = train_rate(data, backend, loss, args.warmup, args.steps)
                out[("train", items, backend, loss)] = rate
                print(f"  {items:6d} items {backend:5s} {loss:16s} {rate:9.0f} interactions/s",
                      flush=True)
    return out


def report(rows: dict[tuple, float], args) -> list[str]:
    lines = ["| items | backend | " + " | ".join(f"{loss} (interactions/s)" for loss in args.losses)
             + " | eval pass (s) |", "|---|---|" + "---|" * (len(args.losses) + 1)]
    for items in args.items:
        for backend in args.backends:
            rates = [f"{rows[('train', items, backend, loss)]:,.0f}" for loss in args.losses]
            lines.append(f"| {items:,} | {backend} | " + " | ".join(rates)
                         + f" | {rows[('eval', items, backend)]:.2f} |")
    lines.append("")
    for items in args.items:
        def rate(backend: str, loss: str, items: int = items) -> float:
            return rows[("train", items, backend, loss)]

        if {"numpy", "torch"} <= set(args.backends):
            speed = [f"{loss} {rate('torch', loss) / rate('numpy', loss):.1f}x"
                     for loss in args.losses]
            ev = rows[("eval", items, "numpy")] / rows[("eval", items, "torch")]
            lines.append(f"{items:,} items, torch / numpy: training " + ", ".join(speed)
                         + f"; eval pass {ev:.1f}x faster")
        for backend in args.backends:
            full = rows[("train", items, backend, args.losses[0])]
            others = [f"{loss} {rows[('train', items, backend, loss)] / full:.1f}x"
                      for loss in args.losses[1:]]
            if others:
                lines.append(f"{items:,} items, {backend}, vs {args.losses[0]}: "
                             + ", ".join(others))
    small, large = min(args.items), max(args.items)
    if small != large:
        for backend in args.backends:
            slow = [f"{loss} {rows[('train', small, backend, loss)] / big:.1f}x"
                    for loss in args.losses
                    for big in [rows[("train", large, backend, loss)]]]
            ev = rows[("eval", large, backend)] / rows[("eval", small, backend)]
            lines.append(f"{backend}, {large:,} vs {small:,} items: training slower by "
                         + ", ".join(slow) + f"; eval pass {ev:.1f}x longer")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1682, 25000])
    parser.add_argument("--backends", nargs="+", default=["numpy", "torch"])
    parser.add_argument("--losses", nargs="+", default=["cross_entropy", "sampled_softmax",
                                                        "bpr_max"],
                        help="the first is the reference of the ratios (full softmax)")
    parser.add_argument("--steps", type=int, default=8, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed optimizer steps first")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved sweeps (median)")
    parser.add_argument("--lengths-from", help="ML-100K's .inter file: its users' lengths")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    sizes = lengths(args.lengths_from)
    rounds: list[dict[tuple, float]] = []
    with tempfile.TemporaryDirectory(prefix="nextitem-speed-") as tmp:
        files = {n: synthetic(Path(tmp) / f"items{n}.txt", n, sizes) for n in args.items}
        print(f"{len(sizes)} users, {int(sizes.sum()):,} interactions per data set")
        for r in range(args.rounds):
            print(f"round {r}:")
            rounds.append(sweep(files, args))
    rows = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print("\n".join(report(rows, args)))
    if args.json:
        dump = [{"key": list(k), "value": v, "rounds": [r[k] for r in rounds]}
                for k, v in rows.items()]
        Path(args.json).write_text(json.dumps(dump, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
