"""Registrations whose targets fail only when selected."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_backends(register):
    register("needs-torch", "tests.plugin_fixtures.imports_torch:Backend")
    register("gone", "tests.plugin_fixtures.no_such_module:Backend")

