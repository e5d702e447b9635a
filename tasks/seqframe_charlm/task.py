"""The ``charlm`` task: predict the next character of a text (Karpathy's char-rnn, in seqframe).

Data: a UTF-8 text file, ``hf:NAME`` (a Hugging Face dataset's text column) or the built-in
``tinyshakespeare`` (the default), split contiguously into test / train / val (validation is
always the last ``val_fraction``, nanoGPT's split; see :func:`.corpus.split_text`). Batches are B
parallel streams through the training text, character ids (B, T) as token inputs (the model embeds
them with ``--embed E``, or feeds them one-hot) and next-character targets (B, T), with the hidden
state carried from batch to batch; ``-o inputs=onehot`` gives dense one-hot rows (B, T, V)
instead, the format of runs trained before token inputs (a run without the option reads ids,
which with ``--embed 0`` compute exactly the same numbers). Besides the full softmax a run may
train with ``--loss sampled_softmax`` (the ``popularity`` sampler uses the training text's
character counts; evaluation always scores the full softmax). Metrics: ``loss`` (nats/char),
``bits_per_char``, ``perplexity``; baselines: uniform, add-one unigram, and an interpolated
modified Kneser-Ney n-gram (5-gram by default). See :mod:`seqframe_charlm.corpus` for how
characters unseen in training are handled.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from seqframe.errors import ConfigError, DataError, UsageError
from seqframe.task import ModelSpec, Predictor, Split, Task, TaskOption

from .corpus import Vocabulary, load_text, split_text
from .metrics import metrics_from_nll, score_stream
from .ngram import KneserNeyLM, unigram_nll
from .sampling import generate
from .streams import INPUTS, StreamBatches, check_fits, epoch_offset

OPTIONS = (
    TaskOption("inputs", str, "tokens",
               "tokens: character ids (embedded with --embed E, else fed one-hot); onehot: "
               "dense one-hot rows (B, T, V), the format of runs before token inputs.",
               choices=INPUTS),
    TaskOption("seq_len", int, 100,
               "characters per training batch, T; the trainer cuts it into --bptt windows"),
    TaskOption("val_fraction", float, 0.1, "last part of the text held out for validation"),
    TaskOption("test_fraction", float, 0.05,
               "first part of the text held out for testing (0 = no test split)"),
    TaskOption("text_column", str, "text", "column holding the text, for --data hf:NAME"),
    TaskOption("max_chars", int, 0, "use only the first N characters of the text (0 = all)"),
    # Each stream starts cold and pays a few extra nats over its first characters; spread over a
    # 111k-character split, 32 cold starts move the mean by an estimated few thousandths of a
    # nat, while twice the streams halve the sequential steps of evaluation.
    TaskOption("eval_streams", int, 32,
               "parallel streams when scoring val/test (each starts from the zero state)"),
    TaskOption("ngram_order", int, 5, "n of the Kneser-Ney n-gram baseline"),
    TaskOption("sample_length", int, 500, "characters generated into samples.txt after a run"),
    TaskOption("sample_temperature", float, 0.8, "softmax temperature for samples.txt"),
    TaskOption("sample_prime", str, "", "text samples.txt starts from (empty: a newline)"),
)


class CharLMTask(Task):
    """Character-level language modelling with stateful streams (see the module docstring)."""

    name: ClassVar[str] = "charlm"
    description: ClassVar[str] = "character-level language modelling"
    options: ClassVar[tuple[TaskOption, ...]] = OPTIONS
    run_defaults: ClassVar[dict[str, Any]] = {"bptt": 100, "hidden": 128, "epochs": 10}
    metric: ClassVar[str] = "loss"
    metric_mode: ClassVar[str] = "min"

    def __init__(self, options: dict[str, Any] | None = None, data: str | None = None):
        super().__init__(options, data)
        self._given = set(options or {})  # the options the run set (the others are defaults)
        self._check_options()
        self.vocab: Vocabulary | None = None
        self.source = ""
        self._ids: dict[str, np.ndarray] = {}
        self._ngram: KneserNeyLM | None = None
        self._epoch_cache: tuple[tuple[int, int, int], StreamBatches] | None = None

    def _check_options(self) -> None:
        o = self.opts
        val, test = o["val_fraction"], o["test_fraction"]
        if not (0 < val < 1 and 0 <= test < 1 and val + test < 1):
            raise ConfigError(
                f"task 'charlm' needs 0 < val_fraction < 1, 0 <= test_fraction < 1 and their "
                f"sum < 1 (training text must remain); got val_fraction={val}, "
                f"test_fraction={test}. E.g. -o val_fraction=0.1 -o test_fraction=0.05."
            )
        for key in ("seq_len", "eval_streams", "ngram_order"):
            if o[key] < 1:
                raise ConfigError(f"task 'charlm' option {key!r} must be >= 1, got {o[key]}.")
        if o["max_chars"] < 0 or o["sample_length"] < 0:
            raise ConfigError("task 'charlm' options max_chars and sample_length must be >= 0.")
        if not o["sample_temperature"] > 0:
            raise ConfigError(
                f"task 'charlm' option 'sample_temperature' must be > 0, "
                f"got {o['sample_temperature']}."
            )

    # ---- data ----------------------------------------------------------------------------

    def prepare(self, state: dict[str, Any] | None = None) -> ModelSpec:
        if state is not None and "test_fraction" not in state and \
                "test_fraction" not in self._given:
            # A checkpoint from before the test split was the default (it records no split):
            # that run held out no test text, and resuming it must see the text it trained on.
            self.opts = {**self.opts, "test_fraction": 0.0}
        text, self.source = load_text(self.data, self.opts["text_column"])
        if self.opts["max_chars"]:
            text = text[: self.opts["max_chars"]]
        parts = split_text(text, self.opts["val_fraction"], self.opts["test_fraction"])
        pieces = {"train": parts.train, "val": parts.val, "test": parts.test}
        for split in self.splits():
            if len(pieces[split]) < 2:
                raise DataError(
                    f"{self.source} has {len(text):,} characters: too few to hold out a "
                    f"{split} split of at least 2 characters. Use a longer text or a larger "
                    f"-o {split}_fraction."
                )
        self.vocab = self._vocabulary(state, parts.train)
        if self.opts["sample_prime"]:
            self.vocab.encode_strict(self.opts["sample_prime"], what="sample_prime option")
        self._ids = {k: self.vocab.encode(v) for k, v in pieces.items()}
        self._ngram, self._epoch_cache = None, None
        v = self.vocab.size
        return ModelSpec(input_size=v, output_size=v, readout="every_step",
                         loss="cross_entropy", stateful=True,
                         tokens=self.opts["inputs"] == "tokens", losses=("sampled_softmax",),
                         class_frequencies=np.bincount(self._ids["train"], minlength=v))

    @staticmethod
    def _vocabulary(state: dict[str, Any] | None, train: str) -> Vocabulary:
        if state is None:
            return Vocabulary.fit(train)
        chars = state.get("chars") if isinstance(state, dict) else None
        if not isinstance(chars, list):
            raise DataError(
                "the checkpoint's charlm state has no character list ('chars'); it was not "
                "written by this task or is damaged. Train the run again."
            )
        return Vocabulary(chars)

    def state_dict(self) -> dict[str, Any]:
        vocab = self._require_prepared()
        return {**vocab.state_dict(), "source": self.source,
                "val_fraction": self.opts["val_fraction"],
                "test_fraction": self.opts["test_fraction"]}

    def splits(self) -> tuple[str, ...]:
        return ("val", "test") if self.opts["test_fraction"] > 0 else ("val",)

    def train_batches(self, epoch: int, batch_size: int, seed: int) -> StreamBatches:
        vocab = self._require_prepared()
        key = (epoch, batch_size, seed)
        if self._epoch_cache is not None and self._epoch_cache[0] == key:
            return self._epoch_cache[1]  # asking again for the same epoch is free
        ids, seq_len = self._ids["train"], self.opts["seq_len"]
        check_fits(len(ids), batch_size, seq_len)
        offset = epoch_offset(len(ids), batch_size, seq_len, epoch, seed)
        batches = StreamBatches(ids, vocab.size, batch_size, seq_len, offset,
                                self.opts["inputs"])
        self._epoch_cache = (key, batches)
        return batches

    # ---- judging -------------------------------------------------------------------------

    def evaluate(self, predictor: Predictor, split: Split) -> dict[str, float]:
        ids = self._split_ids(split)
        return score_stream(predictor, ids, self.vocab.size, self.opts["eval_streams"],
                            self.opts["inputs"])

    def baselines(self, split: Split) -> dict[str, dict[str, float]]:
        ids = self._split_ids(split)
        train, v = self._ids["train"], self.vocab.size
        if self._ngram is None:  # fitted once per prepare; about a second on 1M characters
            self._ngram = KneserNeyLM(train, v, self.opts["ngram_order"])
        n = len(ids) - 1
        return {
            "uniform": metrics_from_nll(n * math.log(v), n),
            "unigram": metrics_from_nll(float(unigram_nll(train, ids, v).sum()), n),
            f"kneser_ney_{self.opts['ngram_order']}gram":
                metrics_from_nll(float(self._ngram.nll(ids).sum()), n),
        }

    def _split_ids(self, split: str) -> np.ndarray:
        self._require_prepared()
        if split not in self.splits():
            hint = (" Use --split val, or train with -o test_fraction=0.05 (the default) to "
                    "hold out a test split." if split == "test" else "")
            raise UsageError(
                f"task 'charlm' has no {split!r} split here; it has {', '.join(self.splits())}."
                f"{hint}"
            )
        return self._ids[split]

    def _require_prepared(self) -> Vocabulary:
        if self.vocab is None:
            raise RuntimeError("CharLMTask.prepare() must be called first")
        return self.vocab

    # ---- generating ----------------------------------------------------------------------

    def sample(self, predictor: Predictor, *, prime: str, length: int, temperature: float,
               top_k: int | None, seed: int, greedy: bool) -> str:
        """``prime`` and ``length`` characters generated after it (see :mod:`.sampling`)."""
        return generate(predictor, self._require_prepared(), prime=prime, length=length,
                        temperature=temperature, top_k=top_k, seed=seed, greedy=greedy,
                        inputs=self.opts["inputs"])

    def write_artefacts(self, predictor: Predictor, run_dir: Path) -> list[Path]:
        """``samples.txt``: ``sample_length`` characters at ``sample_temperature``, seed 0."""
        text = self.sample(predictor, prime=self.opts["sample_prime"],
                           length=self.opts["sample_length"],
                           temperature=self.opts["sample_temperature"], top_k=None, seed=0,
                           greedy=False)
        path = Path(run_dir) / "samples.txt"
        path.write_text(text, encoding="utf-8")
        return [path]
