"""Pin the BLAS/OpenMP thread count of a benchmark process: import this before NumPy.

The libraries read these variables once, when NumPy (or torch) loads, so a script calls
:func:`pin` right after parsing its arguments and before its other imports. This module imports
nothing that would load them.
"""

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin(threads: int) -> None:
    """Set every thread-count variable to ``threads`` for this process and its children."""
    for var in THREAD_VARIABLES:
        os.environ[var] = str(threads)
