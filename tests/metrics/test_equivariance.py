import math

import pytest
import torch
from torch import nn

from stylegan.errors import UserError
from stylegan.metrics.equivariance import (
    apply_fractional_pseudo_rotation,
    apply_fractional_rotation,
    apply_fractional_translation,
    apply_integer_translation,
    compute_equivariance,
    compute_equivariance_metrics,
    psnr,
)
from stylegan.models.stylegan3 import StyleGAN3Generator, input_transform


def pixel_centres(res):
    """[res, res, 2] (x, y) of the pixel centres, the image spanning [-0.5, 0.5] (x right, y down)."""
    c = (torch.arange(res) + 0.5) / res - 0.5
    y, x = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([x, y], dim=2)


def band_limited_images(coords, ws, max_freq=3.0):
    """Sums of 6 sinusoids (|f| <= max_freq cycles per image) whose amplitudes and phases come from ws."""
    g = torch.Generator().manual_seed(5)
    freqs = (torch.rand(6, 2, generator=g) * 2 - 1) * max_freq / math.sqrt(2)
    arg = coords @ freqs.t()  # [H, W, 6]
    amp, phase = ws[:, :6], ws[:, 6:12]
    img = (amp[:, None, None, :] * torch.sin(2 * math.pi * arg[None] + phase[:, None, None, :])).sum(-1) / 6
    return img[:, None].repeat(1, 3, 1, 1)


