"""The acoustic front end: a mono signal ``x`` (N,) -> features (T, D), in NumPy.

Notation (also in docs/tasks/speech.md). ``fs`` sample rate (Hz); ``L`` frame length and ``R`` hop
in samples (25 ms and 10 ms: 200 and 80 at 8 kHz); ``K = n_fft / 2 + 1`` FFT bins with ``n_fft``
the smallest power of two >= L; ``M`` mel filters (``n_mels``); ``C`` cepstral coefficients
(``n_mfcc``).

1. Pre-emphasis over the whole signal: ``y[0] = x[0]``, ``y[n] = x[n] - a x[n-1]`` (a = 0.97)
   lifts the high frequencies that voiced speech attenuates (about -6 dB per octave).
2. Framing without padding ("snip edges"): frame ``t`` is ``y[tR : tR + L]``, so a signal of
   N >= L samples gives ``T = 1 + floor((N - L) / R)`` frames; a shorter one gives none and is an
   error.
3. Hamming window ``w[n] = 0.54 - 0.46 cos(2 pi n / (L - 1))``, then the power spectrum
   ``P[t, k] = |sum_n w[n] y_t[n] exp(-2 pi i k n / n_fft)|^2 / n_fft`` (zero-padded to n_fft).
4. HTK mel scale ``mel(f) = 2595 log10(1 + f / 700)``. M triangular filters whose edges are
   M + 2 points equally spaced in mel from 0 Hz to fs / 2; filter m rises linearly from edge m
   to a peak of 1 at edge m + 1 and falls to 0 at edge m + 2, evaluated at the bin frequencies
   ``f_k = k fs / n_fft``. ``E = P F^T`` (T, M).
5. Log-mel ``S = log(max(E, 1e-10))`` (the floor keeps silence finite).
6. MFCC by the orthonormal DCT-II over the M log energies, first C kept:
   ``c[t, j] = s_j sum_m S[t, m] cos(pi j (2m + 1) / (2M))``, ``s_0 = sqrt(1/M)``,
   ``s_j = sqrt(2/M)`` -- ``scipy.fft.dct(S, type=2, norm='ortho')[:, :C]``.
7. Deltas by the regression formula over +-W frames (W = 2), edges repeated:
   ``d[t] = sum_{n=1..W} n (c[t+n] - c[t-n]) / (2 sum_{n=1..W} n^2)``; delta-deltas are the
   deltas of ``d``. MFCC with deltas: D = 3 C = 39 features; log-mel with deltas: 3 M.
8. Per-utterance mean and variance normalisation of every feature over the T frames:
   ``(z - mean_t z) / std_t z`` (a constant feature becomes 0), so channel gain and loudness
   differences between recordings drop out.

SpecAugment-style masking (:func:`spec_augment`) is applied to training batches only, by the task.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seqframe.errors import ConfigError, DataError

LOG_FLOOR = 1e-10  # smallest filterbank energy before the log (about -230 dB)
KINDS = ("mfcc", "logmel")


# ---- the stages, each a pure function ------------------------------------------------------

def preemphasize(x: np.ndarray, coefficient: float = 0.97) -> np.ndarray:
    """``y[0] = x[0]``, ``y[n] = x[n] - coefficient * x[n-1]``."""
    y = np.array(x, dtype=np.float64)
    y[1:] -= coefficient * x[:-1]
    return y


def frame_count(n_samples: int, frame_length: int, hop: int) -> int:
    """Frames of ``frame_length`` every ``hop`` samples that fit in ``n_samples`` (no padding)."""
    return 0 if n_samples < frame_length else 1 + (n_samples - frame_length) // hop


def frame_signal(y: np.ndarray, frame_length: int, hop: int) -> np.ndarray:
    """Overlapping frames ``(T, L)`` of a signal of at least ``frame_length`` samples."""
    windows = np.lib.stride_tricks.sliding_window_view(y, frame_length)  # (N - L + 1, L), a view
    return np.ascontiguousarray(windows[::hop])  # (T, L)


def power_spectrum(frames: np.ndarray, n_fft: int) -> np.ndarray:
    """Hamming-windowed ``|FFT|^2 / n_fft`` of each frame: ``(T, L) -> (T, n_fft // 2 + 1)``."""
    window = np.hamming(frames.shape[1])  # 0.54 - 0.46 cos(2 pi n / (L - 1))
    spectrum = np.fft.rfft(frames * window, n=n_fft, axis=1)  # (T, K) complex
    return (spectrum.real**2 + spectrum.imag**2) / n_fft


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular HTK mel filters ``F`` (M, K), peak 1, on the bins of an ``n_fft`` FFT.

    Raises:
        ConfigError: a filter falls between two FFT bins and would always read zero energy
            (too many filters for this sample rate and frame length).
    """
    fmax = sample_rate / 2.0 if fmax is None else fmax
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # (M + 2,)
    bins = np.arange(n_fft // 2 + 1) * sample_rate / n_fft  # (K,) bin frequencies, Hz
    lo, centre, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (M, 1) each
    rising = (bins[None, :] - lo) / (centre - lo)
    falling = (hi - bins[None, :]) / (hi - centre)
    bank = np.maximum(0.0, np.minimum(rising, falling))  # (M, K)
    empty = np.flatnonzero(bank.max(axis=1) == 0.0)
    if empty.size:
        raise ConfigError(
            f"mel filter {int(empty[0])} of {n_mels} covers no FFT bin at {sample_rate} Hz with "
            f"a {n_fft}-point FFT; use fewer filters (-o n_mels) or a higher sample rate."
        )
    return bank


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Rows 0..n_out-1 of the orthonormal DCT-II of length ``n_in``: ``(n_out, n_in)``."""
    j = np.arange(n_out)[:, None]
    m = np.arange(n_in)[None, :]
    basis = np.cos(np.pi * j * (2 * m + 1) / (2 * n_in))
    scale = np.full((n_out, 1), np.sqrt(2.0 / n_in))
    scale[0] = np.sqrt(1.0 / n_in)
    return scale * basis


def deltas(c: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas over +-``width`` frames of ``c`` (T, F), edge frames repeated."""
    padded = np.pad(c, ((width, width), (0, 0)), mode="edge")  # (T + 2W, F)
    T = len(c)
    out = np.zeros_like(c, dtype=np.float64)
    for n in range(1, width + 1):
        out += n * (padded[width + n : width + n + T] - padded[width - n : width - n + T])
    return out / (2.0 * sum(n * n for n in range(1, width + 1)))


def normalize(z: np.ndarray) -> np.ndarray:
    """Per-utterance mean/variance normalisation of each column of ``z`` (T, D)."""
    centred = z - z.mean(axis=0, keepdims=True)
    std = centred.std(axis=0, keepdims=True)
    return centred / np.where(std > 1e-12, std, 1.0)  # a constant column is 0, not NaN


def spec_augment(z: np.ndarray, rng: np.random.Generator, *, time_masks: int, time_width: int,
                 freq_masks: int, freq_width: int, block: int) -> np.ndarray:
    """A copy of ``z`` (T, D) with random time and frequency bands set to 0 (SpecAugment).

    Each time mask zeroes ``w ~ U{0..time_width}`` consecutive frames at a uniform start; each
    frequency mask zeroes ``w ~ U{0..freq_width}`` consecutive coefficients of the static block
    (``block`` = C or M columns) and the same coefficients of its delta blocks. After
    normalisation 0 is each feature's mean, so a mask removes information without adding an
    outlier. Deterministic in ``rng``.
    """
    out = np.array(z, dtype=np.float64)
    T, D = out.shape
    for _ in range(freq_masks):
        w = int(rng.integers(0, min(freq_width, block) + 1))
        f0 = int(rng.integers(0, block - w + 1))
        for start in range(0, D, block):
            out[:, start + f0 : start + f0 + w] = 0.0
    for _ in range(time_masks):
        w = int(rng.integers(0, min(time_width, T) + 1))
        t0 = int(rng.integers(0, T - w + 1))
        out[t0 : t0 + w] = 0.0
    return out


# ---- the whole front end -------------------------------------------------------------------

@dataclass(frozen=True)
class FrontEnd:
    """Signal ``(N,)`` at ``sample_rate`` -> features ``(T, D)``; see the module docstring.

    Attributes:
        sample_rate: fs, Hz.
        kind: ``mfcc`` (C cepstra) or ``logmel`` (M log energies) as the static features.
        n_mels: M.
        n_mfcc: C.
        use_deltas: append deltas and delta-deltas (D = 3 x static).
        normalize: per-utterance mean/variance normalisation.
        frame_ms, hop_ms: frame length and hop.
        preemphasis: the pre-emphasis coefficient a.
        delta_width: W of the regression formula.
    """

    sample_rate: int = 8000
    kind: str = "mfcc"
    n_mels: int = 40
    n_mfcc: int = 13
    use_deltas: bool = True
    normalize: bool = True
    frame_ms: float = 25.0
    hop_ms: float = 10.0
    preemphasis: float = 0.97
    delta_width: int = 2
    bank: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown feature kind {self.kind!r}; expected one of {KINDS}.")
        if self.kind == "mfcc" and not 1 <= self.n_mfcc <= self.n_mels:
            raise ConfigError(f"n_mfcc must be between 1 and n_mels ({self.n_mels}); got "
                              f"{self.n_mfcc}.")
        if self.n_mels < 1 or self.sample_rate < 1:
            raise ConfigError(f"n_mels and sample_rate must be positive; got {self.n_mels} and "
                              f"{self.sample_rate}.")
        if self.frame_length < 2 or self.hop < 1:
            raise ConfigError(f"frame_ms={self.frame_ms:g} and hop_ms={self.hop_ms:g} give "
                              f"{self.frame_length} samples per frame and {self.hop} per hop at "
                              f"{self.sample_rate} Hz; a frame needs at least 2 samples and a hop "
                              "at least 1 (e.g. -o frame_ms=25 -o hop_ms=10).")
        object.__setattr__(self, "bank",
                           mel_filterbank(self.n_mels, self.n_fft, self.sample_rate))

    @property
    def frame_length(self) -> int:
        return int(round(self.sample_rate * self.frame_ms / 1000.0))

    @property
    def hop(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000.0))

    @property
    def n_fft(self) -> int:
        return 1 << (self.frame_length - 1).bit_length()

    @property
    def static_size(self) -> int:
        """C for MFCC, M for log-mel: the block :func:`spec_augment` masks within."""
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    @property
    def size(self) -> int:
        """D, the feature count."""
        return self.static_size * (3 if self.use_deltas else 1)

    def frames(self, n_samples: int) -> int:
        """T for a signal of ``n_samples``."""
        return frame_count(n_samples, self.frame_length, self.hop)

    def log_mel(self, signal: np.ndarray) -> np.ndarray:
        """Stages 1-5: log mel energies ``(T, M)`` of a signal with at least one frame."""
        frames = frame_signal(preemphasize(signal, self.preemphasis), self.frame_length, self.hop)
        energies = power_spectrum(frames, self.n_fft) @ self.bank.T  # (T, M)
        return np.log(np.maximum(energies, LOG_FLOOR))

    def static(self, signal: np.ndarray, where: str = "signal") -> np.ndarray:
        """Stages 1-6: the un-normalised static features ``(T, C)`` (or ``(T, M)``).

        Raises:
            DataError: the signal is shorter than one frame; the message names ``where``.
        """
        if self.frames(len(signal)) < 1:
            raise DataError(
                f"{where}: {len(signal)} samples ({1000 * len(signal) / self.sample_rate:.1f} ms)"
                f" is shorter than one {self.frame_ms:g} ms analysis frame ({self.frame_length} "
                "samples); remove the recording or pad it with silence."
            )
        static = self.log_mel(signal)  # (T, M)
        if self.kind == "mfcc":
            static = static @ dct_matrix(self.n_mfcc, self.n_mels).T  # (T, C)
        return static

    def finish(self, static: np.ndarray) -> np.ndarray:
        """Stages 7-8: deltas and normalisation, ``(T, C) -> (T, D)``."""
        blocks = [static]
        if self.use_deltas:
            blocks.append(deltas(static, self.delta_width))
            blocks.append(deltas(blocks[-1], self.delta_width))
        z = np.concatenate(blocks, axis=1)  # (T, D)
        return normalize(z) if self.normalize else z

    def __call__(self, signal: np.ndarray, where: str = "signal") -> np.ndarray:
        """Features ``(T, D)`` of ``signal`` (N,); see :meth:`static` for errors."""
        return self.finish(self.static(signal, where))
