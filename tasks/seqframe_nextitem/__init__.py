"""seqframe task plugin: next-item recommendation (``seqframe run --task nextitem``)."""
