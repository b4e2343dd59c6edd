"""Low-pass filter design for the alias-free generator (StyleGAN3, Section 3 and Appendix C).

Two designs, both returned as float32 tensors ready for ``upfirdn2d``:

- ``kaiser_lowpass``: a separable 1-D Kaiser-windowed sinc, the windowed-sinc method of
  ``scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs)`` (passes DC with gain 1). The
  Kaiser window's beta follows from the attenuation that ``numtaps`` taps reach over a transition
  band of the given ``width`` (Kaiser's empirical formulas).
- ``radial_lowpass``: a radially symmetric 2-D jinc (the 2-D ideal disc low-pass,
  J1(2 pi f_c r) / (pi r)) under the separable product of the same Kaiser window; config R uses
  it for the downsampling filters of its non-critically sampled layers.

Frequencies (``cutoff``, ``width``) are in the units of the sampling rate ``fs``.
"""

from __future__ import annotations

import numpy as np
import scipy.special
import torch


def kaiser_attenuation(numtaps: int, width: float) -> float:
    """Attenuation (dB) of a Kaiser FIR filter of ``numtaps`` taps and transition ``width``
    (relative to the Nyquist frequency, i.e. 1 = fs / 2)."""
    return 2.285 * (numtaps - 1) * np.pi * width + 7.95


def kaiser_beta(attenuation: float) -> float:
    """Kaiser window parameter beta for a stopband attenuation in dB (Kaiser, 1974)."""
    a = attenuation
    if a > 50:
        return 0.1102 * (a - 8.7)
    if a > 21:
        return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21)
    return 0.0


def kaiser_lowpass_numpy(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """Float64 taps of the Kaiser-windowed sinc low-pass (see module docstring)."""
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    nyquist = fs / 2
    if not 0 < cutoff < nyquist:
        raise ValueError(f"cutoff must lie in (0, fs/2) = (0, {nyquist:g}), got {cutoff:g}")
    beta = kaiser_beta(kaiser_attenuation(numtaps, width / nyquist))
    m = np.arange(numtaps) - (numtaps - 1) / 2
    taps = (cutoff / nyquist) * np.sinc((cutoff / nyquist) * m)  # ideal low-pass, sampled
    taps = taps * np.kaiser(numtaps, beta)
    return taps / taps.sum()  # unit gain at DC


def radial_lowpass_numpy(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """Float64 [numtaps, numtaps] taps of the Kaiser-windowed jinc low-pass (see module docstring)."""
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    f = np.where(r == 0, cutoff, f)  # limit of J1(2 pi c r) / (pi r) at r = 0
    beta = kaiser_beta(kaiser_attenuation(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    f = f * np.outer(window, window)
    return f / f.sum()


def design_lowpass_filter(
    numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False
) -> torch.Tensor | None:
    """The float32 filter of an alias-free layer: ``None`` for a single tap (identity), a 1-D
    separable Kaiser low-pass, or a 2-D radial one."""
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    taps = (
        radial_lowpass_numpy(numtaps, cutoff, width, fs) if radial else kaiser_lowpass_numpy(numtaps, cutoff, width, fs)
    )
    return torch.as_tensor(taps, dtype=torch.float32)
