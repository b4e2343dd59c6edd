"""Tests of the ADA augmentation pipeline (Karras et al. 2020, Appendix B)."""

from __future__ import annotations

from statistics import NormalDist

import pytest
import torch
import torch.nn.functional as F

from stylegan.errors import UserError
from stylegan.training.augment import PRESETS, SYMLET2, AugmentPipe, _octave_filter_bank, preset_kwargs

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def seeded(seed: int, device="cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def quantile(q: float) -> float:
    return NormalDist().inv_cdf(q)


def blob(x0: float, y0: float, sigma: float = 3.0, size: int = 32, sx: float | None = None, sy: float | None = None):
    """A smooth (band-limited for practical purposes) Gaussian blob centred at pixel (x0, y0), [1, 1, H, W] float64."""
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                            indexing="ij")  # fmt: skip
    sx = sigma if sx is None else sx
    sy = sigma if sy is None else sy
    return torch.exp(-((xs - x0) ** 2) / (2 * sx**2) - ((ys - y0) ** 2) / (2 * sy**2))[None, None]


# -- identity, presets, state ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_p_zero_is_exact_identity(device):
    pipe = AugmentPipe(**PRESETS["bgcfnc"], p=0.0).to(device)
    x = torch.randn(6, 3, 16, 16, device=device)
    assert torch.equal(pipe(x), x)
    grey = torch.randn(2, 1, 16, 16, device=device)
    assert torch.equal(pipe(grey), grey)


def test_presets_and_state():
    assert set(PRESETS) == {"blit", "geom", "color", "filter", "noise", "cutout", "bg", "bgc", "bgcf", "bgcfn",
                            "bgcfnc"}  # fmt: skip
    assert preset_kwargs("bgc") == {"xflip": 1, "rotate90": 1, "xint": 1, "scale": 1, "rotate": 1, "aniso": 1,
                                    "xfrac": 1, "brightness": 1, "contrast": 1, "lumaflip": 1, "hue": 1,
                                    "saturation": 1}  # fmt: skip
    with pytest.raises(UserError, match="unknown augmentation preset"):
        preset_kwargs("bgq")
    pipe = AugmentPipe(**preset_kwargs("bgc"))
    # Defaults of the paper.
    assert (pipe.xint_max, pipe.scale_std, pipe.rotate_max, pipe.aniso_std, pipe.xfrac_std) == (0.125, 0.2, 1, 0.2,
                                                                                                 0.125)  # fmt: skip
    assert (pipe.brightness_std, pipe.contrast_std, pipe.hue_max, pipe.saturation_std) == (0.2, 0.5, 1, 1)
    assert list(pipe.state_dict()) == ["p"]  # filters are constants, not state
    pipe.p.copy_(torch.tensor(0.3))
    other = AugmentPipe(**preset_kwargs("bgc"))
    other.load_state_dict(pipe.state_dict())
    assert float(other.p) == pytest.approx(0.3)
    assert "p=0.3000" in repr(pipe) and "xflip=1" in repr(pipe)


def test_probability_of_each_transform_is_multiplier_times_p():
    x = torch.randn(1, 3, 2, 2).expand(4000, 3, 2, 2)
    pipe = AugmentPipe(brightness=0.5, p=0.6)
    changed = (pipe(x, generator=seeded(0)) != x).flatten(1).any(dim=1).float().mean()
    assert abs(float(changed) - 0.3) < 0.03
    # The two rotations together fire with probability rotate * p.
    pipe = AugmentPipe(rotate=1, p=0.5)
    x = blob(3.3, 4.1, 1.5, size=8).float().expand(1000, 1, 8, 8)
    changed = ((pipe(x, generator=seeded(1)) - x).abs().flatten(1).amax(dim=1) > 1e-6).float().mean()
    assert abs(float(changed) - 0.5) < 0.05  # 3 sigma


# -- pixel blitting: exact ---------------------------------------------------------------------------------------------


def test_xflip_is_exact():
    x = torch.randn(16, 3, 8, 12)
    out = AugmentPipe(xflip=1, p=1.0)(x, generator=seeded(0))
    flipped = torch.tensor([torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x)])
    same = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x)])
    assert bool((flipped | same).all()) and flipped.any() and same.any()


