"""seqframe: recurrent sequence models with hand-written BPTT, pluggable backends and tasks.

The public Python API (see docs/reference/python-api.md)::

    import seqframe
    run = seqframe.train(task="timeseries", backend="numpy", steps=50)
    run.evaluate("test")
    seqframe.load(run.dir, backend="torch").forecast(horizon=12)

and the contracts plugin authors implement: :class:`Ops`, :class:`Cell`, :class:`Task` (with
:class:`Batch`, :class:`ModelSpec`, :class:`TaskOption`) and the :data:`hookimpl` marker.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seqframe")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from .cells import Cell
from .config import RunConfig
from .errors import (
    ConfigError,
    DataError,
    MissingDependencyError,
    NonFiniteError,
    PluginError,
    RunFailedError,
    SeqframeError,
    ShapeError,
    UnknownNameError,
    UsageError,
)
from .hookspecs import hookimpl
from .ops import Ops
from .runs.api import Run, load, resume, train
from .task import Batch, ModelSpec, Task, TaskOption
from .training.trainer import Interrupted

__all__ = [
    "Batch",
    "Cell",
    "ConfigError",
    "DataError",
    "Interrupted",
    "MissingDependencyError",
    "ModelSpec",
    "NonFiniteError",
    "Ops",
    "PluginError",
    "Run",
    "RunConfig",
    "RunFailedError",
    "SeqframeError",
    "ShapeError",
    "Task",
    "TaskOption",
    "UnknownNameError",
    "UsageError",
    "__version__",
    "hookimpl",
    "load",
    "resume",
    "train",
]
