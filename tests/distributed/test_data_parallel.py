"""The core side of data parallelism without processes: sharding, checks, agreement, errors.

The collective is a stand-in that plays one rank of two with answers computed here by hand, so
what is tested is what :class:`seqframe.training.distributed.DataParallel` does with them.
"""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_numpy.ops import NumpyOps

from seqframe.config import RunConfig
from seqframe.errors import ConfigError, DataError
from seqframe.runs import api
from seqframe.task import Batch
from seqframe.training.distributed import (
    SINGLE,
    DataParallel,
    DistributedError,
    MainRankError,
    ShardedRNG,
    World,
    check_resume,
    check_run,
    env_world,
    session,
    shard_bounds,
    timeout_seconds,
)
from seqframe.training.progress import MetricsLog
from seqframe.training.windows import micro_batches


class OtherRank:
    """Rank ``rank`` of two; the other rank holds ``theirs`` (its arrays, objects, flags)."""

    world_size = 2

    def __init__(self, rank=1, theirs=None, broadcast=None, fail=False):
        self.rank, self.is_main = rank, rank == 0
        self.theirs, self.broadcast, self.fail = theirs, broadcast, fail

    def all_reduce_sum(self, arrays):
        if self.fail:
            raise DistributedError("rank 1 of 2 lost the other ranks while summing gradients.")
        return [a + b for a, b in zip(arrays, self.theirs, strict=True)]

    def broadcast_object(self, obj):
        return obj if self.is_main else self.broadcast

    def all_gather_object(self, obj):
        return [obj, self.theirs] if self.rank == 0 else [self.theirs, obj]


def batch(rows: int, steps: int = 3) -> Batch:
    inputs = np.arange(rows * steps * 2, dtype=float).reshape(rows, steps, 2)  # (B, T, D)
    return Batch(inputs, np.zeros((rows, steps), np.int64), np.ones((rows, steps), bool),
                 np.ones(rows, bool))


def test_shards_are_the_contiguous_rows_of_each_rank():
    assert [shard_bounds(32, r, 2) for r in range(2)] == [(0, 16), (16, 32)]
    assert [shard_bounds(3, r, 2) for r in range(2)] == [(0, 1), (1, 3)]
    assert [shard_bounds(1, r, 2) for r in range(2)] == [(0, 0), (0, 1)]
    dp = DataParallel(OtherRank(rank=1), NumpyOps("float64"))
    shard = dp.shard(batch(8))
    np.testing.assert_array_equal(shard.inputs, batch(8).inputs[4:8])
    assert (dp.global_rows, dp.offset) == (8, 4)


def test_every_rank_gets_as_many_micro_batches_even_when_shards_differ():
    ops = NumpyOps("float64")
    ranks = [DataParallel(OtherRank(rank=r), ops) for r in range(2)]
    for dp in ranks:
        dp.shard(batch(3))  # shards of 1 and 2 rows
    plans = [dp.micro_batches(hi - lo, 2) for dp, (lo, hi) in
             zip(ranks, [shard_bounds(3, r, 2) for r in range(2)], strict=True)]
    assert len(plans[0]) == len(plans[1]) == 2
    assert plans[1] == [(0, 1), (1, 2)]
    assert sorted(b - a for a, b in plans[0]) == [0, 1]  # one empty micro-batch


def test_one_process_is_the_identity():
    b, grads = batch(4), {"w": np.ones(3)}
    assert SINGLE.shard(b) is b
    assert SINGLE.micro_batches(5, 2) == micro_batches(5, 2) == [(0, 2), (2, 5)]
    assert SINGLE.reduce(None, 1.5, 2.0, 3.0, grads) == (1.5, 2.0, 3.0, grads)
    assert SINGLE.agree(True, False) == (True, False)
    assert SINGLE.on_main(lambda: 7) == 7
    assert SINGLE.full_state(None, "state") == "state" and SINGLE.local_state("s") == "s"
    rng = np.random.default_rng(0)
    assert SINGLE.dropout_rng(rng) is rng


def test_reduce_sums_gradients_loss_count_and_steps():
    ops = NumpyOps("float64")
    theirs = [np.array([1.0, 2.0]), np.array([10.0, 4.0, 6.0])]
    dp = DataParallel(OtherRank(theirs=theirs), ops)
    loss, count, steps, grads = dp.reduce(ops, 2.0, 3.0, 5.0, {"w": np.array([0.5, 0.5])})
    assert (loss, count, steps) == (12.0, 7.0, 11.0)
    np.testing.assert_array_equal(grads["w"], [1.5, 2.5])


def test_a_flag_raised_on_any_rank_is_raised_on_all():
    ops = NumpyOps("float64")
    dp = DataParallel(OtherRank(theirs=[np.array([0.0, 1.0])]), ops)
    assert dp.agree(False, False) == (False, True)


def test_the_carried_state_is_gathered_in_rank_order_and_sliced_back():
    ops = NumpyOps("float64")
    mine = ((np.full((2, 3), 1.0), np.full((2, 3), 2.0)),)  # rank 1's rows, (B/2, H)
    theirs = ((np.full((2, 3), -1.0), np.full((2, 3), -2.0)),)  # rank 0's
    dp = DataParallel(OtherRank(rank=1, theirs=theirs), ops)
    full = dp.full_state(ops, mine)
    np.testing.assert_array_equal(full[0][0][:, 0], [-1, -1, 1, 1])
    np.testing.assert_array_equal(dp.local_state(full)[0][1], mine[0][1])


