"""The torch backend's collective operations for data-parallel training (torch.distributed).

:func:`seqframe.training.distributed.session` asks ``TorchOps.collective()`` for a
:class:`TorchCollective`
when torchrun started several processes. It joins the process group torchrun describes
(``env://``: ``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE``) with gloo for CPU
tensors and NCCL for CUDA tensors (each rank on ``cuda:LOCAL_RANK``, see :func:`rank_device`).
Every operation waits at most the session's timeout; a rank that died or stopped answering turns
into a :class:`seqframe.training.distributed.DistributedError` instead of a hang.
"""

from __future__ import annotations

import datetime
import os
import pickle
from typing import Any

import torch
import torch.distributed as dist

from seqframe.errors import ConfigError, MissingDependencyError
from seqframe.training.distributed import DistributedError, env_world


def rank_device(spec: str | None) -> str | None:
    """The device this rank uses for ``--device spec``: ``auto``/``cuda`` -> ``cuda:LOCAL_RANK``.

    One process: ``spec`` unchanged.

    Raises:
        ConfigError: a numbered CUDA device or MPS with several processes.
    """
    world = env_world()
    if world.size == 1:
        return spec
    text = (spec or "auto").strip().lower()
    if text in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{world.local_rank}"
    if text.startswith("cuda:") or text == "mps":
        raise ConfigError(
            f"--device {spec} cannot be shared by {world.size} data-parallel processes: each "
            f"uses its own GPU, cuda:LOCAL_RANK. Use --device cuda (or auto), or --device cpu.")
    return spec


class TorchCollective:
    """Sums, broadcasts and gathers over the ranks of the default process group.

    Args:
        device: the :class:`torch.device` of this rank's tensors; picks gloo (CPU) or NCCL.
        timeout: seconds any operation waits for the other ranks.

    Raises:
        DistributedError: the process group could not be formed in time.
        MissingDependencyError: this PyTorch build has no usable backend for the device.
    """

    def __init__(self, device: torch.device, timeout: float):
        self.device, self.timeout = device, timeout
        backend = "nccl" if device.type == "cuda" else "gloo"
        available = {"nccl": dist.is_nccl_available, "gloo": dist.is_gloo_available}[backend]
        if not dist.is_available() or not available():
            raise MissingDependencyError(
                f"this PyTorch build ({torch.__version__}) has no torch.distributed {backend} "
                f"backend, which data-parallel training on {device.type} needs; install a "
                f"PyTorch build with it.")
        self.owned = not dist.is_initialized()
        if self.owned:
            if device.type == "cuda":
                torch.cuda.set_device(device)
            self._guard("joining the process group", dist.init_process_group, backend,
                        timeout=datetime.timedelta(seconds=timeout))
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.is_main = self.rank == 0
        self.backend = backend

    def all_reduce_sum(self, arrays: list[torch.Tensor]) -> list[torch.Tensor]:
        """Sum every tensor over the ranks; one flat all-reduce per dtype (few large messages)."""
        out: list[Any] = [None] * len(arrays)
        by_dtype: dict[torch.dtype, list[int]] = {}
        for i, a in enumerate(arrays):
            by_dtype.setdefault(a.dtype, []).append(i)
        for indices in by_dtype.values():
            flat = torch.cat([arrays[i].reshape(-1) for i in indices])  # (sum of sizes,)
            self._guard("summing gradients (all-reduce)", dist.all_reduce, flat)
            pieces = flat.split([arrays[i].numel() for i in indices])
            for i, piece in zip(indices, pieces, strict=True):
                out[i] = piece.view(arrays[i].shape)
        return out

    def broadcast_object(self, obj: Any) -> Any:
        box = [obj]
        self._guard("waiting for rank 0", dist.broadcast_object_list, box, 0)
        return box[0]

    def all_gather_object(self, obj: Any) -> list[Any]:
        gathered: list[Any] = [None] * self.world_size
        self._guard("gathering from every rank", dist.all_gather_object, gathered, obj)
        return gathered

    def close(self) -> None:
        """Leave the process group (only if this object joined it)."""
        if self.owned and dist.is_initialized():
            try:
                dist.destroy_process_group()
            except (RuntimeError, ValueError):
                pass  # the group is already broken; the process is ending anyway

    def _guard(self, what: str, fn, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, pickle.UnpicklingError, EOFError) as exc:
            rank = dist.get_rank() if dist.is_initialized() else os.environ.get("RANK", "?")
            world = os.environ.get("WORLD_SIZE", "?")
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DistributedError(
                f"rank {rank} of {world} lost the other ranks while {what} ({first}). Another "
                f"rank has probably died or been killed (torchrun then stops the rest), or did not "
                f"answer within {self.timeout:g} s (SEQFRAME_DIST_TIMEOUT sets the limit)."
            ) from None
