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
import signal
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
from ..errors import DataError, NonFiniteError, SeqframeError
from . import guard
from . import windows as win
from .checkpoint import META as META_NAME
from .checkpoint import (
    check_params,
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
from .progress import InterruptFlag, MetricsLog, ProgressBar, describe_stop
from .seeding import data_seed, seed_streams
from .settings import check_config
from .step import StepResult, TrainStep


class Interrupted(SeqframeError):
    """Ctrl-C or SIGTERM: a checkpoint was written and the run can be resumed.

    ``exit_code`` is 128 + the signal, the shell's convention: 130 for Ctrl-C (SIGINT, the
    class's default), 143 for SIGTERM (what schedulers send before they kill a job).
    """

    exit_code = 130

    def __init__(self, run_dir: str, step: int, saved: bool, signum: int = signal.SIGINT):
        self.run_dir, self.step, self.saved, self.signum = run_dir, step, saved, signum
        self.exit_code = 128 + int(signum)
        where = "a checkpoint was written" if saved else "the last checkpoint was kept"
        how = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
        super().__init__(
            f"interrupted{how} at step {step}; {where}. Continue with `seqframe run --resume "
            f"{run_dir}`."
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
        self.eval_every = win.evaluation_interval(config, self.total_steps)
        self.interrupt = InterruptFlag(log)
        self.bar: ProgressBar | None = None
        self._batches: tuple[int, Any] | None = None
        self._agreed: tuple[tuple, tuple[bool, ...]] | None = None  # (where, flags): _flags
        self._failed: StepResult | None = None  # the last non-finite step, for the guard
        self.data: dict | None = None  # the data fingerprint (seqframe.runs.fingerprint)
        self._start = time.perf_counter()

    # ---- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict]:
        """Everything needed to continue exactly from here: host tensors and JSON metadata.

        Tensors: parameters (``param/NAME``), optimizer slots (``optim/SLOT/NAME``) and the
        carried hidden state (``state/I``); metadata: the resolved config, the task's fitted
        state, optimizer metadata, RNG states, the loop's counters and the clipping statistics.
        Data parallel: the carried state is every rank's rows (a collective call on every rank).
        """
        self.metrics.sync()  # the size recorded below is on disk before the checkpoint is
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
            "state_layout": layout, "data": self.data,
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, np.ndarray], meta: dict,
                        where: Path | str = "the checkpoint") -> None:
        """Put a :meth:`state_dict` back (parameters updated in place).

        Raises:
            DataError: the checkpoint does not hold what :meth:`state_dict` writes for this
                model (edited, damaged, or from another model), naming what is wrong.
        """
        params = split_prefix(tensors, "param")
        check_params(params, {k: tuple(v.shape) for k, v in self.params.items()},
                     meta.get("dtype") if isinstance(meta, dict) else None, where)
        try:
            self._load(tensors, params, meta)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise DataError(
                f"checkpoint {str(where)!r} cannot be resumed: its {META_NAME} is not what "
                f"seqframe writes ({type(exc).__name__}: {exc}). It was edited or damaged; "
                f"resume from another copy, or start the run again.") from None

    def _load(self, tensors: dict[str, np.ndarray], params: dict[str, np.ndarray],
              meta: dict) -> None:
        ops = self.ops
        self.optimizer.load_state_dict(split_prefix(tensors, "optim"), meta["optimizer"])
        carried = unflatten_state(tensors, meta["state_layout"], ops.asarray)
        rngs = meta["rng"]
        # Checkpoints written before sampled losses had no "loss" stream: it starts from its seed,
        # which is where a run that never drew from it would be anyway.
        if not set(rngs) <= set(self.rngs) or "dropout" not in rngs:
            raise KeyError(f"random generators {sorted(rngs)} instead of {sorted(self.rngs)}")
        for key, state in rngs.items():
            self.rngs[key].bit_generator.state = state
        loop = LoopState.from_dict(meta["loop"])
        stats = ClipStats.from_dict(meta["clipping"])
        self.params.update({k: ops.asarray(v) for k, v in params.items()})
        self.carried = self.dp.local_state(carried)
        self.state, self.clipper.stats = loop, stats
        self.data = meta.get("data")

    def checkpoint_path(self, name: str) -> Path:
        return Path(self.run_dir) / "checkpoints" / name

    def snapshot(self, name: str = "latest") -> None:
        """Write checkpoint ``name`` (``latest`` or ``best``); rank 0 alone writes it."""
        tensors, meta = self.state_dict()
        if self.dp.is_main:  # the one writer; the checkpoint holds every rank's rows
            save_checkpoint(self.checkpoint_path(name), tensors, meta)

    def restore(self, name: str = "latest", keep_lr_scale: bool = False) -> None:
        """Load checkpoint ``name`` into this trainer (resume, or a non-finite rollback)."""
        lr_scale, data = self.state.lr_scale, self.data
        path = self.checkpoint_path(name)
        self.load_state_dict(*load_checkpoint(path), where=path)
        if keep_lr_scale:  # a rollback: the run's own fingerprint and lr scale stay
            self.state.lr_scale, self.data = lr_scale, data
        warning = self.metrics.restore(self.state.metrics_size)
        if warning:
            self.log(f"warning: {warning}")
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
                 f"{self.total_steps or '?'} optimizer steps planned; "
                 f"{win.describe_interval(cfg, self.eval_every, self.total_steps)}")
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
            self.log(f"stopped after {state.step} steps: {describe_stop(state, self.config)}")
        elif interrupted:
            self.snapshot()
            raise Interrupted(str(self.run_dir), state.step, saved=True,
                              signum=self.interrupt.signum or signal.SIGINT)

    def _train_one_batch(self) -> None:
        """Train the windows of the batch under the cursor, stopping early at a stop condition."""
        cur = self.state.cursor
        batches = self._epoch_batches(cur.epoch)
        if not 0 <= cur.batch < len(batches):
            raise DataError(
                f"the checkpoint's data cursor points at batch {cur.batch} of epoch {cur.epoch}, "
                f"but the task gives {len(batches)} batches (batch size "
                f"{self.config.batch_size}): the data or the checkpoint changed since it was "
                f"written. Resume with the data and settings the run was started with.")
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
                    if self.eval_every == 0:
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
                              dropout_rng=self.rngs["dropout"], loss_rng=self.rngs["loss"],
                              loss_limit=self.loss_limit())
        self.path_counts[result.path] = self.path_counts.get(result.path, 0) + 1
        if result.count == 0:  # an all-padding window: nothing to learn, but the state moves on
            self.carried = result.state
            return True
        if not result.updated:  # NaN/Inf, or a loss above loss_limit: nothing was updated
            self._failed = result
            return False
        self.carried = result.state
        self._record(result, lr, time.perf_counter() - tick)
        return True

    def _record(self, result: StepResult, lr: float, seconds: float) -> None:
        """Count a successful step into the loop state and the progress bar."""
        st = self.state
        if st.loss_reference is None:  # the untrained model's loss: what explode_factor scales
            st.loss_reference = result.loss
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

    def loss_limit(self) -> float:
        """The step loss above which training counts as exploded (see ``explode_factor``).

        ``explode_factor`` times the first loss the run measured -- the first optimizer step's,
        i.e. the untrained model's loss on its first batch, taken before any update -- on a
        scale of at least 1: seqframe's losses are of order 1 at the start (inputs and targets
        are scaled), so a small first loss does not make the limit tiny. The first validation
        would come too late: a run that diverges from its first steps (SGD with lr 1) has
        overflowed before a late ``--eval-every``. Infinite when the factor is 0.
        """
        reference, factor = self.state.loss_reference, self.config.explode_factor
        if reference is None or not factor > 0 or not math.isfinite(reference):
            return math.inf
        return factor * max(abs(reference), 1.0)

    def _on_nonfinite(self) -> bool:
        """Apply the guard's decision about the failed step; True when it rolled back."""
        failed, cfg = self._failed, self.config
        exploded = None
        if failed.finite:  # finite but above the limit
            exploded = (self.state.loss_reference, cfg.explode_factor)
        decision = guard.decide(cfg.nonfinite, self.state, failed.loss, failed.grad_norm,
                                last_norm=self.clipper.stats.last_norm, lr=cfg.lr,
                                latest=self.checkpoint_path("latest"), exploded=exploded)
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
        every = self.eval_every
        if every > 0 and st.step % every == 0 and st.last_eval_step != st.step:
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
        if improved:
            st.best, st.best_step, st.best_val, st.evals_since_best = value, st.step, metrics, 0
        else:
            st.evals_since_best += 1
        if self.bar is not None:
            also = getattr(task, "baseline_metric", None)
            self.bar.show_validation(metrics, task.metric, st.best, also and also[0])
        # `best` first: a crash between the two leaves a `latest` from before this evaluation,
        # and the resumed run repeats it exactly and writes the same `best` again; the other
        # order could leave a `latest` that believes in a `best` that was never written.
        if improved:
            self.snapshot("best")
        if self.config.checkpoint_every == 0:
            self.snapshot()
        return metrics
