"""Registers the ``translate`` task; its module (and numpy work) loads only when selected."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register(
        "translate",
        "seqframe_translate.task:TranslateTask",
        "translate sentences (parallel text, TSV pairs or hf:; BLEU and chrF)",
    )
