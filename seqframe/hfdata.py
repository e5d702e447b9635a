"""Hugging Face ``datasets`` as a data source for any task: ``--data hf:NAME[:CONFIG]``.

``NAME`` is a hub dataset (``hf:karpathy/tiny_shakespeare``), a local folder of data files or of
``Dataset.save_to_disk`` output, or a single local data file (``hf:/data/train.parquet``). The hub
is reached through ``datasets`` itself (its cache, its ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE``
switches); when it cannot be reached the error says so and what to do instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import DataError, MissingDependencyError

PREFIX = "hf:"
_BUILDER_OF_SUFFIX = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
    ".txt": "text",
    ".arrow": "arrow",
}


def is_hf_spec(data: str | None) -> bool:
    """True when ``--data`` names a Hugging Face source (``hf:...``)."""
    return isinstance(data, str) and data.startswith(PREFIX)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``hf:NAME[:CONFIG]`` -> (NAME, CONFIG or None)."""
    if not is_hf_spec(spec):
        raise DataError(f"{spec!r} is not a Hugging Face source; expected 'hf:NAME[:CONFIG]'.")
    body = spec[len(PREFIX):]
    if not body:
        raise DataError("empty Hugging Face dataset name in 'hf:'; expected 'hf:NAME[:CONFIG]'.")
    if Path(body).exists():  # a local path may itself contain ':'
        return body, None
    name, _, config = body.partition(":")
    return name, (config or None)


def looks_local(name: str) -> bool:
    """Whether ``hf:NAME`` names a local file or folder rather than a hub data set."""
    return (name.startswith(("/", "./", "../", "~", ".\\", "..\\"))
            or Path(name).suffix.lower() in _BUILDER_OF_SUFFIX)


def _import_datasets() -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependencyError(
            "reading Hugging Face data sets needs the 'datasets' package, which is not "
            "installed. Install it with: pip install 'seqframe[hf]'"
        ) from exc
    return datasets


def load_hf(spec: str, split: str | None = None) -> Any:
    """Load a Hugging Face data set (``datasets.Dataset`` or ``DatasetDict`` when no split).

    Raises:
        MissingDependencyError: ``datasets`` is not installed.
        DataError: the data set cannot be found or reached (e.g. no network), or has no such
            split; the message names the source and what to do.
    """
    name, config = parse_spec(spec)
    path = Path(name).expanduser()
    if looks_local(name) and not path.exists():
        raise DataError(
            f"local path {name!r} of --data {spec!r} does not exist (a name starting with '/', "
            f"'.' or '~', or ending in a data file suffix, is read from disk, not from the "
            f"hub). Check the path; a hub data set is named like 'owner/name'.")
    datasets = _import_datasets()
    try:
        saved = ("dataset_info.json", "state.json", "dataset_dict.json")  # save_to_disk output
        if path.is_dir() and any((path / f).exists() for f in saved):
            loaded = datasets.load_from_disk(str(path))
            return loaded[split] if split is not None else loaded
        if path.is_file():
            builder = _BUILDER_OF_SUFFIX.get(path.suffix.lower())
            if builder is None:
                raise DataError(
                    f"cannot tell the format of {name!r}; use one of "
                    f"{', '.join(sorted(_BUILDER_OF_SUFFIX))}."
                )
            return datasets.load_dataset(builder, data_files=str(path), split=split or "train")
        return datasets.load_dataset(name, config, split=split)
    except DataError:
        raise
    except KeyError as exc:
        raise DataError(f"Hugging Face data set {name!r} has no split {split!r}.") from exc
    except Exception as exc:  # datasets raises many types: connection, not-found, offline
        offline = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("HF_DATASETS_OFFLINE")
        reason = ("offline mode is on" if offline
                  else "it is not in the local cache and the hub could not be reached")
        raise DataError(
            f"could not load Hugging Face data set {name!r}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''} ({reason}). Download it on a machine "
            f"with network access (it is then cached), or pass a local file or folder, e.g. "
            f"--data hf:/path/to/data.parquet or --data /path/to/file."
        ) from exc
