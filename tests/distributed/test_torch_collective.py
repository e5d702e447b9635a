"""The torch backend's collective: devices per rank, sums by dtype, errors that say what happened.

A one-process group (gloo on the CPU; NCCL too where there is a GPU) checks the plumbing; the
two-process behaviour is tested in test_equivalence.py and test_lost_rank.py.
"""

from __future__ import annotations

import pytest

from seqframe.errors import ConfigError, MissingDependencyError
from seqframe.training.distributed import DistributedError

from ._ranks import free_port, require_gloo

require_gloo()

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from seqframe_torch.collective import TorchCollective, rank_device  # noqa: E402
from seqframe_torch.ops import TorchOps  # noqa: E402


@pytest.fixture
def rank_one_of_two(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")


@pytest.fixture
def alone(monkeypatch):
    """The environment of a one-process group on loopback."""
    for key, value in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
                       "RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(key, value)


def test_each_rank_takes_the_gpu_of_its_local_rank(rank_one_of_two, monkeypatch):
    assert rank_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert rank_device("auto") == "auto"  # no GPU: the CPU, as for one process
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert rank_device("auto") == rank_device("cuda") == "cuda:1"


@pytest.mark.parametrize("spec", ["cuda:0", "mps"])
def test_one_device_for_every_rank_is_refused(rank_one_of_two, spec):
    with pytest.raises(ConfigError, match=f"--device {spec} cannot be shared by 2 data-parallel "
                       "processes: each uses its own GPU, cuda:LOCAL_RANK"):
        rank_device(spec)


def test_one_process_keeps_its_device(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert rank_device("cuda:3") == "cuda:3"


def test_sums_keep_shapes_and_dtypes_and_errors_name_the_rank(alone):
    ops = TorchOps(dtype="float64", device="cpu")
    collective = ops.collective(timeout=5.0)
    try:
        assert (collective.rank, collective.world_size, collective.is_main) == (0, 1, True)
        assert collective.backend == "gloo"
        arrays = [torch.ones(2, 3, dtype=torch.float64), torch.arange(4.0), torch.zeros(1)]
        summed = collective.all_reduce_sum(arrays)
        for before, after in zip(arrays, summed, strict=True):
            assert after.shape == before.shape and after.dtype == before.dtype
            torch.testing.assert_close(after, before)
        assert collective.broadcast_object({"a": 1}) == {"a": 1}
        assert collective.all_gather_object(3) == [3]

        def broken():
            raise RuntimeError("Connection closed by peer\ndetails")

        with pytest.raises(DistributedError, match=r"rank 0 of 1 lost the other ranks while "
                           r"testing \(Connection closed by peer\)\. Another rank has probably "
                           r"died.*within 5 s \(SEQFRAME_DIST_TIMEOUT"):
            collective._guard("testing", broken)
    finally:
        collective.close()
    assert not dist.is_initialized()


def test_a_build_without_the_backend_says_so(alone, monkeypatch):
    monkeypatch.setattr(dist, "is_gloo_available", lambda: False)
    with pytest.raises(MissingDependencyError, match="has no torch.distributed gloo backend, "
                       "which data-parallel training on cpu needs"):
        TorchCollective(torch.device("cpu"), 5.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_nccl_on_the_gpu(alone):
    ops = TorchOps(dtype="float32", device="cuda")
    collective = ops.collective(timeout=30.0)
    try:
        assert collective.backend == "nccl"
        grads = [torch.ones(5, device=ops.torch_device), torch.full((2, 2), 2.0,
                                                                    device=ops.torch_device)]
        summed = collective.all_reduce_sum(grads)
        assert summed[1].device == ops.torch_device
        torch.testing.assert_close(summed[1], grads[1])
        assert collective.broadcast_object("x") == "x"
    finally:
        collective.close()
