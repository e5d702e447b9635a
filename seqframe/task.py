"""The Task contract: the data, the readout, and what success means.

A task loads and prepares its data on the host, hands the trainer mini-batches as NumPy arrays,
and judges the model's predictions with its own metrics and baselines. It never sees a backend
array: the trainer gives it a :class:`Predictor` that takes and returns NumPy arrays.

Shape letters: B batch, T time, D input features, O outputs (classes for ``cross_entropy``).

Most tasks feed one recurrent stack (:class:`ModelSpec`, :class:`Batch`). A task that reads one
sequence and writes another (translation) returns a :class:`Seq2SeqSpec` instead, hands out
:class:`Seq2SeqBatch` pairs and is evaluated through a :class:`Seq2SeqPredictor`: the engine then
builds an encoder-decoder with attention.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np

from .errors import ConfigError, UsageError, closest
from .seq2seqtask import (  # noqa: F401  (re-exported: the contract is importable from here)
    AttentionPredictor,
    Seq2SeqBatch,
    Seq2SeqPredictor,
    Seq2SeqSpec,
)

Readout = Literal["every_step", "last", "mean", "max"]
Split = Literal["train", "val", "test"]
InputView = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


@dataclass
class Batch:
    """One mini-batch, host arrays.

    Attributes:
        inputs: (B, T, D) float.
        targets: readout ``every_step``: (B, T) int64 class ids or (B, T, O) float;
            readout ``last``/``mean``: (B,) int64 class ids or (B, O) float.
        mask: (B, T) bool, True on real steps; a False step leaves the state unchanged and
            contributes no loss (padding of variable-length batches).
        reset: (B,) bool, True where the row starts a new sequence (state zeroed before step 0);
            False carries the state from the previous batch's row (stateful streams).
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    reset: np.ndarray

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    @property
    def length(self) -> int:
        return self.inputs.shape[1]

    def rows(self, start: int, stop: int) -> Batch:
        """Rows ``start:stop`` (a data-parallel rank's shard, or an accumulation micro-batch)."""
        return Batch(*(a[start:stop] for a in (self.inputs, self.targets, self.mask, self.reset)))


