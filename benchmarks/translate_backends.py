"""Translate a run's test set on two backends from the same checkpoint, and compare line by line.

    OMP_NUM_THREADS=2 python benchmarks/translate_backends.py RUN_DIR [--beam 5] \
        [--backends numpy torch]

Both backends load the run's best checkpoint (checkpoints are backend-neutral) in the run's own
dtype; prints how many of the test translations are identical, the test BLEU of each, and the
first differing lines if any.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from seqframe_translate.metrics import corpus_scores

import seqframe


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--backends", nargs=2, default=["numpy", "torch"])
    args = parser.parse_args(argv)
    out, seconds = {}, {}
    for backend in args.backends:
        run = seqframe.load(args.run, backend)
        sources = run.task.pairs["test"].source
        start = time.perf_counter()
        out[backend] = run.translate(list(sources), beam=args.beam)
        seconds[backend] = round(time.perf_counter() - start, 1)
    a, b = (out[name] for name in args.backends)
    same = sum(x == y for x, y in zip(a, b, strict=True))
    references = seqframe.load(args.run).task.pairs["test"].target
    report = {"run": str(args.run), "beam": args.beam, "sentences": len(a), "identical": same,
              "seconds": seconds,
              "bleu": {name: corpus_scores(out[name], references)["bleu"] for name in out}}
    print(json.dumps(report, indent=1))
    for x, y in [(x, y) for x, y in zip(a, b, strict=True) if x != y][:5]:
        print(f"{args.backends[0]}: {x}\n{args.backends[1]}: {y}\n")
    return report


if __name__ == "__main__":
    main()
