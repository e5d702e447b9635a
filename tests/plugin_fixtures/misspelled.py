"""A plugin with a misspelled hook name (singular ``task``)."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_task(register):
    register("never", object)
