"""The Cell contract as executable checks, and one-call checks of a cell and of a backend."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..cells.base import Cell
from ..engine.recurrence import WEIGHT_NAMES as PROJECTIONS
from ..ops import Ops
from ._common import Unavailable, collect, load, make_ops, reference_ops, registered
from .neutrality import check_backend_neutrality
from .numerics import SCENARIOS, check_step_gradients, check_window_gradients, check_window_parity
from .opscheck import check_ops
from .taskcheck import NAME_PATTERN

Check = tuple[str, Callable[[], None]]  # a named check that raises AssertionError on failure


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
    _check_own_params(cell, input_size, hidden)
    gh = cell.gates * hidden
    declared = cell.param_shapes(input_size, hidden)
    projections = {"weight_ih": (gh, input_size), "bias_ih": (gh,)}
    if cell.recurrent:
        projections.update({"weight_hh": (gh, hidden), "bias_hh": (gh,)})
    if not cell.bias:
        projections = {k: v for k, v in projections.items() if not k.startswith("bias_")}
    wrong = {k: v for k, v in projections.items() if declared.get(k) != v}
    if wrong or set(PROJECTIONS) & set(declared) - set(projections):
        _fail(cell, f"param_shapes gave {declared}; the projections must be {projections} "
                    f"(G={cell.gates}, H={hidden}, D={input_size}, recurrent={cell.recurrent}, "
                    f"bias={cell.bias}); declare anything else in own_param_shapes under other "
                    f"names")
    params = cell.init_params(np.random.default_rng(0), input_size, hidden)
    got = {k: np.shape(v) for k, v in params.items()}
    if got != declared:
        _fail(cell, f"init_params gave {got}; expected what param_shapes declares: {declared}")
    for name, value in params.items():
        if not np.isfinite(value).all():
            _fail(cell, f"init_params {name!r} is not finite")
    if not np.any(params["weight_ih"]):
        _fail(cell, "init_params 'weight_ih' is all zeros: every unit would learn the same")
    again = cell.init_params(np.random.default_rng(0), input_size, hidden)
    if any(not np.array_equal(params[k], again[k]) for k in params):
        _fail(cell, "init_params is not deterministic in the generator it is given")
    state = cell.zero_state(reference_ops("float64"), 2, hidden)
    if len(state) != len(names) or any(np.shape(s) != (2, hidden) or np.any(s) for s in state):
        _fail(cell, f"zero_state gave {[np.shape(s) for s in state]}; expected "
                    f"{len(names)} zero arrays of shape (B, H) = (2, {hidden})")


def _check_own_params(cell: Cell, input_size: int, hidden: int) -> None:
    """Own parameters: named apart from the projections (the engine tells them apart by name),
    usable as a parameter-name stem, shaped by positive ints, the same names for any D and H."""
    own = cell.own_param_shapes(input_size, hidden)
    if not isinstance(own, dict):
        _fail(cell, f"own_param_shapes returned {type(own).__name__}; expected a dict "
                    f"name -> shape")
    clash = sorted(set(own) & set(PROJECTIONS))
    if clash:
        _fail(cell, f"own_param_shapes declares {clash}, a projection's name; the engine computes "
                    f"the projections itself, so name the cell's own parameters otherwise "
                    f"(e.g. 'weight_hh_diag')")
    for name, shape in own.items():
        if not (isinstance(name, str) and re.fullmatch(r"[a-z][a-z0-9_]*", name)):
            _fail(cell, f"own parameter name {name!r} must be lowercase letters, digits and _ "
                        f"(it becomes NAME_l0, NAME_l1_reverse, ... in checkpoints)")
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n > 0 for n in shape)):
            _fail(cell, f"own parameter {name!r} has shape {shape!r}; expected a tuple of "
                        f"positive ints")
    wider = cell.own_param_shapes(input_size + 1, hidden + 1)
    if set(wider) != set(own):
        _fail(cell, f"own_param_shapes names {sorted(own)} for (D, H) = ({input_size}, {hidden}) "
                    f"but {sorted(wider)} for ({input_size + 1}, {hidden + 1}); the names must "
                    f"not depend on the sizes")


def check_cell_registered(cell_cls: type[Cell]) -> None:
    """An installed plugin registers ``cell_cls`` under the cell's ``name``; for a layer-normalised
    variant (:data:`seqframe.cells.LAYER_NORM_VARIANTS`), its plain cell is registered and
    ``--layer-norm`` reaches the variant from it."""
    from ..cells import LAYER_NORM_VARIANTS

    base = next((b for b, v in LAYER_NORM_VARIANTS.items() if v is cell_cls), None)
    if base is not None:
        check_cell_registered(base)
        return
    if cell_cls.name not in registered("cell"):
        _fail(cell_cls, f"no plugin registers a cell named {cell_cls.name!r}; is the package "
                        f"installed and its entry point in the 'seqframe' group?")
    if load("cell", cell_cls.name) is not cell_cls:
        _fail(cell_cls, f"the name {cell_cls.name!r} loads {load('cell', cell_cls.name)!r}, not "
                        f"{cell_cls!r}; register the class under its own `name`")


@dataclass(frozen=True)
class CheckResult:
    """One named check: ``PASS``, ``FAIL`` or ``SKIP``, and why (for FAIL and SKIP)."""

    name: str
    status: str
    reason: str = ""

    def line(self) -> str:
        """``STATUS name``, and the reason's first line when there is one."""
        why = self.reason.strip().splitlines()[0] if self.reason.strip() else ""
        return f"{self.status} {self.name}" + (f": {why}" if why else "")


