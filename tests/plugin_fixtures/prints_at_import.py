"""A plugin that prints when imported and when its hook runs, and registers one task."""

from seqframe import hookimpl

print("hello from a chatty plugin")


@hookimpl
def seqframe_register_tasks(register):
    print("registering!")
    register("chatty-task", "tests.plugin_fixtures.exits_in_target:Task")