class RowBatches(Sequence[Batch]):
    """One epoch's mini-batches over the rows in ``order``, each built only when indexed.

    A ready-made result for :meth:`Task.train_batches`: subclass it and say in :meth:`make` how a
    chunk of rows becomes a :class:`Batch`. Batch ``k`` holds ``order[k*B:(k+1)*B]``, so the last
    one may be smaller; negative indices count from the end.

    Args:
        order: (N,) row indices in this epoch's order.
        batch_size: B, rows per batch.
    """

    def __init__(self, order: np.ndarray, batch_size: int):
        self.order, self.batch_size = order, batch_size

    def __len__(self) -> int:
        return -(-len(self.order) // self.batch_size)

    def __getitem__(self, index: int) -> Batch:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        return self.make(self.order[index * self.batch_size:(index + 1) * self.batch_size], index)

    @abstractmethod
    def make(self, rows: np.ndarray, index: int) -> Batch:
        """Batch number ``index`` (0-based), made of the data rows ``rows`` (B,)."""


@dataclass(frozen=True)
class ModelSpec:
    """What the task needs from the model.

    Attributes:
        input_size: D, features per step; with ``tokens``, V, the number of input ids.
        output_size: O; the number of classes for a class loss (``cross_entropy``); for
            ``gaussian_nll`` the number of target values (the model then outputs 2*O: mean and
            log-variance).
        readout: ``every_step`` (an output per step), ``last`` (at the last valid step),
            ``mean`` or ``max`` (pooled over valid steps).
        loss: the registered name of the loss (``cross_entropy``, ``mse``, ``gaussian_nll``, a
            plugin's; ``seqframe plugins`` lists them).
        stateful: carry the hidden state across consecutive training batches (text streams).
        tokens: inputs are integer ids in ``[0, input_size)``, shaped (B, T): the model embeds
            them (``--embed E``) or feeds them one-hot.
        padding_id: an input id that only pads (its embedding stays zero and never learns).
        losses: the only other losses a run may choose instead of ``loss`` (its ``loss`` key),
            e.g. ``("sampled_softmax",)``; empty: any registered loss that fits the task's own
            (same targets, same outputs; see :func:`seqframe.runs.build.make_loss`).
        class_frequencies: for class losses, each class's count in the training data (a
            popularity proposal for sampled losses), or None.
    """

    input_size: int
    output_size: int
    readout: Readout
    loss: str
    stateful: bool = False
    tokens: bool = False
    padding_id: int | None = None
    losses: tuple[str, ...] = ()
    class_frequencies: Any = None


@dataclass(frozen=True)
class TaskOption:
    """One ``-o KEY=VALUE`` option of a task, listed by ``seqframe tasks NAME``."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple | None = None

    def parse(self, task: str, raw: Any) -> Any:
        """Convert a raw value (string from ``-o``, or a TOML value) to this option's type."""
        value = raw
        try:
            if self.type is bool and isinstance(raw, str):
                lowered = raw.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                value = lowered in ("1", "true", "yes", "on")
            elif raw is not None and not isinstance(raw, self.type):
                value = self.type(raw)
        except (TypeError, ValueError):
            raise ConfigError(
                f"task {task!r} option {self.name!r} expects {self.type.__name__}, got {raw!r}."
            ) from None
        if self.choices is not None and value not in self.choices:
            raise ConfigError(
                f"task {task!r} option {self.name!r} must be one of "
                f"{', '.join(map(str, self.choices))}; got {value!r}."
            )
        return value


class Predictor(Protocol):
    """What the trainer hands a task for evaluation, artefacts, sampling and forecasting."""

    def predict(
        self, inputs: np.ndarray, mask: np.ndarray | None = None, state: Any = None
    ) -> tuple[np.ndarray, Any]:
        """Run the model in eval mode (no dropout).

        Args:
            inputs: (B, T, D) host array.
            mask: (B, T) bool or None (all steps valid).
            state: the state returned by a previous call, or None to start from zeros.

        Returns:
            Host outputs, (B, T, O') for ``every_step`` or (B, O') otherwise, where O' is O
            (2*O for ``gaussian_nll``); raw scores (logits), not probabilities. And the final
            state, opaque, to pass back in for the next chunk of the same rows.
        """
        ...


def log_to_stderr(line: str) -> None:
    """A task's log before a runner gives it its own: one line on standard error."""
    print(line, file=sys.stderr, flush=True)


class Task(ABC):
    """Base class of every task plugin.

    Class attributes:
        name: registered name.
        description: one line for ``seqframe tasks``.
        options: the task's ``-o`` options.
        run_defaults: run-config values this task prefers over the global defaults
            (e.g. ``{"bptt": 100, "epochs": 10}``); the config file and flags override them.
        metric: the validation metric early stopping and the best checkpoint watch.
        metric_mode: ``"min"`` when lower is better, ``"max"`` otherwise.
        baseline_metric: ``(name, mode)`` of the metric the model is compared with its
            baselines on, when they do not report ``metric`` (a 1-NN classifier has accuracy but
            no loss); None: ``metric`` and ``metric_mode``.
        setting_keys: keys of :meth:`evaluate`'s dict that record how a split was scored
            (window counts, the horizon), not how well; ``summary.json`` keeps them apart from
            the metrics and the final table does not show them as metric rows.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    options: ClassVar[tuple[TaskOption, ...]] = ()
    run_defaults: ClassVar[dict[str, Any]] = {}
    metric: ClassVar[str] = "loss"
    metric_mode: ClassVar[str] = "min"
    baseline_metric: ClassVar[tuple[str, str] | None] = None
    setting_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: dict[str, Any] | None = None, data: str | None = None):
        self.data = data
        self.opts = self.parse_options(options or {})
        self.log: Callable[[str], None] = log_to_stderr

    # ``log(line)`` reports one line about the data (rows dropped, series skipped...). It writes
    # to standard error until the runner points it at the run's own log (quiet runs drop it).

    @classmethod
    def parse_options(cls, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate ``-o`` options: unknown keys are an error listing the valid ones."""
        known = {opt.name: opt for opt in cls.options}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            guess = closest(unknown[0], known)
            hint = f"; did you mean {guess!r}?" if guess else "."
            valid = ", ".join(sorted(known)) or "(this task has no options)"
            raise ConfigError(
                f"unknown option {unknown[0]!r} for task {cls.name!r}{hint} Valid options: "
                f"{valid}. See `seqframe tasks {cls.name}`."
            )
        return {
            name: opt.parse(cls.name, raw[name]) if name in raw else opt.default
            for name, opt in known.items()
        }

    @abstractmethod
    def prepare(self, state: dict[str, Any] | None = None) -> ModelSpec | Seq2SeqSpec:
        """Load the data and fit what is fitted on training data (vocabulary, scaler).

        Returns a :class:`ModelSpec` (one recurrent stack), or a :class:`Seq2SeqSpec` for an
        encoder-decoder task.

        Args:
            state: a ``state_dict()`` from a checkpoint; when given, use it instead of fitting, so
                a resumed or evaluated run sees exactly the training-time vocabulary/scaler.
        """

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable fitted state (vocabulary, scaler, class labels) for checkpoints."""

    @abstractmethod
    def train_batches(self, epoch: int, batch_size: int,
                      seed: int) -> Sequence[Batch] | Sequence[Seq2SeqBatch]:
        """The training batches of one epoch, in order; indexable and sized.

        Deterministic in ``(epoch, batch_size, seed)``: a resumed run asks again for the same
        epoch and skips to its cursor. Stateful tasks return consecutive chunks of B streams.
        """

    @abstractmethod
    def evaluate(self, predictor: Predictor, split: Split) -> dict[str, float]:
        """The task's metrics on ``val`` or ``test`` (names carry units: ``bits_per_char``...)."""

    def splits(self) -> tuple[str, ...]:
        """The evaluation splits this task has (``val`` always; ``test`` when held out)."""
        return ("val", "test")

    def baselines(self, split: Split) -> dict[str, dict[str, float]]:
        """Simple reference models scored with the same metrics on ``split``."""
        return {}

    def write_artefacts(self, predictor: Predictor, run_dir: Path) -> list[Path]:
        """Write generated text, forecast plots, confusion matrices...; return the paths."""
        return []


# ---- capabilities: what only some tasks can do -----------------------------------------------
# A task has a capability when it defines the protocol's method(s); seqframe checks with
# isinstance, so a task needs no base class or registration for them. Each one adds a command
# (and a method of the Python API's Run).


@runtime_checkable
class Sampler(Protocol):
    """Generates a sequence after a prime: ``seqframe sample`` / ``Run.sample`` (charlm)."""

    def sample(self, predictor: Predictor, *, prime: str, length: int, temperature: float,
               top_k: int | None, seed: int, greedy: bool) -> str:
        """``prime`` and ``length`` generated items after it (softmax ``temperature``, among
        the ``top_k`` likeliest, or always the likeliest when ``greedy``; seeded)."""
        ...


@runtime_checkable
class Forecaster(Protocol):
    """Forecasts past the end of the data: ``seqframe forecast`` / ``Run.forecast``."""

    def forecast(self, predictor: Predictor, *, horizon: int, data: str | None,
                 out_dir: Path, series: str | None = None) -> list[Path]:
        """Predict ``horizon`` steps past the end of the run's data (or of ``data``); write the
        forecast files into ``out_dir`` and return their paths. ``series`` picks one series of
        a many-series task (None: all of them); a task of one series may leave it out."""
        ...


@runtime_checkable
class FilePredictor(Protocol):
    """Labels every sequence of a file: ``seqframe predict`` / ``Run.predict``."""

    def predict_file(self, predictor: Predictor, *, data: str, out_dir: Path) -> list[Path]:
        """Write the predictions for the sequences in ``data`` into ``out_dir``; their paths."""
        ...


@dataclass(frozen=True)
class Transcript:
    """What a :class:`Transcriber` says about one audio file.

    Attributes:
        path: the file, as given.
        words: the recognised words (a one-word label for an isolated-word model).
        probability: the model's probability of ``words``: a classifier's softmax probability of
            the label, or a CTC decoder's probability of the labelling.
    """

    path: str
    words: tuple[str, ...]
    probability: float


@runtime_checkable
class Transcriber(Protocol):
    """Recognises the words spoken in audio files: ``seqframe transcribe`` /
    ``Run.transcribe`` (speech)."""

    def transcribe(self, predictor: Predictor, paths: Sequence[str | Path]) -> list[Transcript]:
        """One :class:`Transcript` per file of ``paths``, in order; reads only those files."""
        ...


@runtime_checkable
class Recommender(Protocol):
    """Ranks the items to come after item histories: ``seqframe recommend`` / ``Run.recommend``
    (nextitem)."""

    def recommend(self, predictor: Predictor, histories: list[list[Any]], k: int = 10,
                  exclude_seen: bool = True) -> list[list[tuple[Any, float, str | None]]]:
        """Per history (item ids as in the data, oldest first), the ``k`` items the model
        scores highest next, best first, as ``(item id, score, title or None)``; items already
        in the history are left out when ``exclude_seen``. Unknown ids raise a DataError listing
        every one of them."""
        ...


@runtime_checkable
class EnsembleAware(Protocol):
    """Varies its data between the members of an ensemble (``--ensemble K``).

    A task without this capability gives every member the same data; members then differ only
    by seed.
    """

    def member_options(self, member: int) -> dict[str, Any]:
        """Task options that differ for ensemble member ``member`` (0 is first).

        Must return ``{}`` or the options as given for member 0, so member 0 is the single run
        of the same config.
        """
        ...


@runtime_checkable
class MemberInputs(Protocol):
    """An :class:`EnsembleAware` task whose members' options change what their models read."""

    def input_view(self, options: dict[str, Any]) -> InputView | None:
        """How a model of this task built with ``options`` reads this task's inputs.

        An ensemble prepares its inputs once, with member 0's task. A member whose
        :meth:`member_options` change what its model reads (the gesture task's per-member random
        kernels) gets its inputs through the returned function, ``(inputs (B, T, D), mask
        (B, T) or None) -> (B, T, D')``, applied to every batch before that member sees it.
        ``None``: the inputs are the same.
        """
        ...


@runtime_checkable
class Translator(Protocol):
    """Translates raw sentences: ``seqframe translate`` / ``Run.translate`` (translate)."""

    def translate_sentences(self, predictor: Seq2SeqPredictor, sentences: Sequence[str],
                            beam: int | None = None) -> list[str]:
        """One translation per sentence, decoded with beam width ``beam`` (None: the task's
        own default; 1: greedy)."""
        ...


CAPABILITY_COMMANDS = {Sampler: "sample", Forecaster: "forecast", FilePredictor: "predict",
                       Transcriber: "transcribe", Recommender: "recommend",
                       Translator: "translate"}


def require(task: Task, capability: type) -> Any:
    """``task`` itself when it has ``capability``; else the UsageError the command prints."""
    if isinstance(task, capability):
        return task
    command = CAPABILITY_COMMANDS.get(capability, capability.__name__)
    raise UsageError(
        f"`seqframe {command}` does not apply to this run: it was trained on task "
        f"{task.name!r}, which does not support {command}. Use a run of a task that does "
        f"(`seqframe tasks` lists them)."
    )
