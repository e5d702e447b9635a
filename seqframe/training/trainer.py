"""The training loop, one for every backend and task; arrays are touched only through Ops.

One optimizer step is one BPTT *window* of one mini-batch::

    batch (B, T) --split in time--> windows of k1 steps --split in rows--> micro-batches
    for each window: for each micro-batch: loss_sum, count, grads = BPTT(window, carried state)
                     grads = sum(grads) / sum(count)   -> accumulation == one larger batch
                     clip (once, after accumulation)  -> optimizer step with the scheduled rate

Truncated BPTT: the hidden state is carried from window to window (and, for stateful tasks, from
batch to batch) as a value, so no gradient flows into the previous window: that is what the
truncation cuts. With ``k2 = bptt_back > k1`` each window is re-run from ``k2 - k1`` steps
earlier with ``loss_from`` set, so gradients reach k2 steps back while weights still update every
k1 steps; the look-back does not cross batch boundaries. Last/mean readouts, bidirectional
models and encoder-decoders need the whole sequence, so their window is always the whole batch.
The trainer reaches the model only through its :class:`~seqframe.engine.topology.Topology`, so
a single stack and an encoder-decoder train through this same loop.

Everything that decides what happens next -- the data cursor, RNG state, carried state, optimizer
slots, clipping statistics, best metric, training-loss accumulators -- is in the checkpoint, so a
resumed run continues bit for bit (see :mod:`seqframe.training.checkpoint`). A step whose loss or
gradient is NaN/Inf updates nothing; :mod:`seqframe.training.guard` decides what happens next.

Data parallel (several processes under torchrun): each rank trains on its shard of every batch
and the step's sums are all-reduced before clipping; the hooks are the ``self.dp`` calls, the
rest is :mod:`seqframe.training.distributed`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..config import to_dict
from ..engine.predictor import task_metrics
from ..engine.state import state_batch_size
from ..engine.topology import as_topology
from ..errors import ConfigError, DataError, NonFiniteError, SeqframeError
from . import guard
from . import windows as win
from .checkpoint import (
    flatten_state,
    load_checkpoint,
    save_checkpoint,
    split_prefix,
    unflatten_state,
)
from .clipping import Clipper, ClipStats
from .distributed import SINGLE, DataParallel
from .loopstate import LoopState
from .optim import build_optimizer, build_schedule
from .progress import InterruptFlag, MetricsLog, ProgressBar
from .seeding import data_seed, seed_streams
from .step import StepResult, TrainStep


class Interrupted(SeqframeError):
    """The user pressed Ctrl-C: a checkpoint was written and the run can be resumed.

    ``exit_code`` is 130 (128 + SIGINT), the shell's convention for a run stopped by Ctrl-C.
    """

    exit_code = 130

    def __init__(self, run_dir: str, step: int, saved: bool):
        self.run_dir, self.step, self.saved = run_dir, step, saved
        where = "a checkpoint was written" if saved else "the last checkpoint was kept"
        super().__init__(
            f"interrupted at step {step}; {where}. Continue with `seqframe run --resume {run_dir}`."
        )


class Trainer:
    """Trains ``params`` of ``model`` on ``task`` with ``ops``; see the module docstring.

    Args:
        config: the resolved :class:`seqframe.config.RunConfig`.
        task: the prepared task; ``spec`` what its ``prepare`` returned.
        model: the :class:`seqframe.engine.model.Model` (or another
        :class:`~seqframe.engine.topology.Topology`, e.g. an encoder-decoder); ``params`` its
        backend arrays (updated in place).
        ops: the backend.
        run_dir: where metrics.jsonl and checkpoints go.
        log: one-line messages (``print`` by default; a no-op when quiet).
        dp: this process's :class:`seqframe.training.distributed.DataParallel` (one process by
        default).
    """

    def __init__(self, config, task, spec, model, ops, params, run_dir, log: Callable = print,
                 dp: DataParallel = SINGLE):
        check_config(config)
        self.config, self.task, self.spec, self.model, self.ops = config, task, spec, model, ops
        self.params, self.run_dir, self.log, self.dp = params, run_dir, log, dp
        self.optimizer = build_optimizer(config, ops)
        self.clipper = Clipper(ops, config.clip_norm, config.clip_value)
        streams = seed_streams(config.seed)
        self.rngs = {"dropout": dp.dropout_rng(streams["dropout"]), "loss": streams["loss"]}
        self.data_seed = data_seed(config.seed)
        self.state = LoopState()
        self.carried: Any = None  # hidden state at the start of the next window, no grad link
        self.metrics = MetricsLog(run_dir / "metrics.jsonl", enabled=dp.is_main)
        self.topology = as_topology(model)
        self.whole = self.topology.reads_whole
        fused = self.topology.fused_recurrence(ops)
        self.path = fused.path if fused is not None else "generic BPTT"
        self.step_fn = TrainStep(model, ops, self.optimizer, self.clipper,
                                 accumulate=config.accumulate, dp=dp, fused=fused)
        self.path_counts: dict[str, int] = {}  # windows run by each recurrence, for the summary
        self.total_steps = win.total_steps(config, task, self.data_seed, self.whole)
        self.schedule = build_schedule(config, self.total_steps)
        self.interrupt = InterruptFlag(log)
        self.bar: ProgressBar | None = None
        self._batches: tuple[int, Any] | None = None
        self._agreed: tuple[tuple, tuple[bool, ...]] | None = None  # (where, flags): _flags
        self._failed: StepResult | None = None  # the last non-finite step, for the guard
        self._start = time.perf_counter()

    # ---- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict]:
        """Everything needed to continue exactly from here: host tensors and JSON metadata.

        Tensors: parameters (``param/NAME``), optimizer slots (``optim/SLOT/NAME``) and the
        carried hidden state (``state/I``); metadata: the resolved config, the task's fitted
        state, optimizer metadata, RNG states, the loop's counters and the clipping statistics.
        Data parallel: the carried state is every rank's rows (a collective call on every rank).
        """
        self.state.metrics_size = self.metrics.size()
        self.state.elapsed = self.elapsed()
        ops = self.ops
        tensors = {f"param/{k}": ops.to_numpy(v) for k, v in self.params.items()}
        optim_tensors, optim_meta = self.optimizer.state_dict()
        tensors.update({f"optim/{k}": v for k, v in optim_tensors.items()})
        state_tensors, layout = flatten_state(self.dp.full_state(ops, self.carried), ops.to_numpy)
        tensors.update(state_tensors)
        meta = {
            "config": to_dict(self.config), "task": self.task.name,
            "task_state": self.task.state_dict(), "backend": ops.name, "dtype": ops.dtype,
            "model": asdict(self.model.config), "path": self.path, "optimizer": optim_meta,
            "rng": {k: rng.bit_generator.state for k, rng in self.rngs.items()},
            "loop": asdict(self.state), "clipping": self.clipper.stats.to_dict(),
            "state_layout": layout,
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, np.ndarray], meta: dict) -> None:
        """Put a :meth:`state_dict` back (parameters updated in place)."""
        ops = self.ops
        self.params.update({k: ops.asarray(v) for k, v in split_prefix(tensors, "param").items()})
        self.optimizer.load_state_dict(split_prefix(tensors, "optim"), meta["optimizer"])
        carried = unflatten_state(tensors, meta["state_layout"], ops.asarray)
        self.carried = self.dp.local_state(carried)
        for key, state in meta["rng"].items():
            self.rngs[key].bit_generator.state = state
        self.state = LoopState.from_dict(meta["loop"])
        self.clipper.stats = ClipStats.from_dict(meta["clipping"])

    def checkpoint_path(self, name: str) -> Path:
        return Path(self.run_dir) / "checkpoints" / name

    def snapshot(self, name: str = "latest") -> None:
        """Write checkpoint ``name`` (``latest`` or ``best``); rank 0 alone writes it."""
        tensors, meta = self.state_dict()
        if self.dp.is_main:  # the one writer; the checkpoint holds every rank's rows
            save_checkpoint(self.checkpoint_path(name), tensors, meta)

    def restore(self, name: str = "latest", keep_lr_scale: bool = False) -> None:
        """Load checkpoint ``name`` into this trainer (resume, or a non-finite rollback)."""
        lr_scale = self.state.lr_scale
        self.load_state_dict(*load_checkpoint(self.checkpoint_path(name)))
        if keep_lr_scale:
            self.state.lr_scale = lr_scale
        self.metrics.truncate(self.state.metrics_size)
        self._start = time.perf_counter() - self.state.elapsed

    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    # ---- the loop ---------------------------------------------------------------------------
    def fit(self) -> LoopState:
        """Train until the step/epoch limit, early stopping, or the time budget.

        Returns:
            The final loop state (``stop_reason`` says why it stopped).

        Raises:
            NonFiniteError: a NaN/Inf loss or gradient under ``nonfinite="stop"`` (or when
                skipping/rolling back did not help).
            Interrupted: Ctrl-C; a checkpoint was written first.
        """
        cfg = self.config
        self.log(f"training on {self.ops.describe()}: {self.path}, "
                 f"{self.total_steps or '?'} optimizer steps planned")
        if cfg.nonfinite == "rollback" and self.state.step == 0:
            self.snapshot()  # something to roll back to before the first update
        self.bar = ProgressBar(self.total_steps, self.state.step,
                               quiet=cfg.quiet or not self.dp.is_main)
        try:
            with self.interrupt:
                # Stop conditions first: a run resumed from its very last checkpoint has nothing
                # left to train.
                self._check_stop()
                while not self.state.finished:
                    self._train_one_batch()
                    self._check_stop()
        except KeyboardInterrupt:
            # A second Ctrl-C (or one outside the main thread) landed mid-step: the parameters
            # may be half-updated, so keep the last checkpoint instead of writing this state.
            raise Interrupted(str(self.run_dir), self.state.step, saved=False) from None
        finally:
            self.bar.close()
        return self.state

    def _check_stop(self) -> None:
        state = self.state
        time_up, interrupted = self._flags()
        reason = self._stop_reason(time_up)
        if reason:
            if state.last_eval_step != state.step:
                self.evaluate()
            state.finished, state.stop_reason = True, reason
            self.snapshot()
            if self.bar is not None:
                self.bar.close()
            self.log(f"stopped after {state.step} steps ({reason})")
        elif interrupted:
            self.snapshot()
            raise Interrupted(str(self.run_dir), state.step, saved=True)

    def _train_one_batch(self) -> None:
        """Train the windows of the batch under the cursor, stopping early at a stop condition."""
        cur = self.state.cursor
        batches = self._epoch_batches(cur.epoch)
        batch = self.dp.shard(batches[cur.batch])  # this rank's rows (all of them in one process)
        k1 = win.stride(batch.length, self.config.bptt, self.whole)
        k2 = max(k1, 0 if self.whole else self.config.bptt_back)
        spans = win.plan_windows(batch.length, k1, k2)
        if cur.window == 0 and (not self.spec.stateful or self.whole
                                or state_batch_size(self.carried) != batch.batch_size):
            self.carried = self.model.zero_state(self.ops, batch.batch_size)
        done = False
        while not done:
            finite = self._step(batch, spans[cur.window])
            cur.window += 1
            if not finite:
                if self._on_nonfinite():
                    return  # rolled back: the cursor now points at the checkpoint's window
                cur.window = len(spans)  # skip the rest of this batch
            done = cur.window == len(spans)
            if done:
                cur.batch, cur.window = cur.batch + 1, 0
                if cur.batch == len(batches):
                    cur.epoch, cur.batch = cur.epoch + 1, 0
                    if self.config.eval_every == 0:
                        self.evaluate()
            if finite:
                self._after_step()
            if self._should_stop():
                return

    def _epoch_batches(self, epoch: int):
        """The task's batches of ``epoch``, asked for once per epoch."""
        if self._batches is None or self._batches[0] != epoch:
            batches = self.task.train_batches(epoch, self.config.batch_size, self.data_seed)
            if len(batches) == 0:
                raise DataError(
                    f"task {self.task.name!r} gave no training batches for epoch {epoch} with "
                    f"batch size {self.config.batch_size}; give it more training data or lower "
                    f"--batch-size.")
            self._batches = (epoch, batches)
        return self._batches[1]

    def _should_stop(self) -> bool:
        """After a window: stop the batch here? (:meth:`_check_stop` then says why.)"""
        time_up, interrupted = self._flags()
        return bool(self._stop_reason(time_up)) or interrupted

    def _stop_reason(self, time_up: bool) -> str:
        """Why training ends now (steps, epochs, early stop, time budget), or ``""``."""
        cfg, state = self.config, self.state
        if cfg.steps is not None and state.step >= cfg.steps:
            return "steps"
        if cfg.steps is None and state.cursor.epoch >= (cfg.epochs or 1):
            return "epochs"
        if cfg.patience > 0 and state.evals_since_best >= cfg.patience:
            return "early_stop"
        return "time_budget" if time_up else ""

    def _flags(self) -> tuple[bool, bool]:
        """(time budget spent, Ctrl-C pressed), agreed by every rank: their clocks differ.

        Asked after every window and again by :meth:`_check_stop` when the batch ends there;
        the answer is kept for that point of training (step and cursor), so the ranks meet for
        it once, not twice.
        """
        cur = self.state.cursor
        where = (self.state.step, cur.epoch, cur.batch, cur.window)
        if self._agreed is not None and self._agreed[0] == where:
            return self._agreed[1]
        budget = self.config.time_budget
        flags = self.dp.agree(budget > 0 and self.elapsed() >= budget, self.interrupt.set)
        self._agreed = (where, flags)
        return flags

    def _step(self, batch, span: win.Span) -> bool:
        """One optimizer step on one window; False when the loss or gradients are not finite."""
        tick = time.perf_counter()
        st = self.state
        lr = self.schedule(st.step) * st.lr_scale
        result = self.step_fn(self.params, win.time_slice(batch, span, self.whole), self.carried,
                              lr, loss_from=span.loss_from, carry_at=span.carry_at,
                              dropout_rng=self.rngs["dropout"], loss_rng=self.rngs["loss"])
        self.path_counts[result.path] = self.path_counts.get(result.path, 0) + 1
        if result.count == 0:  # an all-padding window: nothing to learn, but the state moves on
            self.carried = result.state
            return True
        if not result.finite:
            self._failed = result
            return False
        self.carried = result.state
        self._record(result, lr, time.perf_counter() - tick)
        return True

    def _record(self, result: StepResult, lr: float, seconds: float) -> None:
        """Count a successful step into the loop state and the progress bar."""
        st = self.state
        st.step += 1
        st.consecutive_skips = 0
        st.loss_sum, st.loss_count = st.loss_sum + result.loss_sum, st.loss_count + result.count
        st.timesteps += result.timesteps
        st.norm_sum, st.norm_max = st.norm_sum + result.grad_norm, max(st.norm_max,
                                                                       result.grad_norm)
        st.steps_since_eval += 1
        st.last = {"loss": result.loss, "lr": lr, "grad_norm": result.grad_norm}
        self.bar.update(st.step, result.loss, result.timesteps / max(seconds, 1e-9),
                        result.grad_norm)

    def _on_nonfinite(self) -> bool:
        """Apply the guard's decision about the failed step; True when it rolled back."""
        failed, cfg = self._failed, self.config
        decision = guard.decide(cfg.nonfinite, self.state, failed.loss, failed.grad_norm,
                                last_norm=self.clipper.stats.last_norm, lr=cfg.lr,
                                latest=self.checkpoint_path("latest"))
        if decision.action == "stop":
            raise NonFiniteError(decision.message)
        if decision.action == "skip":
            self.state.skipped += 1
            self.state.consecutive_skips += 1
            self.carried = None  # the state may be poisoned too; the next batch starts fresh
            self.log(f"warning: {decision.message}")
            return False
        rollbacks = self.state.rollbacks + 1  # the checkpoint's own count is older than this one
        self.restore("latest", keep_lr_scale=True)
        st = self.state
        st.rollbacks, st.lr_scale = rollbacks, st.lr_scale * 0.5
        self.log(f"warning: {decision.message}; rolled back to step {st.step}, "
                 f"learning rate x{st.lr_scale:g}")
        return True

    # ---- evaluation, early stopping, checkpoints --------------------------------------------
    def _after_step(self) -> None:
        cfg, st = self.config, self.state
        if cfg.eval_every > 0 and st.step % cfg.eval_every == 0 and st.last_eval_step != st.step:
            self.evaluate()
        if cfg.checkpoint_every > 0 and st.step % cfg.checkpoint_every == 0:
            self.snapshot()

    def predictor(self):
        """The model in eval mode, as the task's evaluation wants it."""
        return self.topology.predictor(self.ops, self.params)

    def evaluate(self) -> dict[str, float]:
        """Validate, log a metrics.jsonl record, track the best model and the patience."""
        st, task = self.state, self.task
        # Rank 0 validates; the others wait for its numbers, so all take the same decisions.
        metrics = self.dp.on_main(lambda: task_metrics(task, self.predictor(), "val"))
        value = metrics[task.metric]
        better = st.best is None or (value < st.best if task.metric_mode == "min"
                                     else value > st.best)
        improved = math.isfinite(value) and better
        last = st.last
        record = {
            "step": st.step, "epoch": st.cursor.epoch, "batch": st.cursor.batch,
            "train_loss": st.loss_sum / st.loss_count if st.loss_count else None,
            "lr": last.get("lr"), "grad_norm": last.get("grad_norm"),
            "grad_norm_mean": st.norm_sum / st.steps_since_eval if st.steps_since_eval else None,
            "grad_norm_max": st.norm_max if st.steps_since_eval else None,
            "timesteps": st.timesteps, "val": metrics, "best": improved,
            "wall_seconds": round(self.elapsed(), 3),  # training time so far (curves vs time)
        }
        self.metrics.append(record)
        st.loss_sum = st.loss_count = st.timesteps = st.norm_sum = st.norm_max = 0.0
        st.steps_since_eval = 0
        st.last_eval_step = st.step
        if self.bar is not None:
            self.bar.show_metric(task.metric, value)
        if improved:
            st.best, st.best_step, st.best_val, st.evals_since_best = value, st.step, metrics, 0
        else:
            st.evals_since_best += 1
        if self.config.checkpoint_every == 0:
            self.snapshot()
        if improved:
            self.snapshot("best")
        return metrics


def check_config(config) -> None:
    """Reject trainer settings that cannot work, with what to change."""
    guard.check_policy(config.nonfinite)
    for key in ("batch_size", "accumulate"):
        if getattr(config, key) < 1:
            raise ConfigError(f"{key} must be at least 1; got {getattr(config, key)}.")
    for key in ("bptt", "bptt_back", "eval_every", "patience", "checkpoint_every"):
        if getattr(config, key) < 0:
            raise ConfigError(f"{key} must be >= 0 (0 = default); got {getattr(config, key)}.")
    if config.bptt_back and config.bptt_back < config.bptt:
        raise ConfigError(f"bptt_back (k2={config.bptt_back}) must be >= bptt "
                          f"(k1={config.bptt}): each update backpropagates at least its window.")
    if config.bptt_back and not config.bptt:
        raise ConfigError("bptt_back needs bptt > 0: with bptt 0 a window is the whole batch.")
    for key in ("steps", "epochs"):
        value = getattr(config, key)
        if value is not None and value < 1:
            raise ConfigError(f"--{key} must be at least 1; got {value}.")


