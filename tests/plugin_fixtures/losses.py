"""A third-party loss plugin: losses registered lazily, one whose target cannot be imported,
and a task that restricts the losses a run may choose (``ModelSpec.losses``)."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_losses(register):
    register("abs-error", "tests.plugin_fixtures.loss_target:AbsoluteError",
             "mean absolute error over O values (a test plugin)")
    register("sequence-mse", "tests.plugin_fixtures.loss_target:SequenceMSE",
             "per-sequence mean squared error (a test plugin)")
    register("gone-loss", "tests.plugin_fixtures.no_such_module:Loss")


@hookimpl
def seqframe_register_tasks(register):
    register("picky-adding", "tests.plugin_fixtures.loss_target:PickyAdding",
             "the adding problem, allowing only its own loss and abs-error")
