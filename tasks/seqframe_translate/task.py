"""The ``translate`` task: sentence pairs in, BLEU and chrF out.

Data (:mod:`.sources`): a folder of ``{train,val,test}.{SRC,TGT}`` files, a TSV of pairs, an
``hf:`` data set, or the generated German--English sample shipped in the package (default).
Each language side gets its own tokenizer and vocabulary fitted on the training side only
(:mod:`.codec`: rule-based words or SentencePiece), stored in the task state so a checkpoint
reopens with them. Training pairs longer than ``-o max_len`` tokens on either side are dropped
(with a count in the log); val and test are never cut. Training batches are bucketed by length
(:mod:`.batching`) and yielded as :class:`~.contract.Seq2SeqBatch`.

Metrics (:mod:`.metrics`): ``bleu`` (lowercased, what early stopping watches), ``bleu_cased``,
``chrf`` from the model's decoded translations, ``loss`` and ``perplexity`` under teacher
forcing. Baselines (:mod:`.baselines`): ``copy`` and ``word_for_word`` (IBM Model 1). The model
is reached through :class:`~.contract.Seq2SeqPredictor`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqframe.errors import ConfigError, ShapeError
from seqframe.task import Split, Task, TaskOption

from . import artefacts, sources
from .baselines import WordForWord
from .batching import BucketBatches, eval_batches
from .codec import TOKENIZERS, Codec, codec_from_state, fit_codec
from .contract import (
    EOS_ID,
    AttentionPredictor,
    Seq2SeqBatch,
    Seq2SeqPredictor,
    Seq2SeqSpec,
    make_batch,
)
from .metrics import corpus_scores, from_nll, token_nll
from .words import detokenize, tokenize

SPLITS = ("val", "test")


def _until_eos(ids: Sequence[int]) -> list[int]:
    out = []
    for i in ids:
        if int(i) == EOS_ID:
            break
        out.append(int(i))
    return out


class TranslateTask(Task):
    """Machine translation from parallel text (see the module docstring)."""

    name = "translate"
    description = "translate sentences (parallel text, TSV pairs or hf:; BLEU and chrF)"
    options = (
        TaskOption("src", str, "de", "source language: the suffix of DIR/{train,val,test}.SRC, "
                   "the key of an hf: translation dict, or the hf: column's name."),
        TaskOption("tgt", str, "en", "target language (as -o src)."),
        TaskOption("tokenizer", str, "word", "word: rule-based words and punctuation; spm: a "
                   "SentencePiece unigram model trained on the training side.", TOKENIZERS),
        TaskOption("lowercase", bool, True, "lowercase the text before tokenizing (the BLEU "
                   "reported as `bleu` ignores case too)."),
        TaskOption("vocab_size", int, 8000, "entries per language, the four specials included: "
                   "word: keep at most the most frequent (0 = no limit); spm: the subword "
                   "vocabulary's size (a soft limit: small corpora get fewer)."),
        TaskOption("min_freq", int, 2, "word tokenizer: keep tokens seen at least this often in "
                   "the training side; rarer ones become <unk>."),
        TaskOption("max_len", int, 50, "drop training pairs with more tokens than this on either "
                   "side (counted in the log); val and test are never cut."),
        TaskOption("beam", int, 1, "beam width of the test translations, translations.txt and "
                   "`seqframe translate` (1 = greedy)."),
        TaskOption("val_beam", int, 1, "beam width of the validations during training (greedy "
                   "is fastest; early stopping and the best checkpoint follow them)."),
        TaskOption("length_penalty", float, 1.0, "beam search ranks finished translations by "
                   "log-probability / length ** length_penalty (0: raw log-probability)."),
        TaskOption("max_output_ratio", float, 1.5, "a translation stops after ratio * (its "
                   "source's tokens) + max_output_extra tokens."),
        TaskOption("max_output_extra", int, 10, "see max_output_ratio."),
        TaskOption("eval_batch_size", int, 128, "sentences per predictor call when evaluating."),
        TaskOption("attention_plots", int, 3, "attention heat maps (PNG) drawn for the first "
                   "test sentences, when the model exposes its attention."),
        TaskOption("baselines", bool, True, "score the copy and word_for_word baselines."),
        TaskOption("tsv_columns", str, "0,1", "TSV data: source and target columns, from 0."),
        TaskOption("val_fraction", float, 0.05, "TSV data (or an empty hf_val_split): share of "
                   "the pairs held out for validation, at random."),
        TaskOption("test_fraction", float, 0.05, "TSV data (or an empty hf_test_split): share "
                   "held out for test."),
        TaskOption("split_seed", int, 0, "seed of the random val/test split of TSV data."),
        TaskOption("hf_column", str, "translation", "hf: the column of {language: sentence} "
                   "dicts; without it, one column per language."),
        TaskOption("hf_source", str, "", "hf: source column (default: the -o src code)."),
        TaskOption("hf_target", str, "", "hf: target column (default: the -o tgt code)."),
        TaskOption("hf_train_split", str, "train", "hf: training split."),
        TaskOption("hf_val_split", str, "validation", "hf: validation split; empty = carve "
                   "val_fraction out of train."),
        TaskOption("hf_test_split", str, "test", "hf: test split; empty = carve "
                   "test_fraction out of train."),
    )
    # A starting point for the encoder-decoder (issue 19 tunes it on Multi30k).
    run_defaults = {"cell": "gru", "hidden": 256, "embed": 256, "bidirectional": True,
                    "attention": "general", "batch_size": 64, "epochs": 10, "dropout": 0.2,
                    "lr": 1e-3, "clip_norm": 1.0}
    metric = "bleu"
    metric_mode = "max"

    # ---- data --------------------------------------------------------------------------------

    def _check_options(self) -> None:
        o = self.opts
        positive = ("max_len", "beam", "val_beam", "eval_batch_size", "min_freq")
        for name in positive:
            if o[name] < 1:
                raise ConfigError(f"option {name!r} must be at least 1, got {o[name]}.")
        for name in ("vocab_size", "attention_plots", "max_output_extra"):
            if o[name] < 0:
                raise ConfigError(f"option {name!r} must be 0 or more, got {o[name]}.")
        if o["max_output_ratio"] <= 0:
            raise ConfigError(f"option 'max_output_ratio' must be positive, got "
                              f"{o['max_output_ratio']}.")
        if o["length_penalty"] < 0:
            raise ConfigError(f"option 'length_penalty' must be 0 or more, got "
                              f"{o['length_penalty']}.")

    def _fit(self, train: sources.Pairs) -> tuple[Codec, Codec]:
        o = self.opts
        return tuple(fit_codec(o["tokenizer"], lines, lang, lowercase=o["lowercase"],
                               vocab_size=o["vocab_size"], min_freq=o["min_freq"])
                     for lines, lang in ((train.source, o["src"]), (train.target, o["tgt"])))

    def prepare(self, state: dict[str, Any] | None = None) -> Seq2SeqSpec:
        self._check_options()
        self.pairs = sources.load(self.data, self.opts)
        if state is not None:
            self.source, self.target = (codec_from_state(state[side])
                                        for side in ("source", "target"))
        else:
            self.source, self.target = self._fit(self.pairs["train"])
        self.encoded = {split: ([self.source.encode(s) for s in p.source],
                                [self.target.encode(t) for t in p.target])
                        for split, p in self.pairs.items()}
        self.train_ids = self._drop_long(*self.encoded["train"])
        self._baseline_cache: dict[str, dict] = {}
        counts = np.bincount([i for t in self.train_ids[1] for i in t] + [EOS_ID] *
                             len(self.train_ids[1]), minlength=self.target.size)
        return Seq2SeqSpec(self.source.size, self.target.size, self.opts["max_len"],
                           class_frequencies=tuple(int(c) for c in counts))

    def _drop_long(self, src: list[list[int]], tgt: list[list[int]]):
        limit = self.opts["max_len"]
        keep = [i for i in range(len(src)) if len(src[i]) <= limit and len(tgt[i]) <= limit]
        self.dropped = len(src) - len(keep)
        if not keep:
            raise ConfigError(
                f"every one of the {len(src)} training pairs has more than max_len={limit} "
                "tokens on a side, so none is left to train on; raise -o max_len."
            )
        if self.dropped:
            self.log(f"translate: dropped {self.dropped} of {len(src)} training pairs longer "
                     f"than max_len={limit} tokens (val and test keep theirs)")
        return [src[i] for i in keep], [tgt[i] for i in keep]

    def state_dict(self) -> dict[str, Any]:
        return {"source": self.source.state(), "target": self.target.state(),
                "src": self.opts["src"], "tgt": self.opts["tgt"]}

    def splits(self) -> tuple[str, ...]:
        return SPLITS

    def train_batches(self, epoch: int, batch_size: int, seed: int) -> BucketBatches:
        return BucketBatches(*self.train_ids, batch_size, epoch, seed)

    # ---- evaluation --------------------------------------------------------------------------

    def max_output(self, batch: Seq2SeqBatch) -> np.ndarray:
        """Decoding budget of each row (B,): ratio * its source tokens (no ``<eos>``) + extra,
        counting the ``<eos>`` the translation ends with."""
        tokens = batch.source_mask.sum(axis=1) - 1
        return (self.opts["max_output_ratio"] * tokens).astype(np.int64) + \
            self.opts["max_output_extra"]

    def _translate(self, predictor: Seq2SeqPredictor, batch: Seq2SeqBatch,
                   beam: int | None = None) -> list[list[int]]:
        beam = beam or self.opts["beam"]
        if beam < 1:
            raise ConfigError(f"the beam width must be at least 1 (1 = greedy); got {beam}.")
        out = predictor.translate(batch.source, batch.source_mask, beam=beam,
                                  max_len=self.max_output(batch),
                                  length_penalty=self.opts["length_penalty"])
        if len(out) != batch.batch_size:
            raise ShapeError(f"the model returned {len(out)} translations for a batch of "
                             f"{batch.batch_size} sentences; expected one per sentence.")
        return [_until_eos(ids) for ids in out]

    def _split(self, split: str):
        if split not in SPLITS:
            raise ConfigError(f"the translate task has splits val and test, not {split!r}.")
        return self.encoded[split]

    def evaluate(self, predictor: Seq2SeqPredictor, split: Split) -> dict[str, float]:
        src_ids, tgt_ids = self._split(split)
        beam = self.opts["val_beam"] if split == "val" else self.opts["beam"]
        hyp_ids: list[list[int]] = [[] for _ in src_ids]
        total, count = 0.0, 0
        for rows, batch in eval_batches(src_ids, tgt_ids, self.opts["eval_batch_size"]):
            nll, n = token_nll(predictor.logits(batch), batch.target_out, batch.target_mask)
            total, count = total + nll, count + n
            for row, ids in zip(rows, self._translate(predictor, batch, beam), strict=True):
                hyp_ids[row] = ids
        if split == "test":  # write_artefacts writes these same translations
            self._test_translations = (predictor, beam, hyp_ids)
        hypotheses = [self.target.decode(ids) for ids in hyp_ids]
        scores = corpus_scores(hypotheses, self.pairs[split].target, self.opts["tgt"])
        return {**scores, **from_nll(total, count)}

    def translate_sentences(self, predictor: Seq2SeqPredictor, sentences: Sequence[str],
                            beam: int | None = None) -> list[str]:
        """Translate raw source sentences (``seqframe translate``, ``run.translate``) with beam
        width ``beam`` (default: ``-o beam``)."""
        src_ids = [self.source.encode(s) for s in sentences]
        out = [""] * len(src_ids)
        for rows, batch in eval_batches(src_ids, [[]] * len(src_ids),
                                        self.opts["eval_batch_size"]):
            for row, ids in zip(rows, self._translate(predictor, batch, beam), strict=True):
                out[row] = self.target.decode(ids)
        return out

    # ---- baselines ---------------------------------------------------------------------------

    def baselines(self, split: Split) -> dict[str, dict[str, float]]:
        """``copy`` and ``word_for_word`` (IBM Model 1 fitted on train) on ``split``."""
        if not self.opts["baselines"]:
            return {}
        self._split(split)
        if split not in self._baseline_cache:
            o, train, pairs = self.opts, self.pairs["train"], self.pairs[split]
            lower = o["lowercase"]
            model = WordForWord([tokenize(s, o["src"], lower) for s in train.source],
                                [tokenize(t, o["tgt"], lower) for t in train.target])
            word_for_word = [detokenize(model.translate(tokenize(s, o["src"], lower)), o["tgt"])
                             for s in pairs.source]
            self._baseline_cache[split] = {
                "copy": corpus_scores(pairs.source, pairs.target, o["tgt"]),
                "word_for_word": corpus_scores(word_for_word, pairs.target, o["tgt"]),
            }
        return self._baseline_cache[split]

    # ---- artefacts ---------------------------------------------------------------------------

    def write_artefacts(self, predictor: Seq2SeqPredictor, run_dir: Path) -> list[Path]:
        """``translations.txt`` (test, one a line) and ``attention-K.png`` heat maps."""
        run_dir = Path(run_dir)
        src_ids, _ = self.encoded["test"]
        done = getattr(self, "_test_translations", None)
        if done is not None and done[0] is predictor and done[1] == self.opts["beam"]:
            hyp_ids = done[2]  # the test evaluation just decoded them (beam search is costly)
        else:
            hyp_ids = [[] for _ in src_ids]
            for rows, batch in eval_batches(src_ids, [[]] * len(src_ids),
                                            self.opts["eval_batch_size"]):
                for row, ids in zip(rows, self._translate(predictor, batch), strict=True):
                    hyp_ids[row] = ids
        paths = [artefacts.write_translations(run_dir / "translations.txt",
                                              [self.target.decode(ids) for ids in hyp_ids])]
        count = min(self.opts["attention_plots"], len(src_ids))
        if count and isinstance(predictor, AttentionPredictor):
            paths += self._attention_maps(predictor, src_ids[:count], hyp_ids[:count], run_dir)
        return paths

    def _attention_maps(self, predictor, src_ids, hyp_ids, run_dir: Path) -> list[Path]:
        batch = make_batch(src_ids, hyp_ids)
        weights = predictor.attention(batch)  # (B, T, S)
        paths = []
        for k, (s, h) in enumerate(zip(src_ids, hyp_ids, strict=True)):
            source = self.source.pieces(s) + ["<eos>"]
            target = self.target.pieces(h) + ["<eos>"]
            matrix = weights[k, : len(target), : len(source)]
            paths.append(artefacts.attention_png(
                matrix, source, target, run_dir / f"attention-{k + 1}.png",
                f"test sentence {k + 1}: {self.pairs['test'].source[k]}"))
        return paths
