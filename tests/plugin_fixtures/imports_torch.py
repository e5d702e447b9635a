"""A target module that needs torch (made unimportable by the test)."""

import torch  # noqa: F401


class Backend:
    pass
