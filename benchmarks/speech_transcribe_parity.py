"""A speech run's checkpoint transcribes the same files alike on the numpy and torch backends.

    python benchmarks/speech_transcribe_parity.py RUN_DIR [FILE.wav ...]
    python benchmarks/speech_transcribe_parity.py RUN_DIR --connected 100 \
        --data ../shared/data/fsdd/recordings

Default files: the 150 recordings shipped with the task. ``--connected N`` writes N connected
utterances (1-7 digits, the task's recipe, a seed of their own) built from the official test
takes (0-4) of ``--data`` as 16-bit WAV files and transcribes those, with each backend's WER
against their words. Prints how many transcripts agree word for word and the largest relative
difference of the probabilities. Checkpoints are
backend-neutral, so this holds whichever backend trained the run (float32 on both; a
transcript can differ only where two hypotheses are within float32 rounding of each other).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import seqframe_speech
from scipy.io import wavfile
from seqframe_speech import connected, scoring, sources
from seqframe_speech.wav import read_wav

import seqframe


def connected_files(data: str, count: int, folder: Path) -> tuple[list[str], list[tuple]]:
    """``count`` connected test utterances written as WAV files: (paths, their words)."""
    recordings, _ = sources.load(data)
    pool = [i for i, r in enumerate(recordings) if r.take < 5]  # the official test takes
    signals = [read_wav(r.path, 8000)[0] for r in recordings]
    made = connected.generate(pool, recordings, signals, count, seed=12345, stream=2,
                              rate=8000, recipe=connected.Recipe())
    paths = []
    for i, u in enumerate(made):
        path = folder / f"utterance{i:03d}.wav"
        wavfile.write(path, 8000, np.round(np.clip(u.signal, -1, 1) * 32767).astype(np.int16))
        paths.append(str(path))
    return paths, [u.words for u in made]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("files", nargs="*")
    parser.add_argument("--connected", type=int, default=0, help="utterances to generate")
    parser.add_argument("--data", help="FSDD folder for --connected")
    args = parser.parse_args(argv)
    files = args.files or sorted(str(p) for p in
                                 (Path(seqframe_speech.__file__).parent / "data").glob("*.wav"))
    refs = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.connected:
            files, refs = connected_files(args.data, args.connected, Path(tmp))
        results = {b: seqframe.load(args.run_dir, backend=b).transcribe(files)
                   for b in ("numpy", "torch")}
    if refs is not None:
        for b, found in results.items():
            print(f"{b}: WER {scoring.wer(refs, [t.words for t in found]):.4f} on "
                  f"{len(refs)} connected test utterances")
    same = sum(a.words == b.words for a, b in zip(results["numpy"], results["torch"],
                                                   strict=True))
    worst = max(abs(a.probability - b.probability) / max(a.probability, b.probability, 1e-300)
                for a, b in zip(results["numpy"], results["torch"], strict=True))
    words = sum(len(t.words) for t in results["numpy"])
    print(f"{same} of {len(files)} transcripts identical on numpy and torch ({words} words); "
          f"largest relative probability difference {worst:.2e}")
    for a, b in zip(results["numpy"], results["torch"], strict=True):
        if a.words != b.words:
            print(f"  {a.path}: numpy {' '.join(a.words)!r} ({a.probability:.4g}), torch "
                  f"{' '.join(b.words)!r} ({b.probability:.4g})")


if __name__ == "__main__":
    main()
