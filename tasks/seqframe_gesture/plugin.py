"""Registers the ``gesture`` task; its module (and numpy work) loads only when selected."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register(
        "gesture",
        "seqframe_gesture.task:GestureTask",
        "classify variable-length sensor sequences (UCR/UEA .ts; Pickup gestures, vowels)",
    )
