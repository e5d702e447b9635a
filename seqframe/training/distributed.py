"""Data-parallel training: N processes ("ranks") train one model with DDP semantics.

The processes are started by PyTorch's ``torchrun`` (directly, or by ``seqframe run --nproc N``,
see :func:`launch_from_argv`) and find each other through its environment variables ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK``. Every optimizer step::

    global batch (B rows) --rank r keeps rows [r*B/N, (r+1)*B/N)--> its shard
    BPTT over the shard's windows and micro-batches -> loss sum, target count, gradient sums
    all-reduce (sum) of gradients, loss sums, counts, time steps  -> the global sums, on every rank
    gradients / global count, clip, optimizer step                -> the same update on every rank

seqframe's gradients are sums divided by the step's target count, so this is the single-process
step on the whole batch, up to float rounding; clipping and the optimizer see the global gradient.
Parameters start equal (same seed) and receive bitwise-equal updates, so they stay equal without
being broadcast. Stateful streams (char-LM) are sharded by row: each rank carries the hidden state
of its own rows; a checkpoint gathers them, so it holds the whole batch's state, as a single
process's checkpoint does. Dropout masks are drawn for the whole batch on every rank and sliced
(:class:`ShardedRNG`), so they are the single process's masks too.

Rank 0 validates (the others wait for its numbers, which keeps every rank's early-stopping and
best-checkpoint decisions identical), and alone writes files and logs. Core never imports torch:
the collective operations come from the backend (``ops.collective()``, provided by the torch
backend in :mod:`seqframe_torch.collective`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..engine.state import concat_states, map_state, state_batch_size, state_rows
from ..errors import ConfigError, RunFailedError, SeqframeError
from ..task import Batch
from .windows import micro_batches

TIMEOUT_ENV = "SEQFRAME_DIST_TIMEOUT"
DEFAULT_TIMEOUT = 600.0  # seconds a rank waits for the others before giving up


class DistributedError(RunFailedError):
    """The ranks lost each other: one died, was killed, or stopped answering (exit code 1)."""


class MainRankError(SeqframeError):
    """Raised on the other ranks when rank 0 failed with a user error; carries its exit code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class World:
    """Where this process stands: ``rank`` of ``size`` processes, ``local_rank`` on its host."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0


def env_world(environ: dict[str, str] | None = None) -> World:
    """The world torchrun describes in the environment (one process when it is not set).

    Raises:
        ConfigError: the variables are not integers, or do not fit together.
    """
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return World()
    try:
        size = int(env["WORLD_SIZE"])
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ConfigError(
            f"the data-parallel environment is not understood: WORLD_SIZE={env.get('WORLD_SIZE')!r}"
            f", RANK={env.get('RANK')!r}, LOCAL_RANK={env.get('LOCAL_RANK')!r} (integers "
            f"expected). Start the processes with torchrun, which sets them.") from None
    if size < 1 or not 0 <= rank < size or local < 0:
        raise ConfigError(f"RANK={rank} does not fit WORLD_SIZE={size} (0 <= RANK < WORLD_SIZE "
                          f"expected). Start the processes with torchrun, which sets them.")
    return World(rank, size, local)


def timeout_seconds(environ: dict[str, str] | None = None) -> float:
    """How long a collective waits for the other ranks (``SEQFRAME_DIST_TIMEOUT``, seconds)."""
    raw = (os.environ if environ is None else environ).get(TIMEOUT_ENV, "")
    if not raw.strip():
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"{TIMEOUT_ENV}={raw!r} must be a positive number of seconds (default "
                          f"{DEFAULT_TIMEOUT:g}).")
    return value


def shard_bounds(rows: int, rank: int, size: int) -> tuple[int, int]:
    """Rows ``[rank*rows/size, (rank+1)*rows/size)``: equal shards when size divides rows."""
    return rows * rank // size, rows * (rank + 1) // size


def check_run(config: Any, world: World) -> None:
    """Reject a new run's data-parallel settings that cannot work, before any process waits.

    Raises:
        ConfigError: ``--nproc`` without a launcher, disagreeing with torchrun, or a batch size
            the ranks cannot share equally.
    """
    if config.nproc < 1:
        raise ConfigError(f"--nproc must be at least 1; got {config.nproc}.")
    if world.size == 1 and config.nproc > 1:
        raise ConfigError(
            f"nproc={config.nproc} needs the processes started for it: use the command line "
            f"(`seqframe run --nproc {config.nproc} ...` starts torchrun) or `torchrun "
            f"--nproc-per-node {config.nproc} -m seqframe run ...`.")
    if config.nproc not in (1, world.size):
        raise ConfigError(f"--nproc {config.nproc} disagrees with the {world.size} processes "
                          f"torchrun started; drop --nproc under torchrun.")
    if world.size > 1 and config.sparse_grads:
        # each rank touches its own rows: the sum over ranks is not sparse in the same rows
        raise ConfigError(f"--sparse-grads does not combine with data parallelism ({world.size} "
                          f"processes) yet; drop one of them.")
    if config.batch_size % world.size:
        raise ConfigError(
            f"--batch-size {config.batch_size} cannot be split over {world.size} processes: each "
            f"takes an equal share of every batch. Use a multiple of {world.size}, e.g. "
            f"{(config.batch_size // world.size + 1) * world.size}.")


def check_resume(run_nproc: int, world: World, run_dir: Any) -> None:
    """A run resumes only with the number of processes it was trained with.

    Raises:
        ConfigError: naming both numbers.
    """
    if run_nproc != world.size:
        raise ConfigError(
            f"run {str(run_dir)!r} was trained with {run_nproc} process(es) but this resume has "
            f"{world.size}; resume it with the same number: `seqframe run --resume {run_dir}"
            f"{'' if run_nproc == 1 else f' --nproc {run_nproc}'}`.")


class Collective(Protocol):
    """What a backend's ``ops.collective()`` returns (see :mod:`seqframe_torch.collective`)."""

    rank: int
    world_size: int
    is_main: bool

    def all_reduce_sum(self, arrays: list[Any]) -> list[Any]:
        """Element-wise sums over the ranks of backend arrays; every rank gets the same result."""

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (small picklable Python data)."""

    def all_gather_object(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""

    def close(self) -> None: ...


class ShardedRNG:
    """A dropout generator that draws masks for the global batch and hands out this rank's rows.

    Every rank draws whole-batch masks and keeps rows ``offset:offset + B_local`` of each draw
    (:meth:`select` says which, before each micro-batch). The stream stays in step on every rank,
    so the checkpoint's generator state is every rank's; with one micro-batch per step (no
    ``--accumulate``) the masks are exactly a single process's. With ``--accumulate k`` every
    micro-batch draws a whole-batch mask, so the masks differ from a single process's (which
    draws micro-batch-sized ones): the same distribution, not the same numbers.
    """

    def __init__(self, rng: np.random.Generator):
        self.rng, self.global_rows, self.offset = rng, 0, 0

    @property
    def bit_generator(self):
        return self.rng.bit_generator

    def select(self, global_rows: int, offset: int) -> None:
        self.global_rows, self.offset = global_rows, offset

    def random(self, size: tuple[int, ...]) -> np.ndarray:
        full = self.rng.random((self.global_rows, *tuple(size)[1:]))
        return full[self.offset:self.offset + size[0]]


class DataParallel:
    """The trainer's side of data parallelism; with no collective every method is the identity.

    Args:
        collective: the backend's collective, or None for one process.
        ops: the backend the collective works on.
    """

    def __init__(self, collective: Collective | None = None, ops: Any = None):
        self.collective, self.ops = collective, ops
        self.rank = collective.rank if collective else 0
        self.size = collective.world_size if collective else 1
        self.is_main = self.rank == 0
        self.run_dir: Any = None  # named in the message when the ranks lose each other
        self.global_rows, self.offset = 0, 0  # the batch being sharded, this rank's first row

    @property
    def active(self) -> bool:
        return self.collective is not None

    def shard(self, batch: Batch) -> Batch:
        """This rank's rows of ``batch`` (remembered: the micro-batches come from them)."""
        if not self.active:
            return batch
        lo, hi = shard_bounds(batch.batch_size, self.rank, self.size)
        self.global_rows, self.offset = batch.batch_size, lo
        return batch.rows(lo, hi)

    def micro_batches(self, local_rows: int, accumulate: int) -> list[tuple[int, int]]:
        """Row ranges of the shard's micro-batches, as many on every rank (some maybe empty)."""
        if not self.active:
            return micro_batches(local_rows, accumulate)
        return micro_batches(local_rows, accumulate, most=-(-self.global_rows // self.size))

    def before_micro(self, skip_draws: Callable[[], None], rng, start: int, stop: int) -> bool:
        """Point the dropout stream at shard rows ``start:stop``; False when there are none.

        An empty micro-batch still draws (and drops) its window's masks (``skip_draws``, the
        model's :meth:`~seqframe.engine.topology.Topology.skip_draws`), so that every rank's
        stream stays in step with rank 0's, whose state the checkpoints keep.
        """
        if not self.active:
            return True
        rng.select(self.global_rows, self.offset + start)
        if stop > start:
            return True
        skip_draws()
        return False

    def reduce(self, ops, loss_sum: float, count: float, timesteps: float, grads: dict):
        """Global sums of one step's loss, target count, time steps and gradients."""
        if not self.active:
            return loss_sum, count, timesteps, grads
        names = list(grads)
        totals = ops.asarray(np.array([loss_sum, count, timesteps]))  # (3,)
        summed = self._call("all-reduce", self.collective.all_reduce_sum,
                            [grads[k] for k in names] + [totals])
        host = ops.to_numpy(summed[-1])
        grads = dict(zip(names, summed[:-1], strict=True))
        return float(host[0]), float(host[1]), float(host[2]), grads

    def agree(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag true on every rank when it is true on any (stop conditions, Ctrl-C)."""
        if not self.active:
            return tuple(bool(f) for f in flags)
        votes = self.ops.asarray(np.array(flags, dtype=float))  # (len(flags),)
        summed = self._call("agreement", self.collective.all_reduce_sum, [votes])[0]
        return tuple(bool(v > 0) for v in self.ops.to_numpy(summed))

    def on_main(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` computed on rank 0 and handed to every rank (its user errors raised on all)."""
        if not self.active:
            return fn()
        outcome, error = None, None
        if self.is_main:
            try:
                outcome = ("ok", fn())
            except SeqframeError as exc:
                error, outcome = exc, ("error", str(exc), int(exc.exit_code))
        outcome = self._call("broadcast", self.collective.broadcast_object, outcome)
        if error is not None:
            raise error
        if outcome[0] == "error":
            raise MainRankError(outcome[1], outcome[2])
        return outcome[1]

    def full_state(self, ops, carried: Any) -> Any:
        """Every rank's rows of the carried state, concatenated in rank order (the global state)."""
        if not self.active or carried is None:
            return carried
        parts = self._call("gather", self.collective.all_gather_object,
                           map_state(carried, ops.to_numpy))
        return concat_states(ops, [map_state(p, ops.asarray) for p in parts])

    def local_state(self, carried: Any) -> Any:
        """This rank's rows of a global carried state (after loading a checkpoint)."""
        if not self.active or carried is None:
            return carried
        return state_rows(carried, *shard_bounds(state_batch_size(carried), self.rank, self.size))

    def dropout_rng(self, rng: np.random.Generator):
        return ShardedRNG(rng) if self.active else rng

    def _call(self, what: str, fn: Callable, *args: Any) -> Any:
        try:
            return fn(*args)
        except DistributedError as exc:
            latest = Path(self.run_dir or ".") / "checkpoints" / "latest"
            if self.run_dir is None or not latest.exists():
                raise DistributedError(f"{exc} No checkpoint had been written yet.") from None
            raise DistributedError(
                f"{exc} The last checkpoint in {latest} is intact; continue with `seqframe run "
                f"--resume {self.run_dir}` ({self.size} processes again).") from None


SINGLE = DataParallel()  # the trainer's default; never changed


@contextlib.contextmanager
def session(ops: Any, world: World) -> Iterator[DataParallel]:
    """The :class:`DataParallel` of this process for ``ops``; joins the other ranks if any.

    On ranks other than 0 standard output is silenced for the rest of the process (rank 0 alone
    prints the summary); their errors still reach standard error.

    Raises:
        ConfigError: several processes but a backend without collective operations.
    """
    if world.size == 1:
        yield DataParallel()
        return
    collective = ops.collective(timeout=timeout_seconds())
    if collective is None:
        raise ConfigError(f"backend {ops.name!r} cannot train data-parallel ({world.size} "
                          f"processes); use --backend torch, or run a single process.")
    if not collective.is_main:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives with the process
    try:
        yield DataParallel(collective, ops)
    finally:
        collective.close()