def test_rotate90_is_exact():
    x = torch.randn(24, 3, 10, 10)
    out = AugmentPipe(rotate90=1, p=1.0)(x, generator=seeded(0))
    seen = set()
    for o, xi in zip(out, x):
        matches = [k for k in range(4) if torch.equal(o, torch.rot90(xi, k, dims=(1, 2)))]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == {0, 1, 2, 3}


def test_integer_translation_shifts_pixels_with_reflected_border():
    size, max_shift = 16, round(0.125 * 16)
    x = torch.randn(12, 3, size, size)
    out = AugmentPipe(xint=1, p=1.0)(x, generator=seeded(0))
    padded = F.pad(x, [max_shift] * 4, mode="reflect")
    shifts = set()
    for i in range(x.shape[0]):
        found = [(dx, dy) for dx in range(-max_shift, max_shift + 1) for dy in range(-max_shift, max_shift + 1)
                 if torch.equal(out[i], padded[i, :, max_shift - dy : max_shift - dy + size,
                                                     max_shift - dx : max_shift - dx + size])]  # fmt: skip
        assert len(found) == 1, f"sample {i} is not a translated copy"
        shifts.add(found[0])
    assert len(shifts) > 3


# -- general geometry: band-limited resampling matches the analytic transform ----------------------------------------


def test_fractional_translation_matches_shifted_blob():
    q = 0.7
    shift = quantile(q) * 0.125 * 32  # ~2.1 px in x and y
    img = blob(12.3, 17.8)
    out = AugmentPipe(xfrac=1, p=1.0)(img, percentile=q)
    expected = blob(12.3 + shift, 17.8 + shift)
    assert (out - expected).abs().max() < 0.006
    assert (img - expected).abs().max() > 0.3  # the comparison is meaningful


def test_isotropic_and_anisotropic_scaling_match_analytic_blob():
    q, centre = 0.9, 15.5
    s = 2 ** (quantile(q) * 0.2)
    out = AugmentPipe(scale=1, p=1.0)(blob(12.3, 17.8), percentile=q)
    expected = blob(centre + (12.3 - centre) * s, centre + (17.8 - centre) * s, 3 * s)
    assert (out - expected).abs().max() < 0.008
    out = AugmentPipe(aniso=1, p=1.0)(blob(12.3, 17.8), percentile=q)
    expected = blob(centre + (12.3 - centre) * s, centre + (17.8 - centre) / s, sx=3 * s, sy=3 / s)
    assert (out - expected).abs().max() < 0.008


def test_arbitrary_rotation_by_quarter_turn_matches_rot90():
    img = torch.cat([blob(12.3, 17.8), blob(18.0, 10.0, 4.0), blob(15.0, 15.0, 5.0)], dim=1)
    out = AugmentPipe(rotate=1, p=1.0)(img, percentile=0.75)  # theta = (2q - 1) pi = pi / 2
    errors = [float((out - torch.rot90(img, k, dims=(2, 3))).abs().max()) for k in range(4)]
    assert min(errors) < 0.006 and sorted(errors)[1] > 0.3


def test_resampling_does_not_alias_high_frequencies():
    """A checkerboard (Nyquist) rotated by a small angle should not turn into a low-frequency pattern."""
    checker = ((torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2).double()[None, None] * 2 - 1
    out = AugmentPipe(rotate=1, p=1.0)(checker, percentile=0.52)  # ~7 degrees
    spectrum = torch.fft.fft2(out[0, 0, 8:24, 8:24]).abs()
    low = spectrum[:4, :4].sum() + spectrum[-3:, :4].sum() + spectrum[:4, -3:].sum() + spectrum[-3:, -3:].sum()
    assert low < 0.05 * spectrum.sum()


# -- colour ----------------------------------------------------------------------------------------------------------


def test_brightness_adds_a_constant_per_image():
    x = torch.randn(64, 3, 4, 4, dtype=torch.float64)
    delta = AugmentPipe(brightness=1, p=1.0)(x, generator=seeded(0)) - x
    offsets = delta.flatten(1)[:, 0]
    assert torch.allclose(delta, offsets[:, None, None, None].expand_as(delta), atol=1e-12)
    assert 0.12 < float(offsets.std()) < 0.28


def test_contrast_scales_about_grey():
    x = torch.randn(32, 3, 4, 4, dtype=torch.float64)
    out = AugmentPipe(contrast=1, p=1.0)(x, generator=seeded(0))
    gains = out.flatten(1)[:, 0] / x.flatten(1)[:, 0]
    assert torch.allclose(out, x * gains[:, None, None, None], atol=1e-12)
    assert bool((gains > 0).all()) and 0.3 < float(gains.log2().std()) < 0.7


def test_luma_flip_negates_luma_and_keeps_chroma():
    x = torch.randn(32, 3, 4, 4, dtype=torch.float64)
    out = AugmentPipe(lumaflip=1, p=1.0)(x, generator=seeded(0))
    luma = x.mean(dim=1, keepdim=True)
    flipped = torch.tensor([torch.allclose(o, xi - 2 * li, atol=1e-12) for o, xi, li in zip(out, x, luma)])
    same = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x)])
    assert bool((flipped | same).all()) and flipped.any() and same.any()


