"""Score the translate task's baselines (copy, word-for-word) on a data set's val and test splits.

    OMP_NUM_THREADS=1 python benchmarks/translate_baselines.py \
        --data ../shared/data/multi30k -o src=de -o tgt=en

``--data`` and ``-o KEY=VALUE`` are read exactly as ``seqframe run --task translate`` reads them
(left out: the built-in generated sample). Prints each baseline's ``bleu`` (lowercased),
``bleu_cased`` and ``chrf`` (sacrebleu, 0-100) per split, and the JSON of all of them last.
"""

from __future__ import annotations

import argparse
import json
import time

from seqframe_translate.task import TranslateTask


def parse_options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"-o expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = value
    return options


def measure(data: str | None, options: dict[str, str]) -> dict[str, dict]:
    """``{split: {baseline: {metric: value}}}`` for val and test."""
    task = TranslateTask(options, data)
    task.prepare()
    return {split: task.baselines(split) for split in task.splits()}


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="as `seqframe run --data`")
    parser.add_argument("-o", dest="options", action="append", default=[],
                        metavar="KEY=VALUE", help="a translate task option")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = measure(args.data, parse_options(args.options))
    for split, baselines in results.items():
        for name, scores in baselines.items():
            line = "  ".join(f"{metric} {value:6.2f}" for metric, value in scores.items())
            print(f"{split:5s} {name:14s} {line}")
    print(f"({time.perf_counter() - start:.1f} s)")
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
