"""A plugin whose registration hook raises after registering one name."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_backends(register):
    register("half-done", object)
    raise RuntimeError("registry exploded")
