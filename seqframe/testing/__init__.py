"""Conformance suites for seqframe plugins: run the checks the built-ins pass in your own CI.

Import a suite, subclass it as a pytest test class, say what it tests::

    from seqframe.testing import (BackendConformance, CellConformance, LossConformance,
                                  TaskConformance)

    class TestMyBackend(BackendConformance):
        backend = "mybackend"            # the registered name (or a factory dtype -> Ops)

    class TestMyCell(CellConformance):
        cell = MyCell                    # checked on every installed backend

    class TestMyLoss(LossConformance):
        loss = MyLoss                    # gradient-checked and compared on every backend

    class TestMyTask(TaskConformance):
        task = MyTask
        options = {"length": 20}
        def metric_cases(self, task):    # at least one hand-computed expectation
            return [MetricCase("val", FunctionPredictor(lambda x, mask: ...), {"mse": 0.5})]

Or call the checks directly, outside any test framework: :func:`check_ops`,
:func:`check_backend`, :func:`check_cell`, :func:`check_loss`, :func:`check_task`, and the
finer-grained :func:`check_step_gradients`, :func:`check_window_gradients`,
:func:`check_window_parity`, :func:`check_backend_neutrality` (the rule it enforces is
:data:`NEUTRALITY_RULE`) and the ``check_loss_*`` functions.
Every check raises ``AssertionError`` saying what broke. The suites need pytest.
"""

from .cellcheck import check_backend, check_cell, check_cell_contract, check_cell_registered
from .losscheck import (
    LossCase,
    check_loss,
    check_loss_combine,
    check_loss_contract,
    check_loss_count,
    check_loss_gradients,
    check_loss_masking,
    check_loss_options,
    check_loss_parity,
    check_loss_registered,
    make_case,
)
from .neutrality import NEUTRALITY_RULE, check_backend_neutrality
from .numerics import (
    SCENARIOS,
    Scenario,
    check_step_gradients,
    check_window_gradients,
    check_window_parity,
)
from .opscheck import OPS_CHECKS, check_ops
from .predictors import ConstantPredictor, FunctionPredictor, MetricCase
from .taskcheck import check_batch, check_task

__all__ = [
    "BackendConformance",
    "CellConformance",
    "LossConformance",
    "TaskConformance",
    "ConstantPredictor",
    "FunctionPredictor",
    "LossCase",
    "MetricCase",
    "NEUTRALITY_RULE",
    "OPS_CHECKS",
    "SCENARIOS",
    "Scenario",
    "check_backend",
    "check_backend_neutrality",
    "check_batch",
    "check_cell",
    "check_cell_contract",
    "check_cell_registered",
    "check_loss",
    "check_loss_combine",
    "check_loss_contract",
    "check_loss_count",
    "check_loss_gradients",
    "check_loss_masking",
    "check_loss_options",
    "check_loss_parity",
    "check_loss_registered",
    "check_ops",
    "check_step_gradients",
    "check_task",
    "check_window_gradients",
    "check_window_parity",
    "make_case",
]


def __getattr__(name: str):
    # The pytest classes import pytest; load them only when asked, so check_* work without it.
    if name in ("BackendConformance", "CellConformance", "LossConformance", "TaskConformance"):
        from . import suites

        return getattr(suites, name)
    raise AttributeError(f"module 'seqframe.testing' has no attribute {name!r}")
