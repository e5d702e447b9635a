"""Reading WAV files: sample types, channels, sample rates, and every way a file can be bad."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from seqframe_speech.wav import read_wav

from seqframe.errors import DataError, ExitCode, MissingDependencyError
from tests.tasks.speech._audio import SUBSET, as_int16, tone, write_wav


@pytest.mark.parametrize("samples, expected", [
    (np.array([0, 16384, -32768, 32767], np.int16), [0.0, 0.5, -1.0, 32767 / 32768]),
    (np.array([0, 2**30, -(2**31)], np.int32), [0.0, 0.5, -1.0]),
    (np.array([0, 128, 255, 64], np.uint8), [-1.0, 0.0, 127 / 128, -0.5]),
    (np.array([0.25, -0.75, 1.0], np.float32), [0.25, -0.75, 1.0]),
    (np.array([0.125, -1.0], np.float64), [0.125, -1.0]),
], ids=["int16", "int32", "uint8", "float32", "float64"])
def test_sample_types_map_to_unit_range(tmp_path, samples, expected):
    signal, info = read_wav(write_wav(tmp_path / "x.wav", samples), 8000)
    assert signal.dtype == np.float64
    np.testing.assert_allclose(signal, expected, rtol=0, atol=1e-12)
    assert (info.source_rate, info.channels, info.resampled) == (8000, 1, False)


def test_stereo_is_averaged_to_mono(tmp_path):
    left = np.array([16384, 0, -32768], np.int16)  # 0.5, 0, -1
    right = np.array([-8192, 8192, 0], np.int16)  # -0.25, 0.25, 0
    signal, info = read_wav(write_wav(tmp_path / "s.wav", np.stack([left, right], 1)), 8000)
    np.testing.assert_allclose(signal, [0.125, 0.125, -0.5], atol=1e-12)
    assert info.stereo and info.channels == 2


@pytest.mark.parametrize("source_rate", [16000, 44100, 11025])
def test_other_rates_are_resampled_keeping_the_pitch(tmp_path, source_rate):
    x = tone(1000.0, 0.5, rate=source_rate)
    signal, info = read_wav(write_wav(tmp_path / "t.wav", as_int16(x), rate=source_rate), 8000)
    assert info.resampled and info.source_rate == source_rate
    assert len(signal) == pytest.approx(4000, abs=1)  # 0.5 s at 8 kHz
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    peak_hz = np.argmax(spectrum) * 8000 / len(signal)
    assert peak_hz == pytest.approx(1000.0, abs=8000 / len(signal))
    assert np.abs(signal).max() == pytest.approx(0.5, abs=0.02)  # the low-pass keeps the tone


def test_resampling_off_is_an_error_naming_the_file(tmp_path):
    path = write_wav(tmp_path / "wide.wav", as_int16(tone(440, 0.1, 16000)), rate=16000)
    with pytest.raises(DataError, match=r"wide.wav' is sampled at 16000 Hz but the task works "
                                        r"at 8000 Hz and resampling is off") as info:
        read_wav(path, 8000, allow_resample=False)
    assert info.value.exit_code == ExitCode.USAGE


def test_not_a_wav_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples")
    with pytest.raises(DataError, match=r"cannot read '.*notes.wav' as a WAV file .*expected a "
                                        r"RIFF/WAVE file"):
        read_wav(path, 8000)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "zero.wav"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"cannot read '.*zero.wav' as a WAV file"):
        read_wav(path, 8000)


def test_header_cut_short(tmp_path):
    path = tmp_path / "header.wav"
    path.write_bytes((SUBSET / "0_george_0.wav").read_bytes()[:30])
    with pytest.raises(DataError, match=r"cannot read '.*header.wav' as a WAV file"):
        read_wav(path, 8000)


def test_data_cut_short(tmp_path):
    path = tmp_path / "cut.wav"
    path.write_bytes((SUBSET / "0_george_0.wav").read_bytes()[:1000])
    with pytest.raises(DataError, match=r"cut.wav' is cut short: Reached EOF prematurely"):
        read_wav(path, 8000)


def test_no_samples(tmp_path):
    path = write_wav(tmp_path / "empty.wav", np.zeros(0, np.int16))
    with pytest.raises(DataError, match=r"empty.wav' holds no audio samples"):
        read_wav(path, 8000)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"ghost.wav' does not exist"):
        read_wav(tmp_path / "ghost.wav", 8000)


def test_unsupported_sample_type(tmp_path):
    path = write_wav(tmp_path / "i64.wav", np.array([1, 2, 3], np.int64))
    try:
        read_wav(path, 8000)
    except DataError as exc:  # scipy refuses to read it, or we refuse its sample type
        assert "i64.wav" in str(exc)
    else:
        pytest.fail("a 64-bit integer WAV was accepted")


def test_missing_scipy_names_the_extra(tmp_path, monkeypatch):
    path = write_wav(tmp_path / "x.wav", np.zeros(10, np.int16))
    monkeypatch.setitem(sys.modules, "scipy.io.wavfile", None)  # `import` now fails
    with pytest.raises(MissingDependencyError, match=r"pip install 'seqframe\[audio\]'"):
        read_wav(path, 8000)


def test_missing_scipy_through_the_cli(sf, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.io.wavfile", None)
    code, _, err = sf("run", "--task", "speech", "--steps", "1", "--out", str(tmp_path / "r"))
    assert code == ExitCode.PLUGIN
    assert "pip install 'seqframe[audio]'" in err