def test_rank_zeros_user_error_is_raised_on_the_other_ranks_with_its_exit_code():
    dp = DataParallel(OtherRank(rank=1, broadcast=("error", "--out holds a run", 2)))
    with pytest.raises(MainRankError, match="--out holds a run") as info:
        dp.on_main(lambda: pytest.fail("only rank 0 computes"))
    assert info.value.exit_code == 2
    main = DataParallel(OtherRank(rank=0))
    with pytest.raises(DataError, match="bad file"):
        main.on_main(lambda: (_ for _ in ()).throw(DataError("bad file")))
    assert DataParallel(OtherRank(rank=1, broadcast=("ok", 5))).on_main(lambda: 0) == 5


def test_a_lost_rank_names_the_checkpoint_and_how_to_resume(tmp_path):
    dp = DataParallel(OtherRank(fail=True), NumpyOps("float64"))
    dp.run_dir = tmp_path
    with pytest.raises(DistributedError, match=r"lost the other ranks.*\. No checkpoint had "
                       r"been written yet\.$"):
        dp.reduce(dp.ops, 1.0, 1.0, 1.0, {"w": np.zeros(2)})
    (tmp_path / "checkpoints" / "latest").mkdir(parents=True)
    with pytest.raises(DistributedError, match=r"lost the other ranks.*checkpoints/latest is "
                       r"intact; continue with `seqframe run --resume .*` \(2 processes again"):
        dp.reduce(dp.ops, 1.0, 1.0, 1.0, {"w": np.zeros(2)})


def test_sharded_dropout_draws_are_rows_of_the_whole_batch_draw():
    ours, reference = np.random.default_rng(3), np.random.default_rng(3)
    sharded = ShardedRNG(ours)
    sharded.select(global_rows=6, offset=4)
    part = sharded.random((2, 5, 7))
    np.testing.assert_array_equal(part, reference.random((6, 5, 7))[4:6])
    assert sharded.bit_generator.state == reference.bit_generator.state


def test_environment():
    assert env_world({}) == World(0, 1, 0)
    assert env_world({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}) == World(3, 4, 1)
    with pytest.raises(ConfigError, match="not understood: WORLD_SIZE='two'"):
        env_world({"WORLD_SIZE": "two", "RANK": "0"})
    with pytest.raises(ConfigError, match="RANK=2 does not fit WORLD_SIZE=2"):
        env_world({"WORLD_SIZE": "2", "RANK": "2"})
    assert timeout_seconds({}) == 600.0 and timeout_seconds({"SEQFRAME_DIST_TIMEOUT": "2.5"}) == 2.5
    for bad in ("soon", "0", "-3"):
        with pytest.raises(ConfigError, match="SEQFRAME_DIST_TIMEOUT=.* must be a positive"):
            timeout_seconds({"SEQFRAME_DIST_TIMEOUT": bad})


@pytest.mark.parametrize("changes, world, message", [
    ({"nproc": 0}, World(), "--nproc must be at least 1; got 0"),
    ({"nproc": 2}, World(), r"nproc=2 needs the processes started for it: use the command line"),
    ({"nproc": 3}, World(0, 2, 0), "--nproc 3 disagrees with the 2 processes torchrun started"),
    ({"batch_size": 33}, World(1, 2, 1),
     "--batch-size 33 cannot be split over 2 processes.*a multiple of 2, e.g. 34"),
])
def test_settings_that_cannot_work_are_rejected_before_anyone_waits(changes, world, message):
    with pytest.raises(ConfigError, match=message):
        check_run(RunConfig(**changes), world)
    check_run(RunConfig(batch_size=32, nproc=2), World(0, 2, 0))


def test_resume_needs_the_same_number_of_processes():
    with pytest.raises(ConfigError, match=r"run 'r1' was trained with 2 process\(es\) but this "
                       r"resume has 1; .*`seqframe run --resume r1 --nproc 2`"):
        check_resume(2, World(), "r1")
    check_resume(2, World(0, 2, 0), "r1")


def test_a_library_run_with_nproc_says_how_to_start_the_processes(tmp_path, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ConfigError, match="torchrun --nproc-per-node 2 -m seqframe run"):
        api.train_config(RunConfig(nproc=2, out=str(tmp_path / "r")))


def test_a_backend_without_collectives_cannot_train_with_several_processes():
    with pytest.raises(ConfigError, match="backend 'numpy' cannot train data-parallel \\(2 "
                       "processes\\); use --backend torch"):
        with session(NumpyOps("float64"), World(0, 2, 0)):
            pass


def test_only_rank_zero_writes_metrics(tmp_path):
    path = tmp_path / "metrics.jsonl"
    MetricsLog(path, enabled=False).append({"step": 1})
    assert not path.exists()
    MetricsLog(path).append({"step": 1})
    assert MetricsLog(path, enabled=False).restore(0) is None  # a resume on rank 1 cuts nothing
    MetricsLog(path, enabled=False).sync()
    assert path.read_text() == '{"step": 1}\n'
