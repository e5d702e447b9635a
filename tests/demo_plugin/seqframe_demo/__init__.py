"""A third-party seqframe plugin: one task and one command."""
