"""Speaker-independent speech figures: each FSDD speaker held out in turn; mean +- std.

    flock /work/wt/quality.lock env OMP_NUM_THREADS=1 python benchmarks/speech_speakers.py \
        --config docs/benchmarks/speech-fsdd-words.toml --jobs 2 --out runs/speakers-words

Each speaker's run is the config with ``-o test_speakers=NAME``: that speaker's 500 recordings
are the whole test set and the model trains (and validates) on the other four speakers only, so
it has never heard the test voice. Words mode reports test accuracy and macro F1 (and the
baselines of the same split), CTC mode test WER with the configured decoder, greedy and beam
search. The std is the sample standard deviation (ddof=1) over the five speakers. ``--jobs 2``
trains two speakers at once, each in its own single-threaded process.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from seeds import mean_std, write_json

import seqframe

SPEAKERS = ("george", "jackson", "lucas", "nicolas", "yweweler")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="docs/benchmarks/speech-fsdd-*.toml")
    parser.add_argument("--speakers", nargs="+", default=list(SPEAKERS))
    parser.add_argument("--data", help="override the config's data")
    parser.add_argument("--backend", help="override the config's backend")
    parser.add_argument("--jobs", type=int, default=1, help="speakers trained at once")
    parser.add_argument("--out", required=True, help="parent folder of the run directories")
    parser.add_argument("--json", help="also write the per-speaker results to this file")
    return parser.parse_args(argv)


def _run_one(job: tuple[str, str, dict]) -> dict:
    speaker, config, flags = job
    summary = seqframe.train(config, log=lambda _line: None, **flags).summary
    return {"speaker": speaker, "test": summary["metrics"]["test"],
            "val": summary["metrics"]["val"], "baselines": summary.get("baselines", {}),
            "best_step": summary["best_step"], "steps": summary["steps"],
            "epochs": summary.get("epochs"), "wall_seconds": summary["wall_seconds"],
            "run_dir": summary["run_dir"]}


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    jobs = []
    for speaker in args.speakers:
        flags = {"out": str(Path(args.out) / speaker), "quiet": True,
                 "options": {"test_speakers": speaker}}
        flags.update({k: v for k, v in (("data", args.data), ("backend", args.backend)) if v})
        jobs.append((speaker, args.config, flags))
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(_run_one, jobs))
    ctc = "wer" in results[0]["test"]
    names = ("wer", "wer_greedy", "wer_beam", "cer") if ctc else ("accuracy", "macro_f1")
    for r in results:
        scores = "  ".join(f"{n} {r['test'][n]:.4f}" for n in names)
        print(f"{r['speaker']:>9}: test {scores}  (best step {r['best_step']} of {r['steps']}, "
              f"{r['wall_seconds']:.0f} s)", flush=True)
    for n in names:
        print(f"test {n}: {mean_std([r['test'][n] for r in results])} over "
              f"{len(results)} held-out speakers")
    for name in results[0]["baselines"]:
        acc = [r["baselines"][name]["accuracy"] for r in results]
        print(f"baseline {name}: test accuracy {mean_std(acc)}")
    write_json(args.json, results)


if __name__ == "__main__":
    sys.exit(main())
