"""Registers the ``speech`` task; its module (and numpy/scipy work) loads only when selected."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register(
        "speech",
        "seqframe_speech.task:SpeechTask",
        "recognise spoken words in WAV files (FSDD digits; isolated words or CTC)",
    )
