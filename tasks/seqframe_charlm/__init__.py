"""seqframe task plugin: character-level language modelling (``--task charlm``)."""
