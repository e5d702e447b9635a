"""Registers the ``nextitem`` task; its module (and numpy work) loads only when selected."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register(
        "nextitem",
        "seqframe_nextitem.task:NextItemTask",
        "next-item recommendation (MovieLens, RecBole, SASRec, GRU4Rec sessions)",
    )