def cell_checks(cell_cls: type[Cell], backend: str, *, device: str | None = None,
                window_gradients: bool = True) -> tuple[list[Check], list[CheckResult]]:
    """:class:`~seqframe.testing.CellConformance`'s tests of ``cell_cls`` on one backend.

    Backend neutrality (float32), step and window gradients (float64), and window parity with
    the numpy float64 reference for every scenario in float32 and float64 (except numpy float64,
    the reference itself).

    Args:
        cell_cls: the Cell subclass under test.
        backend: a registered backend name.
        device: passed to the backend class; None uses its default.
        window_gradients: include the window gradient check (``seqframe check`` prints its own).

    Returns:
        The ``(name, check)`` pairs to run, and a SKIP result per dtype that cannot run here.
    """
    ops: dict[str, Ops] = {}
    skipped = []
    for dtype in ("float32", "float64"):
        try:
            ops[dtype] = make_ops(backend, dtype, device)
        except Unavailable as exc:
            skipped.append(CheckResult(f"{backend} {dtype}", "SKIP", str(exc)))
    checks: list[Check] = []
    if ops:
        first = next(iter(ops.values()))
        checks.append((f"{backend} backend neutrality",
                       lambda: check_backend_neutrality(cell_cls(), first)))
    if "float64" in ops:
        ops64 = ops["float64"]
        checks.append((f"{backend} step gradients",
                       lambda: check_step_gradients(cell_cls(), ops64)))
        if window_gradients:
            checks.append((f"{backend} window gradients",
                           lambda: check_window_gradients(ops64, cell_cls())))
    for dtype, o in ops.items():
        if (backend, dtype) != ("numpy", "float64"):
            checks += [(f"{backend} parity {dtype} [{s.name}]",
                        lambda o=o, s=s: check_window_parity(o, cell_cls(), s))
                       for s in SCENARIOS]
    return checks, skipped


def run_checks(checks: list[Check]) -> list[CheckResult]:
    """Run every check; any exception is that check's failure, not the end of the run."""
    results = []
    for name, check in checks:
        try:
            check()
        except AssertionError as exc:
            results.append(CheckResult(name, "FAIL", str(exc)))
        except Exception as exc:  # a broken cell may raise anything; report it like a failure
            results.append(CheckResult(name, "FAIL", f"raised {type(exc).__name__}: {exc}"))
        else:
            results.append(CheckResult(name, "PASS"))
    return results


def check_cell(cell_cls: type[Cell], backends: list[str] | None = None) -> list[str]:
    """The contract, then :func:`cell_checks` on every backend, all run before failing.

    Args:
        cell_cls: the Cell subclass under test.
        backends: registered backend names; None means every installed one.

    Returns:
        What was skipped because it cannot run here (backend and dtype, with the reason).

    Raises:
        AssertionError: listing every check that failed.
    """
    checks: list[Check] = [("contract", lambda: check_cell_contract(cell_cls))]
    skipped: list[CheckResult] = []
    for backend in backends or registered("backend"):
        more, cannot = cell_checks(cell_cls, backend)
        checks += more
        skipped += cannot
    failures = [f"{r.name}: {r.reason}" for r in run_checks(checks) if r.status == "FAIL"]
    if failures:
        raise AssertionError(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
    return [f"{r.name}: {r.reason}" for r in skipped]


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
