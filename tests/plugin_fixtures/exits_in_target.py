"""A lazily imported target that ends the process when imported, and a hook that does too."""

import sys

sys.exit(5)
