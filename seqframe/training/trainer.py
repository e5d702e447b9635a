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
k1 steps; the look-back does not cross batch boundaries. Last/mean readouts and bidirectional
models need the whole sequence, so their window is always the whole batch.

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
from typing import Any

from ..engine import windows as win
from ..engine.predictor import (
    ModelPredictor,
    concat_states,
    state_batch_size,
    state_rows,
    task_metrics,
)
from ..errors import ConfigError, DataError, SeqframeError
from .checkpoint import load_training, save_training
from .clipping import Clipper
from .distributed import SINGLE, DataParallel
from .guard import check_policy, on_nonfinite
from .loopstate import LoopState
from .optim import build_optimizer, build_schedule
from .progress import InterruptFlag, MetricsLog, ProgressBar
from .seeding import data_seed, seed_streams


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
        model: the :class:`seqframe.engine.model.Model`; ``params`` its backend arrays (updated in
        place).
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
        self.rngs = {"dropout": dp.dropout_rng(streams["dropout"])}
        self.data_seed = data_seed(config.seed)
        self.state = LoopState()
        self.carried: Any = None  # hidden state at the start of the next window, no grad link
        self.metrics = MetricsLog(run_dir / "metrics.jsonl", enabled=dp.is_main)
        self.whole = spec.readout != "every_step" or model.config.bidirectional
        self.fused = ops.fused_window(model)
        self.path = "fused" if self.fused is not None else "generic"
        self.total_steps = win.total_steps(config, task, self.data_seed, self.whole)
        self.schedule = build_schedule(config, self.total_steps)
        self.interrupt = InterruptFlag(log)
        self.bar: ProgressBar | None = None
        self._batches: tuple[int, Any] | None = None
        self._agreed: tuple[tuple, tuple[bool, ...]] | None = None  # (where, flags): _flags
        self._start = time.perf_counter()

    # ---- checkpoints ------------------------------------------------------------------------
    def snapshot(self, name: str = "latest") -> None:
        """Write checkpoint ``name`` of everything needed to continue exactly from here."""
        self.state.metrics_size = self.metrics.size()
        self.state.elapsed = self.elapsed()
        local, self.carried = self.carried, self.dp.full_state(self.ops, self.carried)
        try:
            if self.dp.is_main:  # the one writer; the checkpoint holds every rank's rows
                save_training(self, name)
        finally:
            self.carried = local

    def restore(self, name: str = "latest", keep_lr_scale: bool = False) -> None:
        """Load checkpoint ``name`` into this trainer (resume, or a non-finite rollback)."""
        lr_scale = self.state.lr_scale
        load_training(self, name)
        self.carried = self.dp.local_state(self.carried)
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
        self.log(f"training on {self.ops.describe()}: {self.path} BPTT path, "
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
        spans = win.plan_windows(batch.length, self.k1(batch), self.k2(batch))
        if cur.window == 0 and (not self.spec.stateful or self.whole
                                or state_batch_size(self.carried) != batch.batch_size):
            self.carried = self.model.zero_state(self.ops, batch.batch_size)
        done = False
        while not done:
            finite = self._step(batch, spans[cur.window])
            cur.window += 1
            if not finite:
                if on_nonfinite(self, *self._nonfinite_info):
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

    def k1(self, batch) -> int:
        return batch.length if self.whole or self.config.bptt == 0 else self.config.bptt

    def k2(self, batch) -> int:
        return max(self.k1(batch), 0 if self.whole else self.config.bptt_back)

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
        loss_sum, count, grads, next_state, timesteps = self._accumulate(batch, span)
        # Data parallel: the global sums, so clipping and the optimizer see the global gradient.
        loss_sum, count, timesteps, grads = self.dp.reduce(self.ops, loss_sum, count, timesteps,
                                                           grads)
        if count == 0:  # an all-padding window: nothing to learn, but the state moves on
            self.carried = next_state
            return True
        loss = loss_sum / count
        grads = {k: g / count for k, g in grads.items()}
        grads, norm, _ = self.clipper(grads)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            self._nonfinite_info = (loss, norm)
            return False
        lr = self.schedule(self.state.step) * self.state.lr_scale
        self.optimizer.step(self.params, grads, lr)
        self.carried = next_state
        st = self.state
        st.step += 1
        st.consecutive_skips = 0
        st.loss_sum, st.loss_count = st.loss_sum + loss_sum, st.loss_count + count
        st.timesteps += timesteps
        st.norm_sum, st.norm_max = st.norm_sum + norm, max(st.norm_max, norm)
        st.steps_since_eval += 1
        st.last = {"loss": loss, "lr": lr, "grad_norm": norm}
        self.bar.update(st.step, loss, timesteps / max(time.perf_counter() - tick, 1e-9), norm)
        return True

    def _accumulate(self, batch, span: win.Span):
        """Sum loss, count and gradients of one window over the micro-batches of ``batch``."""
        ops = self.ops
        window_batch = win.time_slice(batch, span, self.whole)
        rows = self.dp.micro_batches(batch.batch_size, self.config.accumulate)
        loss_sum, count, grads, states = None, 0.0, None, []
        for start, stop in rows:
            micro = window_batch.rows(start, stop) if len(rows) > 1 else window_batch
            state_in = state_rows(self.carried, start, stop) if len(rows) > 1 else self.carried
            if not self.dp.before_micro(self.model, self.rngs["dropout"], start, stop,
                                        micro.length):
                states.append(state_in)  # a rank's empty shard of a short batch
                continue
            window = win.to_window(ops, micro, span.loss_from)
            # carry_at 0: the next window re-runs from this one's start, so it needs state_in.
            result = self._run_window(window, state_in, span.carry_at or None)
            loss_sum = result.loss_sum if loss_sum is None else loss_sum + result.loss_sum
            count += win.as_float(ops, result.count)
            grads = dict(result.grads) if grads is None else {
                k: grads[k] + g for k, g in result.grads.items()}
            states.append(state_in if span.carry_at == 0 else result.state)
        next_state = states[0] if len(states) == 1 else concat_states(ops, states)
        timesteps = float(batch.mask[:, span.start:span.stop].sum())
        if grads is None:  # nothing on this rank; it still takes part in the sums
            loss_sum, grads = 0.0, {k: ops.zeros_like(p) for k, p in self.params.items()}
        return ops.item(loss_sum), count, grads, next_state, timesteps

    def _run_window(self, window, state, carry_at):
        """BPTT over one window: the backend's fused kernel when it has one, else the reference."""
        if self.fused is not None:
            return self.fused(self.params, window, state, dropout_rng=self.rngs["dropout"],
                              carry_at=carry_at)
        from ..engine.bptt import window_loss_and_grad

        return window_loss_and_grad(self.model, self.ops, self.params, window, state,
                                    dropout_rng=self.rngs["dropout"], carry_at=carry_at)

    # ---- evaluation, early stopping, checkpoints --------------------------------------------
    def _after_step(self) -> None:
        cfg, st = self.config, self.state
        if cfg.eval_every > 0 and st.step % cfg.eval_every == 0 and st.last_eval_step != st.step:
            self.evaluate()
        if cfg.checkpoint_every > 0 and st.step % cfg.checkpoint_every == 0:
            self.snapshot()

    def predictor(self) -> ModelPredictor:
        return ModelPredictor(self.model, self.ops, self.params)

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
    check_policy(config.nonfinite)
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


