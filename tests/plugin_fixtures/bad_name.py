"""Registers a name users could not type."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_cells(register):
    register("Bad Name", object)
