"""Registers the ``adding`` task. The task module is imported only when a user selects it."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register(
        "adding",
        "seqframe_adding.task:AddingTask",
        "the adding problem: sum two marked numbers seen up to T steps earlier (long memory)",
    )
