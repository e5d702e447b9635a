"""The nextitem baselines on a data set, and how long the vectorised metrics take.

    OMP_NUM_THREADS=1 python benchmarks/nextitem_baselines.py --data ../shared/data/ml-100k
    OMP_NUM_THREADS=1 python benchmarks/nextitem_baselines.py --data ../shared/data/ml-100k \\
        -o protocol=session

Prints every baseline's metrics on the validation and test questions (the same figures a run's
``summary.json`` holds under ``baselines``), the time to fit and score each, and the time of one
full-catalogue ranking pass over all test questions from a ready score matrix (what
evaluation adds to the model's own forward pass).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from seqframe_nextitem import evaluation, ranking
from seqframe_nextitem.baselines import fit_all
from seqframe_nextitem.task import NextItemTask


def parse_options(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key.strip()] = value.strip()
    return out


def ranking_pass_seconds(task: NextItemTask, repeats: int = 5) -> float:
    """Best of ``repeats`` timings of ranking every test question from random scores."""
    cases = task.protocol.cases["test"]
    scores = np.random.default_rng(0).normal(size=(len(cases), task.width))  # (C, V)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        task._ranks(iter([(np.arange(len(cases)), scores)]), "test")
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="as seqframe run --data (default synthetic)")
    parser.add_argument("-o", dest="options", action="append", default=[], help="KEY=VALUE")
    args = parser.parse_args()
    task = NextItemTask(parse_options(args.options), args.data)
    start = time.perf_counter()
    task.prepare()
    print(f"data: {task.report} (prepared in {time.perf_counter() - start:.2f} s)")
    for split in ("val", "test"):
        cases = task.protocol.cases[split]
        start = time.perf_counter()
        task.negatives(split)
        sampled = time.perf_counter() - start
        print(f"\n{split}: {len(cases)} questions (negatives sampled in {sampled:.2f} s)")
        for name, baseline in fit_all(task.protocol.train, task.catalogue.size).items():
            start = time.perf_counter()
            chunks = evaluation.baseline_chunks(baseline, cases, task.width)
            figures = task._metrics(task._ranks(chunks, split))
            took = time.perf_counter() - start
            shown = "  ".join(f"{k} {v:.4f}" for k, v in figures.items())
            print(f"  {name:<11} {shown}   ({took:.2f} s)")
    print(f"\nranking pass over all test questions x {task.width - 1} items: "
          f"{ranking_pass_seconds(task) * 1000:.0f} ms (best of 5; chunk of "
          f"{ranking.chunk_rows(task.width)} questions)")


if __name__ == "__main__":
    main()
