"""Registers the built-in losses through the same entry-point door as any third-party plugin."""

from ..hookspecs import hookimpl
from .classification import CrossEntropy, SampledSoftmax
from .ctc import CTC
from .regression import MSE, GaussianNLL


@hookimpl
def seqframe_register_losses(register):
    for loss in (CrossEntropy, SampledSoftmax, MSE, GaussianNLL, CTC):
        register(loss.name, loss, loss.description)
