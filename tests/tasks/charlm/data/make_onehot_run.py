"""Write the pre-token charlm run fixtures (run with the code of commit b7375fe).

``interrupted``: a dense one-hot charlm run of 12 steps killed after step 9 (its latest
checkpoint is step 8); ``straight``: the same run left to finish; its summary.json metrics are what
a resume of ``interrupted`` must reproduce.
"""
import os
import sys
from pathlib import Path

from seqframe.runs.api import train_config
from seqframe.runs.build import resolve_config
from seqframe.training.trainer import Trainer

out = Path(sys.argv[1])
which = sys.argv[2]
settings = {"task": "charlm", "backend": "numpy", "steps": 12, "hidden": 8, "batch_size": 4,
            "bptt": 10, "eval_every": 4, "checkpoint_every": 4, "quiet": True, "lr": 0.01,
            "options": {"max_chars": "3000", "seq_len": "20", "sample_length": "20",
                        "ngram_order": "2", "eval_streams": "4"},
            "out": str(out / which)}
if which == "interrupted":
    original = Trainer._record

    def record(self, result, lr, seconds):
        original(self, result, lr, seconds)
        if self.state.step == 9:
            os._exit(0)  # a kill after step 9: the latest checkpoint is step 8

    Trainer._record = record
train_config(resolve_config(settings), log=lambda _: None)
