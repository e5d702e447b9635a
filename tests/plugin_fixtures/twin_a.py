"""Registers the task name ``twin``."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register("twin", object, "the first twin")
