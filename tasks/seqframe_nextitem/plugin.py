"""Registers the ``nextitem`` task and its ranking losses; their modules load only when used."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register(
        "nextitem",
        "seqframe_nextitem.task:NextItemTask",
        "next-item recommendation (MovieLens, RecBole, SASRec, GRU4Rec sessions)",
    )


@hookimpl
def seqframe_register_losses(register):
    # through the same door a third-party loss plugin uses (lazy "module:Class" targets)
    register("bpr_max", "seqframe_nextitem.losses:BPRMax",
             "BPR-max ranking loss, in-batch and popularity-sampled negatives (GRU4Rec)")
    register("top1_max", "seqframe_nextitem.losses:TOP1Max",
             "TOP1-max ranking loss, in-batch and popularity-sampled negatives (GRU4Rec)")
