"""The front end, stage by stage, against hand-computed values and scipy's DCT."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqframe_speech import features as F

from seqframe.errors import ConfigError, DataError
from tests.tasks.speech._audio import tone


def test_preemphasis_by_hand():
    np.testing.assert_allclose(F.preemphasize(np.array([1.0, 2.0, 3.0]), 0.5), [1.0, 1.5, 2.0])


@pytest.mark.parametrize("n, frames", [(199, 0), (200, 1), (279, 1), (280, 2), (2384, 28)])
def test_frame_counts_at_8khz(n, frames):
    fe = F.FrontEnd()
    assert (fe.frame_length, fe.hop, fe.n_fft) == (200, 80, 256)  # 25 ms, 10 ms, 2^8 >= 200
    assert fe.frames(n) == frames
    if frames:
        assert F.frame_signal(np.arange(n, dtype=float), 200, 80).shape == (frames, 200)


def test_frames_are_the_right_slices():
    frames = F.frame_signal(np.arange(10.0), 4, 3)
    np.testing.assert_array_equal(frames, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])


def test_power_spectrum_of_a_constant_frame():
    # a constant 1 windowed by Hamming: bin 0 holds (sum_n w[n])^2 / n_fft, and
    # sum_n w[n] = 0.54 L - 0.46 sum_{n<L} cos(2 pi n / (L-1)) = 108 - 0.46 for L = 200
    power = F.power_spectrum(np.ones((1, 200)), 256)
    assert power.shape == (1, 129)
    assert power[0, 0] == pytest.approx(107.54**2 / 256, rel=1e-12)


def test_htk_mel_scale_by_hand():
    assert F.hz_to_mel(0.0) == 0.0
    assert F.hz_to_mel(700.0) == pytest.approx(2595 * math.log10(2))  # 781.17...
    assert F.hz_to_mel(1000.0) == pytest.approx(999.98, abs=0.01)  # the scale's anchor
    assert F.hz_to_mel(4000.0) == pytest.approx(2146.06, abs=0.01)
    np.testing.assert_allclose(F.mel_to_hz(F.hz_to_mel([50.0, 3999.0])), [50.0, 3999.0])


def test_filterbank_by_hand():
    # 2 filters, 8-point FFT at 8 kHz: bins at 0, 1000, ..., 4000 Hz. Edges equally spaced in
    # mel: 0, 715.35, 1430.71, 2146.06 mel = 0, 620.7, 1791.8, 4000 Hz.
    bank = F.mel_filterbank(2, 8, 8000)
    c0, c1, hi = 620.70, 1791.80, 4000.0  # the lower edge of filter 0 is 0 Hz
    expected = [[0, (c1 - 1000) / (c1 - c0), 0, 0, 0],
                [0, (1000 - c0) / (c1 - c0), (hi - 2000) / (hi - c1), (hi - 3000) / (hi - c1), 0]]
    np.testing.assert_allclose(bank, expected, atol=2e-4)


def test_forty_filters_at_8khz_are_all_live():
    bank = F.FrontEnd().bank
    assert bank.shape == (40, 129)
    assert (bank.max(axis=1) > 0).all() and bank.max() <= 1.0


def test_too_many_filters_is_a_config_error():
    with pytest.raises(ConfigError, match=r"mel filter 0 of 128 covers no FFT bin .*fewer "
                                          r"filters \(-o n_mels\)"):
        F.FrontEnd(n_mels=128)


@pytest.mark.parametrize("freq", [250.0, 1000.0, 3000.0])
def test_a_pure_tone_lands_in_its_mel_band(freq):
    fe = F.FrontEnd(preemphasis=0.0)
    energies = np.exp(fe.log_mel(tone(freq, 0.3))).mean(axis=0)  # (M,)
    # centres of the 40 HTK filters, from the formula written out here
    top = 2595 * math.log10(1 + 4000 / 700)
    centres = [700 * (10 ** (top * (m + 1) / 41 / 2595) - 1) for m in range(40)]
    nearest = int(np.argmin(np.abs(np.array(centres) - freq)))
    assert abs(int(np.argmax(energies)) - nearest) <= 1
    assert energies[nearest] > 20 * np.median(energies)


def test_dct_matches_scipy_orthonormal_dct_ii():
    fft = pytest.importorskip("scipy.fft")
    S = np.random.default_rng(0).normal(size=(7, 40))
    ours = S @ F.dct_matrix(13, 40).T
    np.testing.assert_allclose(ours, fft.dct(S, type=2, norm="ortho", axis=1)[:, :13],
                               rtol=0, atol=1e-12)
    full = F.dct_matrix(40, 40)
    np.testing.assert_allclose(full @ full.T, np.eye(40), atol=1e-12)  # orthonormal


def test_deltas_by_hand():
    # edges repeated: 1 1 | 1 2 4 7 11 | 11 11; d_t = (c[t+1]-c[t-1] + 2 (c[t+2]-c[t-2])) / 10
    c = np.array([[1.0], [2.0], [4.0], [7.0], [11.0]])
    np.testing.assert_allclose(F.deltas(c, 2)[:, 0], [0.7, 1.5, 2.5, 2.5, 1.8])


def test_normalize_gives_zero_mean_unit_variance_and_zeros_for_constants():
    z = np.column_stack([np.arange(5.0), np.full(5, 3.0)])
    out = F.normalize(z)
    np.testing.assert_allclose(out[:, 0].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(out[:, 0].std(), 1)
    np.testing.assert_array_equal(out[:, 1], 0.0)


@pytest.mark.parametrize("kind, deltas, size", [("mfcc", True, 39), ("mfcc", False, 13),
                                                ("logmel", True, 120), ("logmel", False, 40)])
def test_front_end_shapes(kind, deltas, size):
    fe = F.FrontEnd(kind=kind, use_deltas=deltas)
    z = fe(tone(500, 0.5) + 0.01 * np.random.default_rng(1).normal(size=4000))
    assert fe.size == size and z.shape == (1 + (4000 - 200) // 80, size)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-9)


def test_mfcc_static_block_is_the_dct_of_the_log_mel():
    fe = F.FrontEnd(normalize=False)
    x = tone(700, 0.2) + 0.05 * np.random.default_rng(2).normal(size=1600)
    z = fe(x)
    np.testing.assert_allclose(z[:, :13], fe.log_mel(x) @ F.dct_matrix(13, 40).T)
    np.testing.assert_allclose(z[:, 13:26], F.deltas(z[:, :13]))
    np.testing.assert_allclose(z[:, 26:], F.deltas(F.deltas(z[:, :13])))


def test_shorter_than_a_frame_is_a_data_error():
    with pytest.raises(DataError, match=r"clip.wav: 150 samples \(18.8 ms\) is shorter than one "
                                        r"25 ms analysis frame \(200 samples\)"):
        F.FrontEnd()(np.zeros(150), "clip.wav")


def test_bad_settings():
    with pytest.raises(ConfigError, match="n_mfcc must be between 1 and n_mels"):
        F.FrontEnd(n_mfcc=41)
    with pytest.raises(ConfigError, match="unknown feature kind"):
        F.FrontEnd(kind="plp")


def test_spec_augment_masks_bands_and_frames_deterministically():
    z = np.random.default_rng(3).normal(size=(50, 39)) + 5.0  # no natural zeros
    kw = dict(time_masks=2, time_width=6, freq_masks=2, freq_width=4, block=13)
    a = F.spec_augment(z, np.random.default_rng(7), **kw)
    b = F.spec_augment(z, np.random.default_rng(7), **kw)
    np.testing.assert_array_equal(a, b)
    zeroed = a == 0.0
    columns = zeroed.all(axis=0)
    # a masked coefficient is masked in its delta and delta-delta blocks too
    np.testing.assert_array_equal(columns[:13], columns[13:26])
    np.testing.assert_array_equal(columns[:13], columns[26:])
    rows = zeroed.all(axis=1)
    assert columns.sum() <= 3 * 2 * 4 and rows.sum() <= 2 * 6
    untouched = ~zeroed
    np.testing.assert_array_equal(a[untouched], z[untouched])
    assert not np.shares_memory(a, z)
    c = F.spec_augment(z, np.random.default_rng(8), **kw)
    assert (c != a).any()  # another seed, other masks


def test_spec_augment_off_is_identity():
    z = np.random.default_rng(4).normal(size=(20, 39))
    out = F.spec_augment(z, np.random.default_rng(0), time_masks=0, time_width=5, freq_masks=0,
                         freq_width=3, block=13)
    np.testing.assert_array_equal(out, z)
