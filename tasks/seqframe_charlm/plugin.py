"""Registers the ``charlm`` task; the task module is imported only when a run selects it."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register(
        "charlm",
        "seqframe_charlm.task:CharLMTask",
        "character-level language modelling (next-character prediction, stateful streams)",
    )
