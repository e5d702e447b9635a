"""A plugin that ends the process when imported (exit code 7)."""

import sys

sys.exit(7)
