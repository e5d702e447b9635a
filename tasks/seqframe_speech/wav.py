"""Reading WAV files into mono float signals at the task's sample rate.

The container is parsed by :func:`scipy.io.wavfile.read` (scipy is the ``audio`` extra): it reads
PCM (``uint8``, ``int16``, 24- and 32-bit as ``int32``) and IEEE float WAVs with no further
dependency, and ``scipy.signal.resample_poly`` resamples in the same package. What this module
adds is the policy:

* samples become float64 nominally in [-1, 1]: ``int16 / 2**15``, ``int32 / 2**31``,
  ``(uint8 - 128) / 128``; float WAVs are taken as stored;
* several channels are averaged to one (``AudioInfo.stereo`` records it, the task counts it);
* another sample rate is resampled to the task's rate by a polyphase filter
  (``resample_poly(x, rate / g, source_rate / g)``, ``g`` their greatest common divisor), or is an
  error naming the file when resampling is off;
* a file that is missing, is not a WAV, is cut short (scipy's "Reached EOF prematurely") or holds
  no samples is a :class:`~seqframe.errors.DataError` naming it.
"""

from __future__ import annotations

import math
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqframe.errors import DataError, MissingDependencyError

# Full scale of each integer sample type: the divisor that maps it into [-1, 1).
_INT_SCALE = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}


@dataclass(frozen=True)
class AudioInfo:
    """What reading one file did.

    Attributes:
        source_rate: the file's own sample rate (Hz).
        channels: the file's channel count (averaged to one when above 1).
        resampled: the signal was resampled from ``source_rate`` to the task's rate.
    """

    source_rate: int
    channels: int
    resampled: bool

    @property
    def stereo(self) -> bool:
        return self.channels > 1


def import_scipy() -> Any:
    """``scipy`` (for ``scipy.io.wavfile`` and ``scipy.signal``), or a clear install hint."""
    try:
        import scipy.io.wavfile
        import scipy.signal  # noqa: F401  (resample_poly)
    except ImportError as exc:
        raise MissingDependencyError(
            "the speech task reads WAV files with scipy, which is not installed. Install it "
            "with: pip install 'seqframe[audio]'"
        ) from exc
    return scipy


def _parse(path: Path) -> tuple[int, np.ndarray]:
    """``(rate, samples)`` as stored; parse failures become DataError naming the file."""
    scipy = import_scipy()
    if not path.is_file():
        raise DataError(f"audio file {str(path)!r} does not exist; check the path (manifest "
                        "paths are relative to the manifest's folder).")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.io.wavfile.WavFileWarning)
        try:
            with path.open("rb") as fh:  # our handle: closed even when scipy fails mid-parse
                rate, data = scipy.io.wavfile.read(fh)
        except (ValueError, struct.error, EOFError, OSError) as exc:
            raise DataError(
                f"cannot read {str(path)!r} as a WAV file ({exc}); expected a RIFF/WAVE file of "
                "PCM or float samples. Convert it, e.g. `ffmpeg -i IN -ar 8000 -ac 1 OUT.wav`."
            ) from None
    # Unknown metadata chunks are harmless; a data chunk shorter than its header says is not.
    for warning in caught:
        if "EOF" in str(warning.message):
            raise DataError(
                f"{str(path)!r} is cut short: {warning.message} Re-export or re-download it."
            )
    return int(rate), np.asarray(data)


def to_float(samples: np.ndarray, where: str) -> np.ndarray:
    """Integer or float samples -> float64 nominally in [-1, 1] (shape kept).

    Raises:
        DataError: a sample type WAV files do not use (e.g. int64), naming ``where``.
    """
    dtype = samples.dtype
    if dtype == np.uint8:  # 8-bit PCM is unsigned with 128 as silence
        return (samples.astype(np.float64) - 128.0) / 128.0
    if dtype in _INT_SCALE:
        return samples.astype(np.float64) / _INT_SCALE[dtype]
    if dtype in (np.float32, np.float64):
        return samples.astype(np.float64)
    raise DataError(f"{where}: unsupported sample type {dtype}; expected 8-, 16-, 24- or 32-bit "
                    "PCM or 32/64-bit float samples.")


def resample(signal: np.ndarray, source_rate: int, rate: int) -> np.ndarray:
    """Polyphase resampling of a 1-D signal from ``source_rate`` to ``rate`` (both in Hz).

    ``resample_poly`` applies a Kaiser-windowed low-pass FIR at the rational ratio
    ``up/down = rate/source_rate`` (reduced), so downsampling does not alias.
    """
    scipy = import_scipy()
    g = math.gcd(source_rate, rate)
    return scipy.signal.resample_poly(signal, rate // g, source_rate // g)


def read_wav(path: str | Path, rate: int, allow_resample: bool = True
             ) -> tuple[np.ndarray, AudioInfo]:
    """One WAV file as a mono float64 signal ``(N,)`` at ``rate`` Hz.

    Args:
        path: the file.
        rate: the sample rate the task works at.
        allow_resample: resample another rate (True) or refuse it (False).

    Returns:
        The signal and an :class:`AudioInfo` saying what was converted.

    Raises:
        DataError: missing, not a WAV, truncated, empty, or another rate with resampling off.
        MissingDependencyError: scipy is not installed.
    """
    path = Path(path)
    source_rate, data = _parse(path)
    where = str(path)
    if data.ndim not in (1, 2):
        raise DataError(f"{where!r}: samples of shape {data.shape}; expected (N,) or (N, C).")
    channels = 1 if data.ndim == 1 else data.shape[1]
    if data.shape[0] == 0 or channels == 0:
        raise DataError(f"{where!r} holds no audio samples; expected a recording. Remove it "
                        "from the data or replace it.")
    signal = to_float(data, where)
    if channels > 1:
        signal = signal.mean(axis=1)  # the usual down-mix: the average of the channels
    resampled = source_rate != rate
    if resampled:
        if not allow_resample:
            raise DataError(
                f"{where!r} is sampled at {source_rate} Hz but the task works at {rate} Hz and "
                "resampling is off (-o resample=false). Allow it (-o resample=true), set "
                f"-o sample_rate={source_rate}, or convert the file."
            )
        signal = resample(signal, source_rate, rate)
    return signal, AudioInfo(source_rate=source_rate, channels=channels, resampled=resampled)
