"""Where the translate task's sentence pairs come from: ``--data`` resolved to three splits.

``--data`` may be

* nothing, or ``sample``: the generated German--English sample shipped in this package
  (``data/``, see ``data/README.md``), read as a folder like any other;
* a **folder** ``DIR`` holding ``{train,val,test}.{SRC,TGT}`` (each plain or ``.gz``), one
  sentence a line, line N of ``SRC`` translated by line N of ``TGT``; the languages are the
  ``-o src`` / ``-o tgt`` suffixes (default ``de`` / ``en``);
* a **TSV file** of pairs, ``source<TAB>target`` (columns chosen with ``-o tsv_columns``, extra
  columns ignored), split into train / val / test at random as :func:`carve` says;
* ``hf:NAME`` -- a Hugging Face data set (:func:`seqframe.hfdata.load_hf`) either with a
  WMT-style ``translation`` column of ``{lang: sentence}`` dicts or with one column per language
  (named by the language codes, or ``-o hf_source`` / ``-o hf_target``); splits ``train``,
  ``validation``, ``test`` by default, an empty split name carves that split out of train.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqframe.errors import ConfigError, DataError

from .textio import read_sentences, read_tsv

DATA_DIR = Path(__file__).parent / "data"
BUILTIN = "sample"
SPLITS = ("train", "val", "test")
_SPLIT_FILE = re.compile(r"^(train|val|test)\.([A-Za-z][\w-]*?)(\.gz)?$")


@dataclass
class Pairs:
    """The raw sentence pairs of one split, and where they came from (for messages)."""

    source: list[str]
    target: list[str]
    origin: str

    def __len__(self) -> int:
        return len(self.source)


# ---- a folder of one-sentence-a-line files -----------------------------------------------------


def languages_in(folder: Path) -> list[str]:
    """Language suffixes of the ``{train,val,test}.LANG[.gz]`` files in ``folder``."""
    found = {m.group(2) for p in folder.iterdir() if (m := _SPLIT_FILE.match(p.name))}
    return sorted(found)


def split_file(folder: Path, split: str, lang: str) -> Path:
    """``folder/split.lang`` or ``folder/split.lang.gz``, whichever exists.

    Raises:
        DataError: neither exists (or both do), naming the languages the folder has.
    """
    plain, packed = folder / f"{split}.{lang}", folder / f"{split}.{lang}.gz"
    if plain.exists() and packed.exists():
        raise DataError(f"both {plain} and {packed} exist; keep one of them.")
    if plain.exists() or packed.exists():
        return plain if plain.exists() else packed
    found = languages_in(folder)
    if lang not in found:
        listed = ", ".join(found) if found else "none: it holds no {train,val,test}.LANG files"
        raise DataError(
            f"no {split}.{lang} (or {split}.{lang}.gz) in {folder}: language {lang!r} is not "
            f"there. Languages found in {folder}: {listed}. Choose them with -o src=LANG "
            "-o tgt=LANG."
        )
    raise DataError(
        f"missing split file {plain} (or {packed.name}); a data folder needs "
        f"train, val and test files for both languages ({', '.join(SPLITS)})."
    )


def read_folder(folder: Path, src: str, tgt: str) -> dict[str, Pairs]:
    """All three splits of a data folder (see the module docstring)."""
    if src == tgt:
        raise ConfigError(f"-o src and -o tgt are both {src!r}; give two different languages.")
    files = {split: (split_file(folder, split, src), split_file(folder, split, tgt))
             for split in SPLITS}
    out = {}
    for split, (src_path, tgt_path) in files.items():
        source, target = read_sentences(src_path), read_sentences(tgt_path)
        if len(source) != len(target):
            raise DataError(
                f"{src_path} has {len(source)} lines but {tgt_path} has {len(target)}; a "
                "parallel pair of files needs the same number of lines (line N of one "
                "translates line N of the other). Find the missing or extra lines and fix them."
            )
        out[split] = Pairs(source, target, f"{src_path} + {tgt_path.name}")
    return out


# ---- carving val and test out of one set of pairs ----------------------------------------------


def carve(pairs: Pairs, fractions: dict[str, float], seed: int) -> dict[str, Pairs]:
    """Split one set of pairs into train and the held-out splits of ``fractions`` (seeded).

    Each held-out split (``val``, ``test``, in that order) gets ``round(fraction * N)`` pairs,
    at least one, drawn from a permutation of the pairs seeded by ``seed``; the rest is train.
    Each split keeps the file's order. Identical pairs may fall into different splits:
    deduplicate the file first if that matters.

    Raises:
        ConfigError: a fraction outside (0, 1).
        DataError: too few pairs to hold the splits out and still train.
    """
    for name, value in fractions.items():
        if not 0.0 < value < 1.0:
            raise ConfigError(f"{name}_fraction must be between 0 and 1 (exclusive), got {value}.")
    n = len(pairs)
    sizes = {name: max(1, int(np.floor(f * n + 0.5))) for name, f in fractions.items()}
    if sum(sizes.values()) >= n:
        held = " and ".join(f"{k} for {name}" for name, k in sizes.items())
        raise DataError(
            f"{pairs.origin} has {n} pairs: too few to hold out {held} and still train. Give "
            "more pairs or smaller -o val_fraction / -o test_fraction."
        )
    order = np.random.default_rng(seed).permutation(n)
    parts, start = {}, 0
    for name, k in sizes.items():
        parts[name], start = order[start : start + k], start + k
    parts["train"] = order[start:]
    return {split: Pairs([pairs.source[i] for i in np.sort(rows)],
                         [pairs.target[i] for i in np.sort(rows)],
                         f"{pairs.origin} ({split}: {len(rows)} of {n} pairs, seed {seed})")
            for split, rows in parts.items()}


def parse_columns(raw: str) -> tuple[int, int]:
    """``"0,1"`` -> (0, 1): the TSV columns of the source and the target."""
    try:
        cols = tuple(int(c) for c in raw.split(","))
    except ValueError:
        cols = ()
    if len(cols) != 2 or min(cols) < 0 or cols[0] == cols[1]:
        raise ConfigError(
            f"-o tsv_columns must be two different column numbers 'S,T' counted from 0 (e.g. "
            f"'0,1', or '1,0' when the target comes first); got {raw!r}."
        )
    return cols  # type: ignore[return-value]


# ---- Hugging Face -------------------------------------------------------------------------------


def _hf_pairs(dataset: Any, spec: str, split: str, opts: dict) -> Pairs:
    src, tgt = opts["src"], opts["tgt"]
    column = opts["hf_column"]
    names = list(dataset.column_names)
    if column in names:
        def pick(row: dict, i: int) -> tuple[Any, Any]:
            entry = row[column] or {}
            missing = [lang for lang in (src, tgt) if lang not in entry]
            if missing:
                raise DataError(
                    f"{spec} split {split!r} row {i}: the {column!r} column has no "
                    f"{missing[0]!r} sentence (it has {', '.join(sorted(entry)) or 'none'}). "
                    "Choose the languages with -o src=LANG -o tgt=LANG."
                )
            return entry[src], entry[tgt]
    else:
        src_col, tgt_col = opts["hf_source"] or src, opts["hf_target"] or tgt
        absent = [c for c in (src_col, tgt_col) if c not in names]
        if absent:
            raise DataError(
                f"Hugging Face data set {spec!r} split {split!r} has neither a {column!r} "
                f"column of {{language: sentence}} dicts nor a column {absent[0]!r}; its columns "
                f"are {', '.join(names)}. Name the columns with -o hf_source=COL "
                "-o hf_target=COL (or the dict column with -o hf_column=COL)."
            )

        def pick(row: dict, i: int) -> tuple[Any, Any]:
            return row[src_col], row[tgt_col]

    source, target = [], []
    for i, row in enumerate(dataset):
        pair = pick(row, i)
        for side, sentence in zip(("source", "target"), pair, strict=True):
            if not isinstance(sentence, str) or not sentence.strip():
                raise DataError(f"{spec} split {split!r} row {i}: the {side} sentence is "
                                f"{sentence!r}; expected non-empty text.")
        source.append(pair[0].strip())
        target.append(pair[1].strip())
    if not source:
        raise DataError(f"{spec} split {split!r} has no rows.")
    return Pairs(source, target, f"{spec}[{split}]")


def read_hf(spec: str, opts: dict) -> dict[str, Pairs]:
    """Train, val and test pairs from a Hugging Face source (``-o hf_*`` options)."""
    from seqframe.hfdata import load_hf  # imports datasets lazily, with a clear error if missing

    dataset = load_hf(spec)
    available = list(getattr(dataset, "keys", lambda: [])())
    names = {"train": opts["hf_train_split"], "val": opts["hf_val_split"],
             "test": opts["hf_test_split"]}
    if not names["train"]:
        raise ConfigError("-o hf_train_split must name a split; only val and test can be carved "
                          "out of train.")
    wanted = [name for name in names.values() if name]
    absent = [name for name in wanted if name not in available]
    if absent:
        raise DataError(
            f"Hugging Face data set {spec!r} has no split {absent[0]!r} (it has: "
            f"{', '.join(available) or 'a single unnamed split'}). Pick them with "
            "-o hf_train_split=NAME -o hf_val_split=NAME -o hf_test_split=NAME; an empty name "
            "(-o hf_val_split=) carves that split out of train."
        )
    out = {split: _hf_pairs(dataset[name], spec, name, opts)
           for split, name in names.items() if name}
    carved = {split: opts[f"{split}_fraction"] for split in ("val", "test") if not names[split]}
    if carved:
        out.update(carve(out["train"], carved, opts["split_seed"]))
    return out


# ---- dispatch -----------------------------------------------------------------------------------


def load(data: str | None, opts: dict) -> dict[str, Pairs]:
    """Resolve ``--data`` (see the module docstring) to ``{"train", "val", "test"}`` pairs."""
    from seqframe.hfdata import is_hf_spec

    if is_hf_spec(data):
        return read_hf(data, opts)
    if data is None or (data.strip().lower() == BUILTIN and not Path(data).exists()):
        return read_folder(DATA_DIR, opts["src"], opts["tgt"])
    path = Path(data).expanduser()
    if path.is_dir():
        return read_folder(path, opts["src"], opts["tgt"])
    if path.is_file():
        pairs = read_tsv(path, parse_columns(opts["tsv_columns"]))
        fractions = {"val": opts["val_fraction"], "test": opts["test_fraction"]}
        return carve(Pairs(*pairs, str(path)), fractions, opts["split_seed"])
    raise DataError(
        f"--data {data!r} is not a folder, a file, the built-in sample ({BUILTIN!r}) or a "
        "Hugging Face source (hf:NAME). Pass a folder of {train,val,test}.{SRC,TGT} files, a "
        "TSV file of source<TAB>target pairs, or leave --data out for the built-in sample."
    )
