"""What this distribution adds to seqframe: one task, registered lazily by name."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register("sine", "seqframe_sine.task:SineTask", "forecast the next value of a noisy sine wave")