def test_hue_rotation_keeps_luma_and_a_third_turn_permutes_channels():
    x = torch.randn(16, 3, 4, 4, dtype=torch.float64)
    out = AugmentPipe(hue=1, p=1.0)(x, generator=seeded(0))
    assert torch.allclose(out.mean(dim=1), x.mean(dim=1), atol=1e-6)
    chroma = lambda t: (t - t.mean(dim=1, keepdim=True)).norm(dim=1)  # noqa: E731
    assert torch.allclose(chroma(out), chroma(x), atol=1e-5)
    third = AugmentPipe(hue=1, p=1.0)(x, percentile=5 / 6)  # theta = 2 pi / 3 about (1, 1, 1)
    assert any(torch.allclose(third, x[:, perm], atol=1e-5) for perm in ([1, 2, 0], [2, 0, 1]))


def test_saturation_scales_chroma_and_zero_saturation_is_grey():
    x = torch.randn(16, 3, 4, 4, dtype=torch.float64)
    out = AugmentPipe(saturation=1, p=1.0)(x, generator=seeded(0))
    luma, out_luma = x.mean(dim=1, keepdim=True), out.mean(dim=1, keepdim=True)
    assert torch.allclose(out_luma, luma, atol=1e-6)
    ratio = (out - out_luma).flatten(1)[:, 0] / (x - luma).flatten(1)[:, 0]
    assert torch.allclose(out - out_luma, (x - luma) * ratio[:, None, None, None], atol=1e-5)
    grey = AugmentPipe(saturation=1, saturation_std=100.0, p=1.0)(x, percentile=0.01)  # factor 2^-233
    assert torch.allclose(grey, luma.expand_as(x), atol=1e-6)


def test_grey_images_get_brightness_and_contrast_only():
    x = torch.randn(8, 1, 6, 6, dtype=torch.float64)
    out = AugmentPipe(**PRESETS["color"], p=1.0)(x, generator=seeded(0))
    a = (out - out.mean(dim=(2, 3), keepdim=True)) / (x - x.mean(dim=(2, 3), keepdim=True))
    assert torch.allclose(a, a[:, :, :1, :1].expand_as(a), atol=1e-8)  # an affine map per image
    with pytest.raises(ValueError, match="1 or 3 channels"):
        AugmentPipe(brightness=1, p=1.0)(torch.zeros(1, 4, 4, 4))


# -- filtering and corruptions ---------------------------------------------------------------------------------------


