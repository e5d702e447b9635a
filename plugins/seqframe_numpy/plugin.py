"""Registers the ``numpy`` backend through the same entry-point door as any third-party plugin."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_backends(register):
    register(
        "numpy",
        "seqframe_numpy.ops:NumpyOps",
        "NumPy on the host CPU: the reference backend with hand-written BPTT (float32/float64)",
    )
