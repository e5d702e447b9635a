"""seqframe: recurrent sequence models with hand-written BPTT, pluggable backends and tasks."""

from importlib.metadata import PackageNotFoundError, version

from .hookspecs import hookimpl

try:
    __version__ = version("seqframe")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["hookimpl", "__version__"]