def test_octave_filter_bank_partitions_the_spectrum():
    bank = torch.as_tensor(_octave_filter_bank(SYMLET2, 4))
    impulse = torch.zeros(bank.shape[1], dtype=torch.float64)
    impulse[bank.shape[1] // 2] = 1
    assert torch.allclose(bank.sum(dim=0), impulse, atol=1e-12)
    assert torch.allclose(bank, bank.flip(1))  # zero phase
    response = torch.fft.rfft(bank, n=256).abs()  # |H| at frequencies 0..pi
    assert torch.allclose(response[:, 0], torch.tensor([1.0, 0, 0, 0], dtype=torch.float64), atol=1e-12)
    assert torch.allclose(response[:, -1], torch.tensor([0, 0, 0, 1.0], dtype=torch.float64), atol=1e-12)
    peaks = response.argmax(dim=1)
    assert bool((peaks[1:] > peaks[:-1]).all())  # bands ordered from low to high frequencies


def test_image_filter_changes_band_gains_and_keeps_constants():
    x = torch.randn(4, 3, 24, 24, dtype=torch.float64)
    out = AugmentPipe(imgfilter=1, p=1.0)(x, generator=seeded(0))
    assert out.shape == x.shape and bool(torch.isfinite(out).all()) and not torch.allclose(out, x)
    flat = torch.full((2, 3, 24, 24), 0.5, dtype=torch.float64)
    flat_out = AugmentPipe(imgfilter=1, p=1.0)(flat, generator=seeded(0))
    gains = flat_out[:, :, 12, 12] / 0.5  # DC passes through band 0's normalised gain only
    assert torch.allclose(flat_out, flat * gains[:, :, None, None], atol=1e-10)
    AugmentPipe(imgfilter=1, p=1.0)(torch.randn(1, 3, 8, 8))  # smaller than the filter: padding falls back


def test_noise_and_cutout():
    x = torch.zeros(64, 3, 16, 16)
    out = AugmentPipe(noise=1, p=1.0)(x, generator=seeded(0))
    stds = out.flatten(1).std(dim=1)
    assert 0.04 < float(stds.mean()) < 0.12  # E|N(0, 0.1^2)| = 0.08
    ones = torch.ones(2, 3, 16, 16)
    cut = AugmentPipe(cutout=1, p=1.0)(ones, percentile=0.5)  # centred square of half the size
    expected = ones.clone()
    expected[:, :, 4:12, 4:12] = 0
    assert torch.equal(cut, expected)


# -- differentiability, finiteness, determinism ----------------------------------------------------------------------


@pytest.mark.parametrize("preset, seed", [("bgc", 4), ("blit", 0), ("bgcfnc", 4)])
def test_gradients_flow_to_the_input(preset, seed, monkeypatch):
    pipe = AugmentPipe(**PRESETS[preset], p=0.4 if preset != "blit" else 1.0)
    calls = {"_blit": 0, "_resample": 0}
    for name in calls:
        original = getattr(pipe, name)

        def spy(*args, _original=original, _name=name):
            calls[_name] += 1
            return _original(*args)

        monkeypatch.setattr(pipe, name, spy)
    x = torch.randn(4, 3, 6, 6, dtype=torch.float64, requires_grad=True)
    fn = lambda t: pipe(t, generator=seeded(seed))  # noqa: E731  (the same random draw on every call)
    assert torch.autograd.gradcheck(fn, (x,), fast_mode=True)
    assert torch.autograd.gradgradcheck(fn, (x,), fast_mode=True)  # R1 through the augmentation
    assert calls["_blit"] > 0 and (calls["_resample"] > 0) == (preset != "blit")  # both warp paths are covered
    assert not torch.allclose(fn(x), x)


@pytest.mark.parametrize("device", DEVICES)
def test_output_finite_and_deterministic(device):
    pipe = AugmentPipe(**PRESETS["bgcfnc"], p=1.0).to(device)
    x = torch.rand(8, 3, 32, 32, device=device) * 2 - 1
    a = pipe(x, generator=seeded(7, device))
    b = pipe(x, generator=seeded(7, device))
    c = pipe(x, generator=seeded(8, device))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert bool(torch.isfinite(a).all()) and float(a.abs().max()) < 20
    torch.manual_seed(5)
    d = pipe(x)
    torch.manual_seed(5)
    assert torch.equal(d, pipe(x))
    # A generator leaves the global RNG alone.
    state = torch.get_rng_state()
    pipe(x.cpu().to(device), generator=seeded(1, device))
    assert torch.equal(state, torch.get_rng_state())


def test_same_draw_in_float32_and_float64():
    pipe = AugmentPipe(**PRESETS["bgc"], p=1.0)
    x = torch.randn(4, 3, 16, 16)
    out32 = pipe(x, generator=seeded(2))
    out64 = pipe(x.double(), generator=seeded(2))
    assert out64.dtype == torch.float64
    assert torch.allclose(out32.double(), out64, atol=1e-4)  # the same draw, whatever the dtype
