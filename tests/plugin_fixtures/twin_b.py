"""Registers the task name ``twin`` too."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register("twin", object, "the second twin")
