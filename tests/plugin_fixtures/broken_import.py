"""A plugin whose import fails."""

import seqframe_no_such_dependency  # noqa: F401
