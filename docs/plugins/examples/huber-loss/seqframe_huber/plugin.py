"""What this distribution adds to seqframe: one loss."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_losses(register):
    # A lazy "module:Class" string: loss.py is imported only when a run chooses the loss.
    register("huber", "seqframe_huber.loss:HuberLoss",
             "Huber loss: squared error below delta, absolute error above (robust)")
