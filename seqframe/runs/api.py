"""The Python API: train, resume and reopen runs from Python or a notebook.

Everything the ``seqframe`` command does goes through these functions; the CLI only parses its
flags, calls one of them and renders the result::

    import seqframe
    run = seqframe.train(task="timeseries", backend="numpy", steps=50, out="runs/demo",
                         options={"horizon": 12})         # any RunConfig key as a keyword
    run.dir, run.config, run.summary                       # summary == summary.json
    run.evaluate("test")                                   # {metric: value}, as `seqframe eval`
    again = seqframe.load("runs/demo", backend="torch")    # backend-neutral checkpoints
    again.forecast(horizon=12)                             # the task's capabilities
    seqframe.load("runs/de-en").translate(["ein Hund ."], beam=5)   # a translate run
    seqframe.load("runs/digits").transcribe(["clip.wav"])  # [Transcript(path, words, p)]

Errors are :class:`seqframe.errors.SeqframeError` subclasses carrying the messages the CLI prints.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from ..config import RunConfig, merge, toml_text
from ..errors import ConfigError, DataError, SeqframeError, UsageError
from ..task import (
    FilePredictor,
    Forecaster,
    Recommender,
    Sampler,
    Task,
    Transcriber,
    Transcript,
    Translator,
    require,
)
from ..training.distributed import World, env_world
from ..training.safefiles import atomic_write_text
from ..training.settings import validate
from . import ensemble, single
from .build import CONFIG_FILE, read_run_config, resolve_config
from .report import split_metrics
from .rundir import claim_new, open_existing

Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _log_for(config: RunConfig, world: World, log: Log | None) -> Log:
    """Where run messages go: ``log`` (stderr by default); nowhere on a data-parallel rank
    other than 0, and when quiet only warnings (a repaired file, changed data, a diverged run
    must not pass unnoticed)."""
    log = log or _stderr
    if world.rank != 0:
        return lambda _line: None
    if config.quiet:
        return lambda line: log(line) if line.startswith("warning:") else None
    return log


def train(config: str | Path | RunConfig | None = None, *, log: Log | None = None,
          overwrite: bool = False, **settings: Any) -> Run:
    """Train a new run and return it.

    Args:
        config: a run file (``--config FILE.toml``), or a resolved :class:`RunConfig`, or None.
        log: where the run's messages go (default: standard error).
        overwrite: replace a run already in ``out`` (without it, an ``out`` holding a run with
            a checkpoint is refused; one without a checkpoint is started afresh).
        **settings: any :class:`RunConfig` key (``task="charlm"``, ``steps=100``,
            ``options={"seq_len": 50}``, ``quiet=True``...); they override the run file, which
            overrides the task's run defaults and seqframe's defaults.

    A run that finishes but diverged (its summary says ``diverged``, see
    :func:`seqframe.runs.single.judge`) is returned like any other; the CLI exits with code 1.

    Raises:
        seqframe.training.trainer.Interrupted: Ctrl-C or SIGTERM; a checkpoint was written.
        seqframe.errors.NonFiniteError: the loss or gradients became NaN/Inf, or the loss
            exploded.
        seqframe.runs.rundir.RunLockedError: another process is writing ``out``.
        seqframe.errors.SeqframeError: anything wrong with the configuration, data or plugins.
    """
    if isinstance(config, RunConfig):
        resolved = merge(config, settings, "the keyword arguments")
    else:
        resolved = resolve_config(settings, None if config is None else str(config))
    return Run(train_config(resolved, log=log, overwrite=overwrite)["run_dir"])


def train_config(config: RunConfig, task_state: dict | None = None, log: Log | None = None,
                 overwrite: bool = False) -> dict[str, Any]:
    """Train the run a resolved ``config`` describes (one model or an ensemble); its summary."""
    world = env_world()
    ensemble.check(config, world.size)
    log = _log_for(config, world, log)
    if config.ensemble > 1:
        validate(config)  # before the ensemble's folder exists
        fresh = not (config.out and Path(config.out).exists())
        run_dir, lock = claim_new(config, overwrite, log)
        try:
            atomic_write_text(run_dir / CONFIG_FILE, toml_text(config.replace(out=str(run_dir))))
            return ensemble.train(config, run_dir, log)
        except SeqframeError:
            # The first member reads the data; if it refused it, the folder this call made
            # holds nothing to resume: leave no half-made run behind.
            if fresh and not ensemble.has_checkpoints(run_dir):
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        finally:
            lock.release()
    return single.train(config, world, log, task_state, overwrite=overwrite)


def resume(run_dir: str | Path, *, log: Log | None = None, steps: int | None = None,
           epochs: int | None = None, quiet: bool = False,
           allow_data_change: bool = False) -> Run:
    """Continue the run in ``run_dir`` exactly where its latest checkpoint left it.

    A run that had already finished is not trained further; its summary is written again.
    ``steps=N`` or ``epochs=N`` trains the run (finished or not) on to that new limit instead:
    its learning-rate schedule then spans the new length, so it no longer matches a run
    started with that limit (see :func:`seqframe.runs.single.resume`). ``quiet`` silences the
    run's messages and progress, whatever the run was started with. The run directory is
    locked while it trains, and the leftovers of a crash are tidied first.

    Args:
        run_dir: the run directory.
        log: where the run's messages go (default: standard error).
        steps, epochs: a new limit to train on to.
        quiet: no messages and no progress (warnings still show).
        allow_data_change: continue even though the data files changed since the run started
            (otherwise that is a :class:`seqframe.errors.DataError`).
    """
    if steps is not None and epochs is not None:
        raise UsageError("resume takes steps or epochs, not both.")
    limit = {"steps": steps} if steps is not None else \
        {"epochs": epochs} if epochs is not None else None
    return Run(resume_summary(run_dir, log=log, quiet=quiet, limit=limit,
                              allow_data_change=allow_data_change)["run_dir"])


def resume_summary(run_dir: str | Path, log: Log | None = None, quiet: bool = False,
                   limit: dict[str, int] | None = None,
                   allow_data_change: bool = False) -> dict[str, Any]:
    """:func:`resume`, returning the summary (what the CLI prints)."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir).replace(quiet=quiet)  # how to show it is not a setting
    world = env_world()
    log = _log_for(config, world, log)
    if config.ensemble > 1 and limit is not None:
        key, value = next(iter(limit.items()))
        raise ConfigError(
            f"--{key} extends a single run, and {str(run_dir)!r} is an ensemble of "
            f"{config.ensemble}. Train a new ensemble for longer instead: seqframe run "
            f"--config {run_dir / CONFIG_FILE} --{key} {value} --out NEW.")
    # rank 0 alone writes, so it alone locks (the other ranks stop with it if it cannot)
    lock = open_existing(run_dir) if world.rank == 0 else None
    try:
        if config.ensemble > 1:
            return ensemble.train(config, run_dir, log, allow_data_change=allow_data_change)
        return single.resume(run_dir, config, world, log, limit,
                             allow_data_change=allow_data_change)
    finally:
        if lock is not None:
            lock.release()


