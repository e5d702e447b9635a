"""Conformance suites as pytest classes: subclass one as ``Test...`` and set what it tests.

The base classes are not named ``Test*``, so pytest collects only your subclass. Each test of a
suite is one behaviour of the contract, parametrized (by a class-level ``pytest_generate_tests``)
over backends, dtypes, cells and scenarios, so a failure names exactly what broke.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from ..cells.base import Cell
from ..losses.base import Loss
from ..ops import Ops
from ..task import Seq2SeqSpec, Task
from ._common import Unavailable, load, make_ops, registered
from .cellcheck import check_cell_contract, check_cell_registered
from .losscheck import (
    LossCase,
    check_loss_combine,
    check_loss_contract,
    check_loss_count,
    check_loss_gradients,
    check_loss_masking,
    check_loss_options,
    check_loss_parity,
    check_loss_registered,
    default_spec,
    make_case,
)
from .neutrality import check_backend_neutrality
from .numerics import (
    SCENARIOS,
    Scenario,
    check_step_gradients,
    check_window_gradients,
    check_window_parity,
)
from .opscheck import OPS_CHECKS
from .predictors import MetricCase
from .seq2seqcheck import core_takes
from .taskcheck import (
    check_artefacts,
    check_baselines,
    check_batch,
    check_determinism,
    check_evaluate,
    check_member_options,
    check_metric_cases,
    check_model_spec,
    check_state_round_trip,
    check_task_class,
    check_train_batches,
)


def _ops_or_skip(backend: Any, dtype: str, device: str | None = None) -> Ops:
    try:
        return make_ops(backend, dtype, device)
    except Unavailable as exc:
        pytest.skip(str(exc))


def _load_or_skip(kind: str, name: str) -> Any:
    try:
        return load(kind, name)
    except Unavailable as exc:
        pytest.skip(str(exc))


def _parametrize(metafunc, name: str, values: list, ids=None) -> None:
    if name in metafunc.fixturenames:
        metafunc.parametrize(name, values, ids=ids)


def _scenario_ids(scenario: Scenario) -> str:
    return scenario.name


class BackendConformance:
    """The contract of a backend plugin.

    Set ``backend`` to the registered name (``"mybackend"``), or to a factory
    ``dtype -> Ops`` to test a class before it is installed. Example::

        from seqframe.testing import BackendConformance

        class TestMyBackend(BackendConformance):
            backend = "mybackend"
    """

    backend: ClassVar[str | Callable[[str], Ops] | None] = None
    dtypes: ClassVar[tuple[str, ...]] = ("float32", "float64")
    cells: ClassVar[tuple[str, ...]] = ("rnn", "lstm", "gru")
    device: ClassVar[str | None] = None
    scenarios: ClassVar[tuple[Scenario, ...]] = SCENARIOS

    def pytest_generate_tests(self, metafunc) -> None:
        _parametrize(metafunc, "dtype", list(self.dtypes))
        _parametrize(metafunc, "ops_check", list(OPS_CHECKS))
        _parametrize(metafunc, "cell_name", list(self.cells))
        _parametrize(metafunc, "scenario", list(self.scenarios), ids=_scenario_ids)

    def make_ops(self, dtype: str) -> Ops:
        if self.backend is None:
            pytest.fail(f"{type(self).__name__} sets no `backend`")
        return _ops_or_skip(self.backend, dtype, self.device)

    def test_registered(self) -> None:
        if not isinstance(self.backend, str):
            pytest.skip("`backend` is a factory, not a registered name")
        cls = _load_or_skip("backend", self.backend)
        assert isinstance(cls, type) and issubclass(cls, Ops), f"{cls!r} is not an Ops subclass"
        assert self.make_ops("float32").name == self.backend, (
            f"the Ops class's `name` is {cls.name!r}; set it to the registered name "
            f"{self.backend!r}")

    def test_ops_contract(self, dtype: str, ops_check: str) -> None:
        OPS_CHECKS[ops_check](self.make_ops(dtype), __import__("numpy").random.default_rng(0))

    def test_step_gradients(self, cell_name: str) -> None:
        check_step_gradients(_load_or_skip("cell", cell_name)(), self.make_ops("float64"))

    def test_window_gradients(self, cell_name: str) -> None:
        check_window_gradients(self.make_ops("float64"), _load_or_skip("cell", cell_name)())

    def test_window_parity_with_numpy(self, dtype: str, cell_name: str,
                                      scenario: Scenario) -> None:
        check_window_parity(self.make_ops(dtype), _load_or_skip("cell", cell_name)(), scenario)


class CellConformance:
    """The contract of a cell plugin, checked on every installed backend.

    Set ``cell`` to the Cell subclass (or its registered name). ``backends`` None means every
    registered backend; one that cannot run here (e.g. torch not installed) is skipped.
    Example::

        from seqframe.testing import CellConformance
        from seqframe_mgu.cell import MGUCell

        class TestMGU(CellConformance):
            cell = MGUCell
    """

    cell: ClassVar[type[Cell] | str | None] = None
    backends: ClassVar[tuple[str, ...] | None] = None
    scenarios: ClassVar[tuple[Scenario, ...]] = SCENARIOS

    def pytest_generate_tests(self, metafunc) -> None:
        _parametrize(metafunc, "backend_name", list(self.backends or registered("backend")))
        _parametrize(metafunc, "dtype", ["float32", "float64"])
        _parametrize(metafunc, "scenario", list(self.scenarios), ids=_scenario_ids)

    def cell_class(self) -> type[Cell]:
        if self.cell is None:
            pytest.fail(f"{type(self).__name__} sets no `cell`")
        return _load_or_skip("cell", self.cell) if isinstance(self.cell, str) else self.cell

    def test_contract(self) -> None:
        check_cell_contract(self.cell_class())

    def test_registered(self) -> None:
        """The installed plugin registers this cell under its ``name``."""
        try:
            check_cell_registered(self.cell_class())
        except Unavailable as exc:
            pytest.skip(str(exc))

    def test_backend_neutrality(self, backend_name: str) -> None:
        """The cell computes only through ``ops`` (see NEUTRALITY_RULE)."""
        check_backend_neutrality(self.cell_class()(), _ops_or_skip(backend_name, "float32"))

    def test_step_gradients(self, backend_name: str) -> None:
        check_step_gradients(self.cell_class()(), _ops_or_skip(backend_name, "float64"))

    def test_window_gradients(self, backend_name: str) -> None:
        check_window_gradients(_ops_or_skip(backend_name, "float64"), self.cell_class()())

    def test_window_parity_with_numpy(self, backend_name: str, dtype: str,
                                      scenario: Scenario) -> None:
        if backend_name == "numpy" and dtype == "float64":
            pytest.skip("numpy float64 is the reference itself")
        check_window_parity(_ops_or_skip(backend_name, dtype), self.cell_class()(), scenario)


class LossConformance:
    """The contract of a loss plugin, checked on every installed backend.

    Set ``loss`` to the Loss subclass (or its registered name); ``options`` are the
    ``loss_options`` the numerical tests use. Override :meth:`make_case` when the loss needs
    targets other than :func:`seqframe.testing.losscheck.make_case` draws (a label layout of
    your own, say). Example::

        from seqframe.testing import LossConformance
        from seqframe_huber.loss import HuberLoss

        class TestHuber(LossConformance):
            loss = HuberLoss
            options = {"delta": 0.5}
    """

    loss: ClassVar[type[Loss] | str | None] = None
    options: ClassVar[dict[str, Any]] = {}
    backends: ClassVar[tuple[str, ...] | None] = None
    size: ClassVar[int] = 3  # the task's O
    class_frequencies: ClassVar[Any] = None  # what prepare() finds in the ModelSpec
    seed: ClassVar[int] = 0

    def pytest_generate_tests(self, metafunc) -> None:
        _parametrize(metafunc, "backend_name", list(self.backends or registered("backend")))
        _parametrize(metafunc, "dtype", ["float32", "float64"])

    def loss_class(self) -> type[Loss]:
        if self.loss is None:
            pytest.fail(f"{type(self).__name__} sets no `loss`")
        return _load_or_skip("loss", self.loss) if isinstance(self.loss, str) else self.loss

    def make_loss(self) -> Loss:
        """The loss with ``options``, prepared with a ModelSpec of O = ``size``."""
        loss = self.loss_class()(**self.options)
        loss.prepare(default_spec(loss, self.size, self.class_frequencies))
        return loss

    def make_case(self, loss: Loss) -> LossCase:
        """The inputs every numerical test uses; override for targets of your own."""
        return make_case(loss, np.random.default_rng(self.seed), size=self.size)

    def _run(self, check, backend_name: str, dtype: str = "float64") -> None:
        loss = self.make_loss()
        check(loss, _ops_or_skip(backend_name, dtype), self.make_case(loss), seed=self.seed)

    def test_contract(self) -> None:
        check_loss_contract(self.loss_class())

    def test_registered(self) -> None:
        """The installed plugin registers this loss under its ``name``."""
        try:
            check_loss_registered(self.loss_class())
        except Unavailable as exc:
            pytest.skip(str(exc))

    def test_options_are_validated(self) -> None:
        check_loss_options(self.loss_class())

    def test_gradients(self, backend_name: str) -> None:
        self._run(check_loss_gradients, backend_name)

    def test_masking(self, backend_name: str) -> None:
        self._run(check_loss_masking, backend_name)

    def test_reduction_by_count(self, backend_name: str) -> None:
        self._run(check_loss_count, backend_name)

    def test_parity_with_numpy(self, backend_name: str, dtype: str) -> None:
        if backend_name == "numpy" and dtype == "float64":
            pytest.skip("numpy float64 is the reference itself")
        self._run(check_loss_parity, backend_name, dtype)

    def test_combine(self) -> None:
        loss = self.make_loss()
        check_loss_combine(loss, self.make_case(loss), seed=self.seed)


class TaskConformance:
    """The contract of a task plugin: batches, determinism, checkpoint state, metrics.

    Set ``task`` (the Task subclass or its registered name) and, if needed, ``options`` and
    ``data``; override :meth:`metric_cases` with at least one hand-computed case. Example::

        from seqframe.testing import FunctionPredictor, MetricCase, TaskConformance

        class TestSine(TaskConformance):
            task = SineTask
            options = {"length": 20}

            def metric_cases(self, task):
                zeros = FunctionPredictor(lambda x, mask: 0 * x[..., :1])
                return [MetricCase("val", zeros, {"mse": ...})]
    """

    task: ClassVar[type[Task] | str | None] = None
    options: ClassVar[dict[str, Any]] = {}
    data: ClassVar[str | None] = None
    batch_size: ClassVar[int] = 4
    seed: ClassVar[int] = 0
    max_batches: ClassVar[int] = 3
    check_artefacts: ClassVar[bool] = True

    def metric_cases(self, task: Task) -> list[MetricCase]:
        """Hand-computed metric expectations for the prepared ``task``; override this."""
        return []

    @classmethod
    def task_class(cls) -> type[Task]:
        if cls.task is None:
            pytest.fail(f"{cls.__name__} sets no `task`")
        return _load_or_skip("task", cls.task) if isinstance(cls.task, str) else cls.task

    @classmethod
    def make_task(cls) -> Task:
        return cls.task_class()(options=dict(cls.options), data=cls.data)

    @pytest.fixture(scope="class")
    @classmethod
    def prepared(cls):
        """``(task, spec)``: one prepared instance shared by the class's read-only tests."""
        task = cls.make_task()
        return task, task.prepare()

    def test_class_contract(self) -> None:
        check_task_class(self.task_class())

    def test_registered(self) -> None:
        cls = self.task_class()
        assert cls.name in registered("task"), (
            f"no plugin registers a task named {cls.name!r}; is the package installed and its "
            f"entry point in the 'seqframe' group?")
        assert _load_or_skip("task", cls.name) is cls

    def test_model_spec(self, prepared) -> None:
        check_model_spec(*prepared)

    def test_train_batches(self, prepared) -> None:
        check_train_batches(*prepared, self.batch_size, self.seed, self.max_batches)

    def test_core_accepts_the_batches(self, prepared) -> None:
        """seqframe's own window builder takes the batches as they are."""
        from ..engine.window import to_window
        from ._common import reference_ops
        from .taskcheck import target_kind

        task, spec = prepared
        for batch in check_train_batches(task, spec, self.batch_size, self.seed, 1):
            check_batch(task, spec, batch, self.batch_size, "train batch")
            if isinstance(spec, Seq2SeqSpec):  # a tiny encoder-decoder trains on it
                core_takes(spec, batch)
                continue
            to_window(reference_ops("float32"), batch,
                      sequences=target_kind(spec) == "sequences")

    def test_train_batches_are_deterministic(self) -> None:
        check_determinism(self.make_task, self.batch_size, self.seed, self.max_batches)

    def test_state_dict_round_trip(self) -> None:
        check_state_round_trip(self.make_task, self.batch_size, self.seed, self.max_batches)

    def test_evaluate(self, prepared) -> None:
        check_evaluate(*prepared)

    def test_baselines(self, prepared) -> None:
        check_baselines(prepared[0])

    def test_member_options(self, prepared) -> None:
        check_member_options(prepared[0])

    def test_metric_cases(self, prepared) -> None:
        cases = self.metric_cases(prepared[0])
        if not cases:
            pytest.skip("no metric cases: override metric_cases() with a hand-computed one")
        check_metric_cases(prepared[0], cases)

    def test_write_artefacts(self, prepared, tmp_path: Path) -> None:
        if not self.check_artefacts:
            pytest.skip("check_artefacts = False")
        check_artefacts(*prepared, tmp_path)
