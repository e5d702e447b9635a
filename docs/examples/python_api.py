"""A tour of seqframe's Python API: train a forecaster, evaluate it, reopen it on another backend,
forecast with it, and see what an error looks like. Run from the repository root::

    python docs/examples/python_api.py [--backend torch] [--steps 300] [--out runs/api-tour]

docs/reference/python-api.md explains each call.
"""

from __future__ import annotations

import argparse

import seqframe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="numpy", help="backend to reopen the run on")
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps to train")
    parser.add_argument("--out", default="runs/api-tour", help="the run directory (new)")
    args = parser.parse_args()

    # Train: any run-configuration key is a keyword; task options go in `options`.
    run = seqframe.train(task="timeseries", backend="numpy", steps=args.steps, out=args.out,
                         options={"horizon": 12}, quiet=True)
    test = run.summary["metrics"]["test"]
    print(f"trained {run.dir}: test MAPE {test['mape']:.2f}% "
          f"(seasonal naive {run.summary['baselines']['seasonal_naive']['mape']:.2f}%)")

    # Reopen the best checkpoint on another backend: checkpoints are backend-neutral.
    again = seqframe.load(run.dir, backend=args.backend)
    print(f"on {args.backend}: test MAPE {again.evaluate('test')['mape']:.2f}%")

    # The task's capabilities: a forecasting run forecasts past the end of its series.
    for path in again.forecast(horizon=12):
        print(f"wrote {path}")

    # Mistakes raise SeqframeError subclasses with the message the command line prints.
    try:
        again.sample(prime="ROMEO:")
    except seqframe.UsageError as error:
        print(f"as expected: {error}")


if __name__ == "__main__":
    main()
