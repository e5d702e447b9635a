"""seqframe's reference backend: plain NumPy on the host CPU, float32 or float64."""

from .ops import NumpyOps

__all__ = ["NumpyOps"]
