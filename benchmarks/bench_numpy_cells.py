"""NumPy BPTT vs PyTorch's fused recurrent layers on a char-LM training step.

Workload (the char-rnn shape): one-hot inputs V=65, H=256, one layer, B=32, T=100, float32;
one step = forward + backward + plain SGD update. PyTorch runs ``nn.RNN``/``nn.GRU``/``nn.LSTM``
plus ``nn.Linear`` readout, ``cross_entropy`` and ``optim.SGD`` at the same thread count, in the
same process. Rounds of numpy and torch steps alternate, so both see the same machine load; the
table reports the median wall-clock ms/step of the rounds, the median process CPU ms/step (which a
busy, shared machine disturbs far less than wall time), and the numpy/torch ratios of both.

Usage::

    python benchmarks/bench_numpy_cells.py [--threads 1] [--rounds 5] [--steps 5] [--cells ...]

The thread count must be fixed before NumPy loads its BLAS, so it is read from ``--threads``
before anything else is imported.
"""

from __future__ import annotations

import argparse
import sys
import time

import _threads


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds; the median is kept")
    parser.add_argument("--steps", type=int, default=5, help="training steps per round")
    parser.add_argument("--cells", nargs="+", default=["rnn", "gru", "lstm"])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--vocab", type=int, default=65)
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    _threads.pin(ARGS.threads)

import numpy as np  # noqa: E402  (after the thread count is set)

from seqframe.cells import GRUCell, LSTMCell, RNNCell  # noqa: E402
from seqframe.engine.bptt import to_window, window_loss_and_grad  # noqa: E402
from seqframe.engine.model import Model, ModelConfig  # noqa: E402
from seqframe.task import Batch  # noqa: E402

CELLS = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}
LR = 0.1


def _data(args, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, args.vocab, size=(args.batch, args.length + 1))
    inputs = np.eye(args.vocab, dtype=np.float32)[ids[:, :-1]]  # (B, T, V) one-hot
    return inputs, ids[:, 1:]


def _timed_round(step, steps: int) -> tuple[float, float]:
    """(wall ms, process CPU ms) per step over one round of ``steps`` steps."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    return ((time.perf_counter() - wall) / steps * 1e3, (time.process_time() - cpu) / steps * 1e3)


def compare(numpy_step, torch_step, args) -> dict[str, float]:
    """Median wall and CPU ms/step of each, from alternating rounds after one warm-up step each."""
    numpy_step()  # warm-up: first-touch allocations, BLAS buffers
    torch_step()
    rounds: dict[str, list] = {"numpy": [], "torch": []}
    for _ in range(args.rounds):
        rounds["numpy"].append(_timed_round(numpy_step, args.steps))
        rounds["torch"].append(_timed_round(torch_step, args.steps))
    out = {}
    for name, samples in rounds.items():
        out[f"{name}_wall"] = float(np.median([s[0] for s in samples]))
        out[f"{name}_cpu"] = float(np.median([s[1] for s in samples]))
    return out


def numpy_step(cell_name: str, args):
    from seqframe_numpy import NumpyOps

    ops = NumpyOps("float32")
    cfg = ModelConfig(cell_name, args.vocab, args.hidden, args.vocab)
    model = Model(cfg, CELLS[cell_name]())
    params = {k: ops.asarray(v) for k, v in model.init_params(0).items()}
    inputs, targets = _data(args)
    mask = np.ones(targets.shape, bool)
    window = to_window(ops, Batch(inputs, targets, mask, np.ones(args.batch, bool)))

    def step():
        result = window_loss_and_grad(model, ops, params, window)
        scale = LR / result.count
        for name, grad in result.grads.items():
            params[name] -= scale * grad

    return step


def torch_step(cell_name: str, args):
    import torch

    torch.set_num_threads(args.threads)
    layer_cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell_name]
    torch.manual_seed(0)
    rnn = layer_cls(args.vocab, args.hidden, batch_first=True)
    readout = torch.nn.Linear(args.hidden, args.vocab)
    opt = torch.optim.SGD([*rnn.parameters(), *readout.parameters()], lr=LR)
    inputs, targets = _data(args)
    x, y = torch.from_numpy(inputs), torch.from_numpy(targets).reshape(-1)

    def step():
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(x)
        loss = torch.nn.functional.cross_entropy(readout(out).reshape(-1, args.vocab), y)
        loss.backward()
        opt.step()

    return step


def main(args) -> None:
    import torch

    print(
        f"char-LM step: V={args.vocab} one-hot, H={args.hidden}, 1 layer, B={args.batch}, "
        f"T={args.length}, float32, forward+backward+SGD; threads={args.threads}; "
        f"median of {args.rounds} rounds x {args.steps} steps",
        file=sys.stderr,
    )
    print(f"numpy {np.__version__}, torch {torch.__version__}", file=sys.stderr)
    rows = []
    for cell in args.cells:
        r = compare(numpy_step(cell, args), torch_step(cell, args), args)
        rows.append((cell, r))
        print(f"  {cell}: numpy {r['numpy_wall']:.1f} ms ({r['numpy_cpu']:.1f} cpu), "
              f"torch {r['torch_wall']:.1f} ms ({r['torch_cpu']:.1f} cpu)", file=sys.stderr)
    print("| cell | numpy ms/step | torch ms/step | numpy / torch | numpy CPU ms | torch CPU ms "
          "| CPU ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for cell, r in rows:
        print(f"| {cell} | {r['numpy_wall']:.1f} | {r['torch_wall']:.1f} | "
              f"{r['numpy_wall'] / r['torch_wall']:.2f}x | {r['numpy_cpu']:.1f} | "
              f"{r['torch_cpu']:.1f} | {r['numpy_cpu'] / r['torch_cpu']:.2f}x |")


if __name__ == "__main__":
    main(ARGS)
