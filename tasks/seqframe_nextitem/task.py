"""The ``nextitem`` task: predict the item a user consumes next (GRU4Rec, SASRec protocols).

Data (:mod:`.readers`): RecBole ``.inter``, MovieLens ``u.data`` / ``ratings.dat``, SASRec
``user item`` lines, CSV/Parquet with ``-o user=,item=,time=`` columns, ``hf:`` data sets; the
default is the generated ``synthetic`` set (:mod:`.synthetic`). Item ids become ``1..N``, 0 is
padding (:mod:`.sequences`). Protocols (:mod:`.protocols`): leave-one-out by time (default) or
sessions split by time. The model reads item ids (token inputs, embedded with ``--embed``) and
after each scores every item as the next one (readout every step over ``N + 1`` classes); it
trains with full softmax cross-entropy by default, or with sampled softmax, BPR-max or TOP1-max
(:mod:`.losses`, a run's ``loss`` key); batches are padded sequences or GRU4Rec's
session-parallel windows (:mod:`.batching`). Metrics (:mod:`.ranking`): ``hr@10``,
``ndcg@10`` against sampled negatives and ``full_hr@10``, ``full_ndcg@10`` over the catalogue
(leave-one-out); ``mrr@20``, ``recall@20`` over the catalogue (sessions). Baselines
(:mod:`.baselines`): ``popularity``, ``item_knn``, ``markov``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from seqframe.errors import ConfigError, DataError
from seqframe.task import ModelSpec, Predictor, Split, Task, TaskOption

from . import evaluation, readers, synthetic
from .baselines import fit_all
from .batching import PaddedBatches, ParallelBatches, pieces
from .plot import write_curves
from .protocols import Protocol, leave_one_out, sessions_by_time
from .ranking import sample_negatives
from .recommend import Recommendation, recommend
from .sequences import Catalogue, Sequences, build
from .titles import read_titles, sibling

BUILTIN = "synthetic"
SPLIT_CODE = {"val": 1, "test": 2}
# the losses a run may choose instead of cross_entropy (its ``loss`` key, ``loss_options``)
LOSSES = ("sampled_softmax", "bpr_max", "top1_max")

OPTIONS = (
    TaskOption("protocol", str, "loo", "loo: leave-one-out by time (last item test, second-last "
               "validation); session: sessions split by time, every next item scored.",
               ("loo", "session")),
    TaskOption("format", str, "auto", "input format; auto guesses from the file name.",
               readers.FORMATS),
    TaskOption("user", str, None, "column of the user ids (default user_id)."),
    TaskOption("item", str, None, "column of the item ids (default item_id)."),
    TaskOption("time", str, None, "column of the event times (default timestamp when present; "
               "without one, file order is time order)."),
    TaskOption("session", str, None, "column of session ids (session protocol; default: "
               "sessions split at gaps over session_gap)."),
    TaskOption("ids", str, "int", "ids are integers (int) or any strings (token).",
               readers.ID_KINDS),
    TaskOption("items", str, None, "item file with titles (default: the .item / u.item / "
               "movies.dat beside the data, when present)."),
    TaskOption("hf_split", str, "train", "hf: the split that holds the events."),
    TaskOption("max_len", int, 50, "most items of a history the model reads (SASRec's maxlen); "
               "longer training sequences are cut into pieces of this many steps."),
    TaskOption("negatives", int, 100, "sampled negatives per question (hr@10, ndcg@10)."),
    TaskOption("eval_seed", int, 0, "seed of the sampled negatives (fixed per split)."),
    TaskOption("exclude_seen", bool, True, "loo full-catalogue metrics: items already in the "
               "history are not candidates."),
    TaskOption("session_gap", float, 1800.0, "seconds of inactivity that end a session."),
    TaskOption("val_fraction", float, 0.1, "session protocol: share of sessions (by end time, "
               "before the test ones) for validation."),
    TaskOption("test_fraction", float, 0.1, "session protocol: latest share of sessions for "
               "testing."),
    TaskOption("batching", str, "padded", "padded: one sequence per row, masked; parallel: "
               "GRU4Rec's session-parallel mini-batches.", ("padded", "parallel")),
    TaskOption("window", int, 1, "batching=parallel: steps per batch (1 = GRU4Rec)."),
    TaskOption("baselines", bool, True, "score the popularity, item_knn and markov baselines."),
    TaskOption("gen_seed", int, 0, "seed of the built-in synthetic data set."),
)


class NextItemTask(Task):
    """Next-item recommendation over item sequences (see the module docstring)."""

    name = "nextitem"
    description = "next-item recommendation (MovieLens, RecBole, SASRec, GRU4Rec sessions)"
    options = OPTIONS
    run_defaults = {"cell": "gru", "embed": 64, "hidden": 64, "batch_size": 32, "epochs": 30,
                    "lr": 3e-3, "patience": 5}
    metric = "full_ndcg@10"  # the session protocol watches mrr@20 (set per instance)
    metric_mode = "max"

    def __init__(self, options: dict[str, Any] | None = None, data: str | None = None):
        super().__init__(options, data)
        for key in ("max_len", "negatives", "window"):
            if self.opts[key] < 1:
                raise ConfigError(f"task 'nextitem' option {key!r} must be 1 or more, got "
                                  f"{self.opts[key]}.")
        if self.opts["protocol"] == "session":
            self.metric = "mrr@20"

    # ---- data --------------------------------------------------------------------------------

    def _read(self) -> tuple[readers.Interactions, dict | None]:
        if self.data is None or self.data.strip().lower() == BUILTIN:
            return synthetic.generate(self.opts["gen_seed"])
        inter = readers.read(self.data, self.opts)
        path = Path(self.opts["items"]).expanduser() if self.opts["items"] else None
        if path is None and not inter.source.startswith("hf:"):
            path = sibling(Path(inter.source))
        if path is not None and not path.is_file():
            raise DataError(f"item file {str(path)!r} (-o items) does not exist.")
        item_column = self.opts["item"] or readers.DEFAULT_COLUMNS["item"]
        return inter, (read_titles(path, item_column, self.opts["ids"]) if path else None)

    def _catalogue(self, found: Catalogue, state: dict | None) -> Catalogue:
        if state is None:
            return found
        if [*found.raw] != list(state["items"]):
            raise DataError(
                f"the data has {found.size} items but the run was trained on {len(state['items'])}"
                " different or differently ordered ones; give the run the data it was trained on."
            )
        return Catalogue(list(state["items"]), list(state["titles"]))

    def _protocol(self, seqs: Sequences) -> Protocol:
        o = self.opts
        if o["protocol"] == "loo":
            return leave_one_out(seqs)
        return sessions_by_time(seqs, self.catalogue.size, o["session_gap"], o["val_fraction"],
                                o["test_fraction"])

    def prepare(self, state: dict[str, Any] | None = None) -> ModelSpec:
        inter, titles = self._read()
        seqs, found = build(inter, titles, self.log)
        self.catalogue = self._catalogue(found, state)
        self.width = self.catalogue.size + 1  # V: items 1..N and padding 0
        self.protocol = self._protocol(seqs)
        self.pieces = pieces(self.protocol.train, self.opts["max_len"])
        if not self.pieces:
            raise DataError("no training sequence has two items, so there is no next item to "
                            "train on; use data with longer histories.")
        self.report = {**seqs.report, **self.protocol.report,
                       "training_transitions": int(sum(len(p) - 1 for p in self.pieces))}
        self.log(f"nextitem data: {json.dumps(self.report)}")
        self._negatives: dict[str, np.ndarray] = {}
        self._baseline_ranks: dict[str, dict[str, dict[str, np.ndarray]]] = {}
        return ModelSpec(input_size=self.width, output_size=self.width, readout="every_step",
                         loss="cross_entropy", stateful=self.opts["batching"] == "parallel",
                         tokens=True, padding_id=0, losses=LOSSES,
                         class_frequencies=self.frequencies())

    def frequencies(self) -> tuple[int, ...]:
        """(V,) how often each item occurs in the training sequences (0 for padding): the
        popularity proposal of the sampling losses. A tuple, so specs compare by value."""
        counts = np.bincount(np.concatenate(self.protocol.train), minlength=self.width)
        return tuple(int(c) for c in counts)

    def state_dict(self) -> dict[str, Any]:
        return {"items": list(self.catalogue.raw), "titles": list(self.catalogue.titles)}

    def train_batches(self, epoch: int, batch_size: int, seed: int):
        rng = np.random.default_rng([seed, epoch, 0x17E])
        if self.opts["batching"] == "parallel":
            order = rng.permutation(len(self.protocol.train))
            return ParallelBatches(self.protocol.train, order, batch_size, self.opts["window"])
        return PaddedBatches(self.pieces, rng.permutation(len(self.pieces)), batch_size)

    # ---- evaluation --------------------------------------------------------------------------

    def _check_split(self, split: str) -> None:
        if split not in SPLIT_CODE:
            raise DataError(f"the nextitem task has splits val and test, not {split!r}.")

    def negatives(self, split: str) -> np.ndarray | None:
        """(C, negatives) sampled items per leave-one-out question, fixed per split."""
        if self.protocol.name != "loo":
            return None
        if split not in self._negatives:
            cases = self.protocol.cases[split]
            self._negatives[split] = sample_negatives(
                cases.interacted(), self.catalogue.size, self.opts["negatives"],
                seed=np.random.SeedSequence([self.opts["eval_seed"], SPLIT_CODE[split]]).entropy)
        return self._negatives[split]

    def _ranks(self, chunks, split: str) -> dict[str, np.ndarray]:
        exclude = self.opts["exclude_seen"] and self.protocol.name == "loo"
        return evaluation.ranks(chunks, self.protocol.cases[split], self.negatives(split),
                                exclude)

    def model_ranks(self, predictor: Predictor, split: str) -> dict[str, np.ndarray]:
        self._check_split(split)
        context = self.opts["max_len"] if self.protocol.name == "loo" else None
        return self._ranks(evaluation.model_chunks(predictor, self.protocol.cases[split],
                                                   self.width, context), split)

    def _metrics(self, r: dict[str, np.ndarray]) -> dict[str, float]:
        if self.protocol.name == "loo":
            return evaluation.loo_metrics(r)
        return evaluation.session_metrics(r)

    def evaluate(self, predictor: Predictor, split: Split) -> dict[str, float]:
        return self._metrics(self.model_ranks(predictor, split))

    def baseline_ranks(self, split: str) -> dict[str, dict[str, np.ndarray]]:
        self._check_split(split)
        if split not in self._baseline_ranks:
            fitted = fit_all(self.protocol.train, self.catalogue.size)
            cases = self.protocol.cases[split]
            self._baseline_ranks[split] = {
                name: self._ranks(evaluation.baseline_chunks(b, cases, self.width), split)
                for name, b in fitted.items()}
        return self._baseline_ranks[split]

    def baselines(self, split: Split) -> dict[str, dict[str, float]]:
        if not self.opts["baselines"]:
            return {}
        return {name: self._metrics(r) for name, r in self.baseline_ranks(split).items()}

    def write_artefacts(self, predictor: Predictor, run_dir: Path) -> list[Path]:
        """``ranking_curves.png``/``.json`` (test HR@K, NDCG@K) and ``data.json`` (counts)."""
        run_dir = Path(run_dir)
        ranks = {"model": self.model_ranks(predictor, "test")}
        if self.opts["baselines"]:
            ranks.update(self.baseline_ranks("test"))
        title = (f"test, protocol {self.protocol.name}, {self.report['source']}: "
                 f"{self.report['users']} users, {self.catalogue.size} items")
        data = run_dir / "data.json"
        data.write_text(json.dumps(self.report, indent=1) + "\n", encoding="utf-8")
        return [*write_curves(ranks, run_dir, title), data]

    # ---- use ---------------------------------------------------------------------------------

    def recommend(self, predictor: Predictor, histories: list[list[Any]], k: int = 10,
                  exclude_seen: bool = True) -> list[list[Recommendation]]:
        """Per history (raw item ids, oldest first), the top ``k`` next items as
        ``(item id, score, title or None)``; items of the history are left out when
        ``exclude_seen``. Unknown ids raise a DataError listing them."""
        return recommend(predictor, self.catalogue, histories, k, exclude_seen,
                         self.opts["ids"], self.opts["max_len"])