def load(run_dir: str | Path, backend: str | None = None) -> Run:
    """A finished (or interrupted) run, to evaluate and use; ``backend`` overrides the run's own
    (checkpoints are backend-neutral)."""
    return Run(run_dir, backend)


def open_run(run_dir: str | Path, backend: str | None = None):
    """``(task, predictor, config)`` of a run's best checkpoint (an ensemble's combined model)."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    if config.ensemble > 1:
        return (*ensemble.open_members(run_dir, config, backend), config)
    return single.open_single(run_dir, config, backend)


class Run:
    """A run directory: its config and summary, and its model for evaluation and use.

    The model is loaded from the best checkpoint (else the latest) the first time it is needed.

    Attributes:
        dir: the run directory.
        config: its resolved :class:`RunConfig`.
        backend: the backend predictions run on (None: the run's own).
    """

    def __init__(self, run_dir: str | Path, backend: str | None = None):
        self.dir = Path(run_dir)
        self.config = read_run_config(self.dir)
        self.backend = backend

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r}, task={self.config.task!r}, backend={self.backend!r})"

    @property
    def summary(self) -> dict[str, Any] | None:
        """``summary.json`` (None until the run has finished)."""
        path = self.dir / "summary.json"
        return json.loads(path.read_text("utf-8")) if path.exists() else None

    @cached_property
    def _opened(self) -> tuple[Task, Any, RunConfig]:
        return open_run(self.dir, self.backend)

    @property
    def task(self) -> Task:
        """The prepared task, with the run's fitted state (vocabulary, scalers...)."""
        return self._opened[0]

    @property
    def predictor(self):
        """The model as a :class:`seqframe.task.Predictor` (NumPy in, NumPy out)."""
        return self._opened[1]

    @property
    def default_split(self) -> str:
        """What :meth:`evaluate` scores by default: test when the task holds one out, else val."""
        return "test" if "test" in self.task.splits() else "val"

    def evaluate(self, split: str | None = None) -> dict[str, float]:
        """The task's metrics on ``split`` (default: test if the task holds one out, else val),
        without the settings it reports beside them (its ``setting_keys``)."""
        task = self.task
        split = split or self.default_split
        if split not in task.splits():
            raise UsageError(f"task {task.name!r} has no {split!r} split; it has "
                             f"{', '.join(task.splits())}.")
        if self.config.ensemble > 1:
            ensemble.check_split(task, split, self.dir)
        return split_metrics(task, self.predictor, split)[0]

    # ---- the task's capabilities -------------------------------------------------------------
    def sample(self, prime: str = "", length: int = 500, temperature: float = 1.0,
               top_k: int | None = None, seed: int = 0, greedy: bool = False) -> str:
        """Generated text (:class:`seqframe.task.Sampler` tasks, e.g. charlm)."""
        return require(self.task, Sampler).sample(
            self.predictor, prime=prime, length=length, temperature=temperature, top_k=top_k,
            seed=seed, greedy=greedy)

    def forecast(self, horizon: int, data: str | None = None, out_dir: str | Path | None = None,
                 series: str | None = None) -> list[Path]:
        """Forecast files past the end of the data (:class:`seqframe.task.Forecaster` tasks),
        written into ``out_dir`` (default: the run directory); ``series`` picks one series of a
        many-series run."""
        extra = {} if series is None else {"series": series}
        return require(self.task, Forecaster).forecast(
            self.predictor, horizon=horizon, data=data, out_dir=Path(out_dir or self.dir), **extra)

    def predict(self, data: str, out_dir: str | Path | None = None) -> list[Path]:
        """Prediction files for the sequences in ``data`` (:class:`seqframe.task.FilePredictor`
        tasks), written into ``out_dir`` (default: the run directory)."""
        return require(self.task, FilePredictor).predict_file(
            self.predictor, data=data, out_dir=Path(out_dir or self.dir))

    def transcribe(self, paths: str | Path | list[str | Path]) -> list[Transcript]:
        """The words spoken in each audio file (:class:`seqframe.task.Transcriber` tasks, e.g.
        speech): one :class:`~seqframe.task.Transcript` (path, words, probability) per file."""
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        if not paths:
            raise UsageError("transcribe needs at least one audio file.")
        return require(self.task, Transcriber).transcribe(self.predictor, paths)

    def recommend(self, histories: list[list[Any]], k: int = 10,
                  exclude_seen: bool = True) -> list[list[tuple[Any, float, str | None]]]:
        """Per item history (ids as in the data, oldest first), the top ``k`` next items as
        ``(item id, score, title or None)`` (:class:`seqframe.task.Recommender` tasks, e.g.
        nextitem); items of the history are left out unless ``exclude_seen`` is False."""
        return require(self.task, Recommender).recommend(
            self.predictor, histories, k=k, exclude_seen=exclude_seen)

    def translate(self, sentences: str | list[str] | None = None, beam: int | None = None, *,
                  file: str | Path | None = None) -> list[str]:
        """Translations of ``sentences`` (one string, or a list), or of every line of ``file``
        (UTF-8, one sentence a line), in order (:class:`seqframe.task.Translator` tasks).

        ``beam``: the beam width (default: the run's ``-o beam``; 1 is greedy). A blank line
        (or sentence) translates to an empty line.
        """
        translator = require(self.task, Translator)
        if isinstance(sentences, str):
            sentences = [sentences]
        given = list(sentences or []) + (read_lines(file) if file is not None else [])
        if not given:
            raise UsageError("nothing to translate: give sentences (--text) or a file of them "
                             "(--file).")
        if beam is not None and beam < 1:
            raise UsageError(f"--beam must be at least 1 (1 = greedy); got {beam}.")
        real = [i for i, text in enumerate(given) if text.strip()]
        out = [""] * len(given)
        done = translator.translate_sentences(self.predictor, [given[i] for i in real],
                                              beam=beam) if real else []
        for i, text in zip(real, done, strict=True):
            out[i] = text
        return out


def read_lines(path: str | Path) -> list[str]:
    """The lines of a UTF-8 text file (no line ends).

    Raises:
        DataError: the file is missing or not UTF-8 (naming the line).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {str(path)!r}: {exc.strerror or exc}. Give a text file "
                        "of sentences, one a line.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}, line {line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                        "convert the file to UTF-8, e.g. with `iconv -f latin1 -t utf-8`.") \
            from None
    return [line.rstrip("\r") for line in text.splitlines()]


__all__ = ["Run", "load", "open_run", "resume", "train"]
