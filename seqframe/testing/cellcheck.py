"""The Cell contract as executable checks, and one-call checks of a cell and of a backend."""

from __future__ import annotations

import re

import numpy as np

from ..cells.base import Cell
from ..ops import Ops
from ._common import Unavailable, collect, make_ops, reference_ops
from .numerics import SCENARIOS, check_step_gradients, check_window_gradients, check_window_parity
from .opscheck import check_ops
from .taskcheck import NAME_PATTERN


def _fail(cell: object, message: str) -> None:
    raise AssertionError(f"cell {getattr(cell, 'name', type(cell).__name__)!r}: {message}")


def check_cell_contract(cell_cls: type[Cell], input_size: int = 3, hidden: int = 4) -> None:
    """Class attributes, construction without arguments, ``init_params`` and ``zero_state``."""
    if not (isinstance(cell_cls, type) and issubclass(cell_cls, Cell)):
        _fail(cell_cls, f"{cell_cls!r} is not a subclass of seqframe.cells.Cell")
    cell = cell_cls()
    if not isinstance(getattr(cell, "name", None), str) or not re.match(NAME_PATTERN, cell.name):
        _fail(cell, "`name` must be lowercase letters, digits, - and _")
    if not isinstance(cell.gates, int) or cell.gates < 1:
        _fail(cell, f"`gates` is {cell.gates!r}; expected a positive int (G)")
    names = cell.state_names
    if not isinstance(names, tuple) or not names or names[0] != "h":
        _fail(cell, f"`state_names` is {names!r}; expected a tuple whose first entry is 'h'")
    params = cell.init_params(np.random.default_rng(0), input_size, hidden)
    gh = cell.gates * hidden
    expected = {"weight_ih": (gh, input_size), "weight_hh": (gh, hidden), "bias_ih": (gh,),
                "bias_hh": (gh,)}
    got = {k: np.shape(v) for k, v in params.items()}
    if got != expected:
        _fail(cell, f"init_params gave {got}; expected {expected} (G={cell.gates}, H={hidden}, "
                    f"D={input_size})")
    for name, value in params.items():
        if not np.isfinite(value).all() or not np.any(value):
            _fail(cell, f"init_params {name!r} is all zeros or not finite")
    again = cell.init_params(np.random.default_rng(0), input_size, hidden)
    if any(not np.array_equal(params[k], again[k]) for k in params):
        _fail(cell, "init_params is not deterministic in the generator it is given")
    state = cell.zero_state(reference_ops("float64"), 2, hidden)
    if len(state) != len(names) or any(np.shape(s) != (2, hidden) or np.any(s) for s in state):
        _fail(cell, f"zero_state gave {[np.shape(s) for s in state]}; expected "
                    f"{len(names)} zero arrays of shape (B, H) = (2, {hidden})")


def check_cell(cell_cls: type[Cell], backends: list[str] | None = None) -> list[str]:
    """Contract, step gradients, window gradients and parity of ``cell_cls`` on every backend.

    Args:
        cell_cls: the Cell subclass under test.
        backends: registered backend names; None means every installed one.

    Returns:
        The backends that were skipped because they cannot run here (with the reason).
    """
    from ._common import registered

    skipped: list[str] = []
    checks = [("contract", lambda: check_cell_contract(cell_cls))]
    for backend in backends or registered("backend"):
        try:
            ops64 = make_ops(backend, "float64")
        except Unavailable as exc:
            skipped.append(f"{backend}: {exc}")
            continue
        cell = cell_cls()
        checks += [
            (f"{backend} step gradients", lambda o=ops64, c=cell: check_step_gradients(c, o)),
            (f"{backend} window gradients",
             lambda o=ops64, c=cell: check_window_gradients(o, c)),
        ]
        checks += [(f"{backend} parity [{s.name}]",
                    lambda o=ops64, c=cell, s=s: check_window_parity(o, c, s))
                   for s in SCENARIOS]
    collect(checks)
    return skipped


def check_backend(ops_factory, cells: tuple[type[Cell], ...] | None = None,
                  dtypes: tuple[str, ...] = ("float32", "float64")) -> None:
    """The Ops contract, gradient checks and parity with numpy, for one backend.

    Args:
        ops_factory: ``dtype -> Ops`` (e.g. ``lambda dtype: MyOps(dtype=dtype)``), or a
            registered backend name.
        cells: the cells to check on it; the built-in rnn, lstm and gru by default.
        dtypes: the float dtypes the backend supports.
    """
    from ..cells import GRUCell, LSTMCell, RNNCell

    cells = cells or (RNNCell, LSTMCell, GRUCell)
    checks = []
    for dtype in dtypes:
        ops: Ops = make_ops(ops_factory, dtype)
        checks.append((f"ops contract {dtype}", lambda o=ops: check_ops(o)))
        for cell_cls in cells:
            cell = cell_cls()
            checks += [(f"{cell.name} parity {dtype} [{s.name}]",
                        lambda o=ops, c=cell, s=s: check_window_parity(o, c, s))
                       for s in SCENARIOS]
            if dtype == "float64":
                checks += [
                    (f"{cell.name} step gradients",
                     lambda o=ops, c=cell: check_step_gradients(c, o)),
                    (f"{cell.name} window gradients",
                     lambda o=ops, c=cell: check_window_gradients(o, c)),
                ]
    collect(checks)
