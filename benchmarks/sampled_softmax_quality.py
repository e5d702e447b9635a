"""Does sampled softmax train as good a model as the full softmax? V = 20,000, same budget.

Task: the synthetic Zipfian language of ``zipf_language.py`` (V = 20,000 ids in K = 20 classes,
Zipf exponent 1.1 over ranks, class transitions with 3 successors), 1,000,000 training tokens and
65,536 held-out tokens, cut into B stateful streams as the char-LM task cuts its text. Model:
token ids embedded E wide, one LSTM layer of H, readout over all 20,000 classes; Adam, clip 5.
Two runs from the same seed see the same batches: ``full`` trains with the full softmax
(``cross_entropy``), ``sampled`` with ``sampled_softmax`` (512 classes per window from the
log-uniform proposal); a name ending in ``-sparse`` (``sampled-sparse``) trains with
``sparse_grads``: row-sparse embedding and readout gradients, only the touched rows updated (lazy
Adam). All are *evaluated with the full softmax* on the held-out tokens (every ``--eval-every``
steps), which is the figure compared; the language's entropy rate (the best possible) and its
unigram cross-entropy put the numbers in scale.

    OMP_NUM_THREADS=2 python benchmarks/sampled_softmax_quality.py --threads 2
    OMP_NUM_THREADS=2 python benchmarks/sampled_softmax_quality.py --threads 2 \
        --runs full sampled-sparse
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import _threads


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--vocab", type=int, default=20000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--embed", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--train-tokens", type=int, default=1_000_000)
    parser.add_argument("--val-tokens", type=int, default=65_536)
    parser.add_argument("--runs", nargs="+", default=["full", "sampled"],
                        help="full, sampled, and either with -sparse (row-sparse updates)")
    parser.add_argument("--json", default=None, help="also write the curves to this file")
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    _threads.pin(ARGS.threads)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _tokenbench as tb  # noqa: E402
import numpy as np  # noqa: E402
from zipf_language import ZipfLanguage  # noqa: E402

from seqframe.engine.bptt import forward  # noqa: E402
from seqframe.losses import CrossEntropy, SampledSoftmax  # noqa: E402
from seqframe.task import Batch  # noqa: E402

EVAL_CHUNK = 64  # steps per forward call when scoring (the state is carried)


def streams(ids: np.ndarray, batch: int) -> np.ndarray:
    """(B, N // B) contiguous streams of ``ids``, as the char-LM task cuts its text."""
    per = len(ids) // batch
    return ids[: per * batch].reshape(batch, per)


def full_softmax_nll(model, ops, params, val: np.ndarray) -> float:
    """Mean NLL (nats/token) of the full softmax over ``val`` streams (B, N), state carried."""
    total, count, state = 0.0, 0, None
    for lo in range(0, val.shape[1] - 1, EVAL_CHUNK):
        hi = min(lo + EVAL_CHUNK, val.shape[1] - 1)
        logits, state = forward(model, ops, params, ops.asarray(val[:, lo:hi]), state=state)
        z = ops.to_numpy(logits).astype(np.float64)  # (B, t, V)
        top = z.max(-1, keepdims=True)
        lse = np.log(np.exp(z - top).sum(-1)) + top[..., 0]
        picked = np.take_along_axis(z, val[:, lo + 1:hi + 1, None], -1)[..., 0]
        total += float((lse - picked).sum())
        count += picked.size
    return total / count


def train(name: str, args, lang: ZipfLanguage, train_ids, val_ids, log) -> dict:
    ops = tb.make_ops(args.backend, args.threads)
    kind, _, sparse = name.partition("-")
    loss = CrossEntropy() if kind == "full" else SampledSoftmax(samples=args.samples)
    model = tb.model_for("lstm", args.vocab, args.hidden, tokens=True, embed=args.embed,
                         loss=loss, sparse=sparse == "sparse")
    params, step = tb.train_step(ops, model, seed=0, lr=args.lr)
    rng = np.random.default_rng(1)
    data = streams(train_ids, args.batch)
    windows = (data.shape[1] - 1) // args.length
    curve, state, seconds = [], None, 0.0
    for k in range(1, args.steps + 1):
        w = (k - 1) % windows
        lo = w * args.length
        chunk = data[:, lo: lo + args.length + 1]
        batch = Batch(chunk[:, :-1], np.ascontiguousarray(chunk[:, 1:]),
                      np.ones((args.batch, args.length), bool),
                      np.full(args.batch, w == 0))
        tick = time.perf_counter()
        result = step(params, batch, state, args.lr, loss_rng=rng)
        seconds += time.perf_counter() - tick
        state = result.state
        if k % args.eval_every == 0 or k == args.steps:
            val = full_softmax_nll(model, ops, params, val_ids)
            curve.append({"step": k, "train_loss": result.loss, "val_full_softmax": val,
                          "train_seconds": round(seconds, 1)})
            log(f"{name} step {k}: train {result.loss:.4f} val(full softmax) {val:.4f} "
                f"({seconds:.0f} s)")
    return {"curve": curve, "ms_per_step": 1000 * seconds / args.steps}


def main() -> None:
    args = ARGS
    lang = ZipfLanguage(vocab=args.vocab)
    rng = np.random.default_rng(123)
    train_ids = lang.sample(args.train_tokens, rng)
    val_ids = streams(lang.sample(args.val_tokens, rng), args.batch)
    print(f"language: V={args.vocab}, entropy rate {lang.entropy_rate:.4f}, unigram "
          f"{lang.unigram:.4f} nats/token; model E={args.embed} H={args.hidden}, "
          f"B={args.batch} T={args.length}, {args.steps} steps, {args.backend} "
          f"{args.threads} thread(s)", flush=True)
    results = {name: train(name, args, lang, train_ids, val_ids,
                           lambda line: print(line, flush=True)) for name in args.runs}
    print("| step | " + " | ".join(f"{n} val (full softmax)" for n in results) + " |")
    print("|---:|" + "---:|" * len(results))
    for i, point in enumerate(results[args.runs[0]]["curve"]):
        vals = " | ".join(f"{r['curve'][i]['val_full_softmax']:.4f}" for r in results.values())
        print(f"| {point['step']} | {vals} |")
    if "full" in results:
        full = results["full"]["curve"][-1]["val_full_softmax"]
        for name in (n for n in results if n != "full"):
            other = results[name]["curve"][-1]["val_full_softmax"]
            print(f"final: {name} / full = {other / full:.4f} ({100 * (other / full - 1):+.2f}%); "
                  f"ms/step full {results['full']['ms_per_step']:.0f}, {name} "
                  f"{results[name]['ms_per_step']:.0f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "entropy_rate": lang.entropy_rate,
                       "unigram": lang.unigram, "results": results}, fh, indent=1)


if __name__ == "__main__":
    main()
