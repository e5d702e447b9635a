"""Speed of the speech task's hand-written parts, with the reference they replace, in one run.

1. Feature extraction (``FrontEnd``, 39 MFCC features): seconds of audio per second of CPU wall
   time over every recording of ``--data`` (default: the shipped FSDD subset), WAV reading
   excluded.
2. CTC loss + gradient of one batch (``--batch`` rows of up to ``--frames`` frames,
   ``--classes`` classes, targets of 1-7 labels): the registered ``ctc`` loss
   (``seqframe.losses.CTC.loss_and_grad`` on time-major logits and the step mask, as the readout
   calls it) on numpy and on torch with its fused paths off -- the hand-written forward-backward
   -- and on torch with them on (``TorchOps.fused_ctc``: torch's kernel behind the loss), against
   ``torch.nn.functional.ctc_loss`` forward + backward called directly, same dtype.

    OMP_NUM_THREADS=1 python benchmarks/speech_speed.py
    python benchmarks/speech_speed.py --data ../shared/data/fsdd/recordings --repeat 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from seqframe_speech import sources
from seqframe_speech.features import FrontEnd
from seqframe_speech.wav import read_wav

from seqframe.losses import CTC


def best_of(fn, repeat: int) -> tuple[float, float]:
    """The fastest of ``repeat`` timed calls, wall and process CPU seconds: the least disturbed
    by other load on a shared machine."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


def features_speed(data: str | None, repeat: int) -> str:
    recordings, _ = sources.load(data)
    signals = [read_wav(r.path, 8000)[0] for r in recordings]
    front = FrontEnd()
    seconds, cpu = best_of(lambda: [front(s) for s in signals], repeat)
    audio = sum(len(s) for s in signals) / 8000
    return (f"features: {len(signals)} recordings, {audio:.1f} s of audio in {seconds:.3f} s = "
            f"{audio / seconds:.0f} s of audio per second of wall time ({audio / cpu:.0f} per "
            "second of CPU time; 39 MFCC features, 8 kHz)")


def ctc_speed(batch: int, frames: int, classes: int, repeat: int, dtype: str) -> list[str]:
    import torch
    from seqframe_numpy import NumpyOps
    from seqframe_torch.ops import TorchOps

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(frames, batch, classes))  # (T, B, V) time-major, as the readout
    tgt_len = rng.integers(1, 8, size=batch)
    targets = rng.integers(1, classes, size=(batch, 7))
    targets[np.arange(7)[None, :] >= tgt_len[:, None]] = 0  # padded with the blank
    in_len = rng.integers(frames // 2, frames + 1, size=batch)
    mask = (np.arange(frames)[:, None] < in_len[None, :]).astype(dtype)  # (T, B)
    torch_dtype = getattr(torch, dtype)

    def reference():
        x = torch.tensor(logits, dtype=torch_dtype, requires_grad=True)
        loss = torch.nn.functional.ctc_loss(
            torch.log_softmax(x, -1), torch.tensor(targets), torch.tensor(in_len),
            torch.tensor(tgt_len), reduction="sum")
        loss.backward()

    rows = []
    base, base_cpu = best_of(reference, repeat)
    rows.append(f"ctc {dtype}, B={batch} T<={frames} V={classes}: torch ctc_loss fwd+bwd "
                f"{1000 * base:.1f} ms ({1000 * base_cpu:.1f} ms CPU)")
    loss = CTC()
    for name, ops in (("numpy (hand-written)", NumpyOps(dtype=dtype)),
                      ("torch, fused off (hand-written)", TorchOps(dtype, "cpu", fused=False)),
                      ("torch, fused on (torch's kernel)", TorchOps(dtype, "cpu", fused=True))):
        args = (ops.asarray(logits), ops.asarray(targets), ops.asarray(mask))
        seconds, cpu = best_of(lambda ops=ops, args=args: loss.loss_and_grad(ops, *args),
                               repeat)
        rows.append(f"  ctc loss on {name}: {1000 * seconds:.1f} ms ({seconds / base:.2f}x "
                    f"torch's); CPU {1000 * cpu:.1f} ms ({cpu / base_cpu:.2f}x)")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="FSDD folder or manifest (default: the shipped subset)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--classes", type=int, default=11)
    args = parser.parse_args(argv)
    print(features_speed(args.data, args.repeat))
    for dtype in ("float32", "float64"):
        print("\n".join(ctc_speed(args.batch, args.frames, args.classes, args.repeat, dtype)))


if __name__ == "__main__":
    main()
