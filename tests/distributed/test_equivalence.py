"""Two ranks x batch 16 train exactly like one process x batch 32 (CPU, gloo, float64).

``--batch-size`` is the global batch: with 32 and two ranks each rank trains on 16 rows. The
oracle is the single-process run of the same config: data parallelism must change nothing but
who computes which rows. Both configs clip (and the test checks clipping really happened),
so clipping must see the all-reduced global gradient, not a rank's half.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqframe.config import RunConfig

from ._ranks import finish_all, require_gloo, start_ranks
from .dp_worker import record_run

require_gloo()

STEPS = 30
CASES = {
    # Stateful char-LM streams sharded by row; truncated BPTT with look-back; two GRU layers
    # with dropout (every rank draws the whole batch's masks); checkpoints gather the state.
    "charlm_streams": dict(
        task="charlm", cell="gru", layers=2, hidden=16, dropout=0.2, bptt=8, bptt_back=12,
        clip_norm=0.1, lr=0.01, eval_every=10, checkpoint_every=5,
        options={"max_chars": 20000, "seq_len": 16, "sample_length": 20, "ngram_order": 2}),
    # Last-step readout, accumulation over two micro-batches, value and norm clipping, SGD with
    # momentum; 225 training rows make every epoch end with a 1-row batch: rank 0's shard of it
    # is empty, and it must still take part in the sums.
    "adding_short_batches": dict(
        task="adding", cell="lstm", hidden=12, accumulate=2, clip_value=0.05, clip_norm=0.3,
        optimizer="sgd", momentum=0.9, lr=0.05, eval_every=15,
        options={"length": 12, "train_size": 225, "val_size": 64, "test_size": 64}),
    # An encoder-decoder: sentence pairs sharded by row, a bidirectional encoder, additive
    # attention, dropout masks and scheduled sampling's choices drawn for the whole batch.
    "translate_pairs": dict(
        task="translate", cell="gru", hidden=8, embed=6, bidirectional=True,
        attention="additive", sampling=0.25, dropout=0.2, clip_norm=0.05,
        lr=0.01, eval_every=15,
        options={"baselines": False, "attention_plots": 0, "max_output_extra": 2}),
}


def config(case: str, out) -> RunConfig:
    return RunConfig(backend="torch", device="cpu", dtype="float64", batch_size=32,
                     steps=STEPS, seed=11, quiet=True, out=str(out), **CASES[case])


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_ranks_match_one_process_with_the_global_batch(case, tmp_path):
    ranks = start_ranks(config(case, tmp_path / "dp"), tmp_path, size=2)
    single_losses, single_params, _ = record_run(config(case, tmp_path / "single"))
    for code, err in finish_all(ranks):
        assert code == 0, err
    records = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    params = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(2)]

    assert len(single_losses) == STEPS
    # Every rank sees the global loss, and the ranks' parameters never drift apart.
    assert records[0]["losses"] == records[1]["losses"]
    for name in params[0]:
        np.testing.assert_array_equal(params[0][name], params[1][name], err_msg=name)
    np.testing.assert_allclose(records[0]["losses"], single_losses, rtol=1e-9, atol=0)
    for name, value in single_params.items():
        np.testing.assert_allclose(params[0][name], value, rtol=1e-7, atol=1e-10, err_msg=name)

    summary = json.loads((tmp_path / "dp" / "summary.json").read_text())
    assert summary["nproc"] == 2 and summary["steps"] == STEPS
    assert 0 < summary["clipping"]["clipped_fraction"]
    assert records[1]["summary"]["rank"] == 1  # rank 1 wrote nothing and reported little
