"""Choosing where tensors live and whether autocast runs: ``--device`` and ``--amp``.

``auto`` picks the best device this machine has (CUDA, then Apple's MPS, then the CPU). Asking for
a device that is not there is a user mistake and says what is available instead.
"""

from __future__ import annotations

import re

import torch

from seqframe.errors import ConfigError

AMP_MODES = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda)(?::(\d+))?$")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """The devices this PyTorch build can use here, e.g. ``["cpu", "cuda:0", "cuda:1"]``."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        found.append("mps")
    return found


def _unavailable(spec: str, why: str) -> ConfigError:
    return ConfigError(
        f"device {spec!r} was requested but {why} (torch {torch.__version__}). "
        f"Available devices: {', '.join(available_devices())}. "
        f"Use --device auto to pick the best one, or one of those."
    )


def resolve_device(spec: str | None, dtype: str = "float32") -> torch.device:
    """``auto|cpu|cuda[:N]|mps`` -> a concrete :class:`torch.device`.

    Raises:
        ConfigError: an unknown spelling, a device this machine does not have, or float64 on
            MPS (Apple's GPU has no float64 arithmetic).
    """
    text = (spec or "auto").strip().lower()
    match = _DEVICE_RE.match(text)
    if match is None:
        raise ConfigError(
            f"unknown device {spec!r}; expected auto, cpu, cuda, cuda:N or mps "
            f"(available here: {', '.join(available_devices())})."
        )
    kind, index = match.group(1), match.group(2)
    if kind == "auto":
        kind = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    if kind == "cpu":
        if index not in (None, "0"):
            raise ConfigError(f"device {spec!r}: the CPU has no index; use --device cpu.")
        return torch.device("cpu")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise _unavailable(spec, "this PyTorch build or machine has no usable CUDA GPU")
        number = int(index or 0)
        if number >= torch.cuda.device_count():
            raise _unavailable(spec, f"only {torch.cuda.device_count()} CUDA device(s) are visible")
        return torch.device("cuda", number)
    if not _mps_available():
        raise _unavailable(spec, "Apple's MPS backend is not available")
    if dtype == "float64":
        raise ConfigError(
            "dtype float64 is not supported on the mps device (Apple GPUs have no float64). "
            "Use --dtype float32, or --device cpu for float64."
        )
    return torch.device("mps")


def resolve_amp(amp: str | None, device: torch.device, dtype: str) -> torch.dtype | None:
    """``off|bf16|fp16`` -> the autocast dtype (None for off), checked against the device.

    Raises:
        ConfigError: an unknown mode, autocast off CUDA, or autocast with float64 parameters
            (autocast only lowers float32 work, so it would silently do nothing).
    """
    mode = (amp or "off").strip().lower()
    if mode not in AMP_MODES:
        raise ConfigError(f"unknown amp mode {amp!r}; expected one of {', '.join(AMP_MODES)}.")
    if mode == "off":
        return None
    if device.type != "cuda":
        raise ConfigError(
            f"amp {mode!r} (mixed-precision autocast) needs a CUDA device, but this run uses "
            f"{device}. Use --amp off, or --device cuda on a machine with a GPU."
        )
    if dtype != "float32":
        raise ConfigError(
            f"amp {mode!r} needs dtype float32 parameters (got {dtype}); autocast lowers float32 "
            f"work only. Use --dtype float32 or --amp off."
        )
    if mode == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            f"amp 'bf16' is not supported by the GPU {torch.cuda.get_device_name(device)}; "
            f"use --amp fp16 or --amp off."
        )
    return AMP_MODES[mode]
