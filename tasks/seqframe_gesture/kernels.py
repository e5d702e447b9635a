"""Random convolution features: fixed random dilated kernels as extra input channels.

ROCKET (Dempster, Petitjean & Webb, 2020) showed that thousands of *untrained* random dilated
convolutions, pooled over time, are strong features for UCR classification. Here a few dozen such
kernels are applied to every series and their rectified outputs, one channel per kernel, are
appended to the input at each step: the recurrent model then sees local shape descriptors at
several time scales (the dilations) instead of single samples, and learns how to combine them.
Nothing here is trained; the kernels are a deterministic function of ``seed``, the channel count
and the reference length, so a saved run rebuilds the same ones.

Kernel ``k`` (following the ROCKET recipe): length ``L`` from {7, 9, 11}; weights ``(L, D)`` drawn
from N(0, 1) and centred over the taps; bias from U(-1, 1); dilation ``floor(2^u)`` with
``u ~ U(0, log2((T_ref - 1) / (L - 1)))`` so the widest kernels span the longest training series.
Unlike ROCKET, the output keeps every step (zero "same" padding: output length = input length,
so the mask still applies) and is rectified, ``max(0, .)``, rather than pooled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LENGTHS = (7, 9, 11)


@dataclass(frozen=True)
class Kernel:
    weights: np.ndarray  # (L, D)
    bias: float
    dilation: int


def make_bank(count: int, channels: int, reference_length: int, seed: int) -> list[Kernel]:
    """``count`` random kernels over ``channels`` input channels (see the module docstring)."""
    rng = np.random.default_rng([seed, 0x50C4E7])
    bank = []
    for _ in range(count):
        length = int(rng.choice(LENGTHS))
        weights = rng.normal(0.0, 1.0, size=(length, channels))
        weights -= weights.mean(axis=0)
        bias = float(rng.uniform(-1.0, 1.0))
        widest = max(np.log2(max(reference_length - 1, 1) / (length - 1)), 0.0)
        dilation = int(2 ** rng.uniform(0.0, widest))
        bank.append(Kernel(weights, bias, dilation))
    return bank


def convolve(series: np.ndarray, kernel: Kernel) -> np.ndarray:
    """The kernel's rectified response at every step of a ``(T, D)`` series: shape ``(T,)``."""
    T = len(series)
    L, d = len(kernel.weights), kernel.dilation
    half = (L - 1) * d // 2
    padded = np.pad(series, ((half, (L - 1) * d - half), (0, 0)))  # (T + (L-1)d, D)
    taps = np.stack([padded[i * d : i * d + T] for i in range(L)], axis=1)  # (T, L, D)
    response = np.einsum("tld,ld->t", taps, kernel.weights) + kernel.bias
    return np.maximum(response, 0.0)


def with_kernel_features(series: np.ndarray, bank: list[Kernel]) -> np.ndarray:
    """``(T, D)`` -> ``(T, D + len(bank))``: the series followed by one channel per kernel."""
    if not bank:
        return series
    features = np.stack([convolve(series, k) for k in bank], axis=1)  # (T, K)
    return np.concatenate([series, features], axis=1)
