"""Losses: the Loss contract and the built-in losses (see :mod:`seqframe.losses.base`)."""

from .base import Loss, LossResult
from .classification import CrossEntropy, SampledSoftmax
from .ctc import CTC
from .regression import MSE, GaussianNLL

BUILTIN = {cls.name: cls for cls in (CrossEntropy, SampledSoftmax, MSE, GaussianNLL, CTC)}

__all__ = ["BUILTIN", "CTC", "CrossEntropy", "GaussianNLL", "Loss", "LossResult", "MSE",
           "SampledSoftmax"]