class Transformable(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("transform", torch.eye(3))


class ToySynthesis(nn.Module):
    """Renders band-limited images at the input-transformed pixel coordinates, like StyleGAN3's
    Fourier input: exactly equivariant. ``follow=False`` ignores the transform; ``sticky`` adds a
    pattern fixed to the pixel grid."""

    def __init__(self, res, follow=True, sticky=0.0):
        super().__init__()
        self.res, self.follow, self.sticky = res, follow, sticky
        self.input = Transformable()
        self.register_buffer("pattern", torch.randn(1, 3, res, res, generator=torch.Generator().manual_seed(9)))

    def forward(self, ws, noise_mode="const"):
        coords = pixel_centres(self.res)
        if self.follow:
            m = self.input.transform
            coords = coords @ m[:2, :2].t() + m[:2, 2]
        return band_limited_images(coords, ws[:, 0]) + self.sticky * self.pattern


class ToyGenerator(nn.Module):
    def __init__(self, res=32, **kw):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.img_resolution = 12, 0, 12, 1, res
        self.synthesis = ToySynthesis(res, **kw)
        self.dummy = nn.Parameter(torch.zeros([]))

    def mapping(self, z, c, **kw):
        return z[:, None]

    @torch.no_grad()
    def set_transform(self, translate=(0.0, 0.0), angle_deg=0.0):
        self.synthesis.input.transform.copy_(input_transform(translate, angle_deg))

    transformed = StyleGAN3Generator.transformed


def test_psnr_formula():
    assert psnr(0.0, 10) == math.inf
    assert psnr(4.0 * 10, 10) == pytest.approx(0.0)  # MSE 4 = peak-to-peak squared
    assert psnr(0.04 * 5, 5) == pytest.approx(20.0)
    with pytest.raises(ValueError):
        psnr(1.0, 0)


def test_integer_translation_moves_content_right_and_down():
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    y, m = apply_integer_translation(x, 2 / 8, -1 / 8)
    assert torch.equal(y[0, 0, :7, 2:], x[0, 0, 1:, :6])
    assert m.sum() == 7 * 6 and torch.equal(y * (1 - m), torch.zeros_like(y))
    y, m = apply_integer_translation(x, 1.0, 0)  # everything moved out
    assert m.sum() == 0


def test_fractional_translation_interpolates_band_limited_content():
    res = 32
    ws = torch.randn(2, 12)
    img = band_limited_images(pixel_centres(res), ws)
    t = torch.tensor([0.1234, -0.0567])
    ref, mask = apply_fractional_translation(img, t[0], t[1])
    exact = band_limited_images(pixel_centres(res) - t, ws)
    assert mask[0, 0].sum() > 0.5 * res * res
    assert ((ref - exact).abs() * mask).max() < 0.02
    # Whole-pixel shifts reduce to the integer translation inside the mask.
    ref, mask = apply_fractional_translation(img, 3 / res, -2 / res)
    ref_int, _ = apply_integer_translation(img, 3 / res, -2 / res)
    assert ((ref - ref_int).abs() * mask).max() < 1e-5


def test_fractional_rotation_of_band_limited_content():
    res = 32
    ws = torch.randn(2, 12)
    img = band_limited_images(pixel_centres(res), ws)
    rotated, mask = apply_fractional_rotation(img, math.pi / 2)
    assert mask.sum() > 0.3 * mask.numel()
    assert ((rotated - torch.rot90(img, 1, dims=(2, 3))).abs() * mask).max() < 0.02  # counter-clockwise
    # The pseudo-rotation only band-limits: a low-frequency image passes nearly unchanged.
    pseudo, pmask = apply_fractional_pseudo_rotation(img, 0.7)
    assert ((pseudo - img).abs() * pmask).max() < 0.02


def test_identity_transform_gives_unbounded_or_very_high_psnr():
    G = ToyGenerator(sticky=0.5)  # even a non-equivariant generator matches itself
    out = compute_equivariance_metrics(G, num_samples=4, batch_size=2, translate_max=0.0, rotate_max=0.0)
    assert out["eqt"] == math.inf
    assert out["eqt_frac"] > 100
    assert out["eqr"] > 40


def test_equivariant_generator_scores_high_and_non_equivariant_low():
    kw = dict(num_samples=8, batch_size=2, seed=3)
    good = compute_equivariance_metrics(ToyGenerator(), **kw)
    assert good["eqt"] > 100  # whole-pixel moves of an exactly moved signal: float32 rounding only
    assert good["eqt_frac"] > 35 and good["eqr"] > 35
    frozen = compute_equivariance_metrics(ToyGenerator(follow=False), **kw)
    sticky = compute_equivariance_metrics(ToyGenerator(sticky=0.3), **kw)
    for bad in (frozen, sticky):
        for metric in ("eqt", "eqt_frac", "eqr"):
            assert bad[metric] < 25 and bad[metric] < good[metric] - 15, (metric, bad, good)


def test_single_metric_api_is_deterministic_and_leaves_g_unchanged():
    G = ToyGenerator(sticky=0.1)
    a = compute_equivariance(G, "eqt_frac", num_samples=3, batch_size=2, seed=1)
    b = compute_equivariance(G, "eqt_frac", num_samples=3, batch_size=2, seed=1)
    c = compute_equivariance(G, "eqt_frac", num_samples=3, batch_size=2, seed=2)
    assert a == b != c
    assert torch.equal(G.synthesis.input.transform, torch.eye(3))
    with pytest.raises(UserError):
        compute_equivariance(G, "eqz", num_samples=2)
    with pytest.raises(UserError):
        compute_equivariance(G, "eqt", num_samples=0)


def test_stylegan3_and_constant_input_generators():
    from stylegan.models.mapping import MappingConfig
    from stylegan.models.stylegan2 import StyleGAN2Generator, StyleGAN2GeneratorConfig
    from stylegan.models.stylegan3 import StyleGAN3Generator, StyleGAN3GeneratorConfig

    G3 = StyleGAN3Generator(
        StyleGAN3GeneratorConfig(z_dim=8, w_dim=8, img_resolution=16, channel_base=64, channel_max=4, num_fp16_res=0)
    )
    assert math.isfinite(compute_equivariance(G3, "eqr", num_samples=2, batch_size=2))

    G2 = StyleGAN2Generator(
        StyleGAN2GeneratorConfig(
            z_dim=8,
            w_dim=8,
            img_resolution=16,
            channel_base=64,
            channel_max=4,
            num_fp16_res=0,
            mapping=MappingConfig(num_layers=1),
        )
    )
    const = G2.synthesis.b4.const.detach().clone()
    out = compute_equivariance_metrics(G2, num_samples=2, batch_size=2)
    assert all(math.isfinite(v) for v in out.values())
    assert torch.equal(G2.synthesis.b4.const, const)

    class NoInput(nn.Module):
        def __init__(self):
            super().__init__()
            self.synthesis = nn.Linear(1, 1)

    with pytest.raises(UserError, match="transformable input"):
        compute_equivariance(NoInput(), "eqt", num_samples=1)
