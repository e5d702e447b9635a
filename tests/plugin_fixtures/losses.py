"""A third-party loss plugin: one loss registered lazily, one whose target cannot be imported."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_losses(register):
    register("abs-error", "tests.plugin_fixtures.loss_target:AbsoluteError",
             "mean absolute error over O values (a test plugin)")
    register("gone-loss", "tests.plugin_fixtures.no_such_module:Loss")
