import numpy as np
import pytest
import scipy.signal
import scipy.special
import torch

from stylegan.models.stylegan3 import synthesis_schedule
from stylegan.ops.filters import (
    design_lowpass_filter,
    kaiser_attenuation,
    kaiser_beta,
    kaiser_lowpass_numpy,
    radial_lowpass_numpy,
)


def schedule_filter_specs():
    """(numtaps, cutoff, width, fs) of every up/down filter the T and R schedules use, 16..1024 px."""
    specs = set()
    for res in [16, 64, 256, 1024]:
        s = synthesis_schedule(res, 3)
        rates, cutoffs, half = s["sampling_rates"], s["cutoffs"], s["half_widths"]
        for i in range(1, len(rates) - 1):
            tmp = max(rates[i - 1], rates[i]) * 2
            specs.add((int(6 * tmp / rates[i - 1]), cutoffs[i - 1], 2 * half[i - 1], tmp))
            specs.add((int(6 * tmp / rates[i]), cutoffs[i], 2 * half[i], tmp))
    return sorted(specs)


def test_kaiser_formulas_match_scipy():
    for numtaps in [6, 12, 24, 48]:
        for width in [0.05, 0.2, 0.5]:
            a = kaiser_attenuation(numtaps, width)
            assert a == pytest.approx(scipy.signal.kaiser_atten(numtaps, width), rel=1e-12)
            assert kaiser_beta(a) == pytest.approx(scipy.signal.kaiser_beta(a), rel=1e-12)
    for a in [10.0, 30.0, 60.0]:  # the three branches
        assert kaiser_beta(a) == pytest.approx(scipy.signal.kaiser_beta(a), rel=1e-12)


@pytest.mark.parametrize("numtaps,cutoff,width,fs", [(12, 2.0, 6.0, 32.0), (7, 0.3, 0.2, 2.0), (30, 100, 40, 1024)])
def test_kaiser_lowpass_equals_firwin(numtaps, cutoff, width, fs):
    ours = kaiser_lowpass_numpy(numtaps, cutoff, width, fs)
    ref = scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-15)


def test_every_schedule_filter_equals_firwin():
    specs = schedule_filter_specs()
    assert len(specs) > 20
    for numtaps, cutoff, width, fs in specs:
        ours = design_lowpass_filter(numtaps, cutoff, width, fs)
        ref = scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs)
        assert ours.dtype == torch.float32 and ours.shape == (numtaps,)
        np.testing.assert_array_equal(ours.numpy(), torch.as_tensor(ref, dtype=torch.float32).numpy())


def test_kaiser_lowpass_frequency_response():
    """Unit gain at DC, pass band flat below the cutoff, stop band beyond cutoff + width / 2."""
    numtaps, cutoff, width, fs = 24, 8.0, 6.0, 64.0
    f = kaiser_lowpass_numpy(numtaps, cutoff, width, fs)
    freqs, h = scipy.signal.freqz(f, worN=2048, fs=fs)
    h = np.abs(h)
    assert h[0] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.abs(h[freqs <= cutoff - width / 2] - 1) < 0.05)
    assert np.all(h[freqs >= cutoff + width / 2] < 0.05)


def test_single_tap_is_identity_and_bad_cutoff_is_rejected():
    assert design_lowpass_filter(1, 2.0, 1.0, 16.0) is None
    with pytest.raises(ValueError):
        kaiser_lowpass_numpy(12, 9.0, 1.0, 16.0)  # above Nyquist
    with pytest.raises(ValueError):
        design_lowpass_filter(0, 2.0, 1.0, 16.0)


def test_radial_filter_matches_windowed_jinc():
    numtaps, cutoff, width, fs = 12, 2.0, 6.0, 32.0
    f = design_lowpass_filter(numtaps, cutoff, width, fs, radial=True).double().numpy()
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(x[None, :], x[:, None])
    jinc = 2 * cutoff**2 * np.pi * scipy.special.j1(2 * np.pi * cutoff * r) / (2 * np.pi * cutoff * r)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    window = scipy.signal.windows.kaiser(numtaps, beta)
    ref = jinc * np.outer(window, window)
    np.testing.assert_allclose(f, ref / ref.sum(), atol=1e-7)


def test_radial_filter_is_radially_symmetric():
    numtaps, cutoff, width, fs = 24, 4.0, 4.0, 32.0
    f = radial_lowpass_numpy(numtaps, cutoff, width, fs)
    assert f.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(f, f.T, atol=1e-15)
    np.testing.assert_allclose(f, f[::-1, :], atol=1e-15)
    # Its frequency response depends on |f| only: compare along an axis and along a diagonal.
    n = 512
    h = np.abs(np.fft.fft2(f, s=(n, n)))
    for k in [4, 16, 40]:  # frequency bins
        along_axis = h[0, k]
        d = k / np.sqrt(2)
        lo = int(np.floor(d))
        t = d - lo  # bilinear interpolation on the diagonal
        diag = (1 - t) ** 2 * h[lo, lo] + t * (1 - t) * (h[lo + 1, lo] + h[lo, lo + 1]) + t**2 * h[lo + 1, lo + 1]
        assert diag == pytest.approx(along_axis, abs=0.02)
    assert h[0, 0] == pytest.approx(1.0)
    stop = int(np.ceil((cutoff + width / 2) / fs * n))
    assert h[0, stop : n // 2].max() < 0.05


def test_odd_radial_filter_has_a_finite_centre():
    f = radial_lowpass_numpy(7, 2.0, 3.0, 16.0)
    assert np.isfinite(f).all() and f[3, 3] == f.max()
