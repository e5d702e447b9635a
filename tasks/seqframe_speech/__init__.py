"""The ``speech`` task: spoken words (and connected digits) from WAV files."""
