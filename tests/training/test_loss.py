"""Losses and regularisers: official values for R1 and path lengths, blur, style mixing draws."""

import math

import pytest
import torch
import torch.nn.functional as F

from stylegan.io import import_official
from stylegan.models import build_preset
from stylegan.training.loss import (
    LossConfig,
    StyleGANLoss,
    draw_latents,
    gaussian_blur,
    path_lengths,
    r1_penalty,
)
from stylegan.training.stats import StatsCollector
from tests.conftest import load_reference


def reference_networks():
    d = load_reference("sg2_uncond")
    G = import_official(d["class"]["G"], d["init_kwargs"]["G"], d["G_state"])
    D = import_official(d["class"]["D"], d["init_kwargs"]["D"], d["D_state"])
    return d, G.eval().requires_grad_(False), D.eval().requires_grad_(False)


def test_r1_penalty_matches_official():
    d, _, D = reference_networks()
    real = d["inputs"]["img_real"].clone().requires_grad_(True)
    logits = D(real, d["inputs"]["c"])
    penalty = r1_penalty(logits, real)
    ref = d["outputs"]["D"]["r1_penalty"]
    assert torch.allclose(penalty, ref, rtol=1e-4, atol=1e-6)


def test_path_lengths_match_official():
    d, G, _ = reference_networks()
    pl = d["outputs"]["pl"]
    ws = pl["ws"].clone().requires_grad_(True)
    img = G.synthesis(ws, noise_mode="const")
    # The reference's y is already divided by sqrt(H W); path_lengths divides the raw noise.
    raw = pl["y"] * math.sqrt(img.shape[2] * img.shape[3])
    lengths = path_lengths(img, ws, raw)
    assert torch.allclose(lengths, pl["pl_lengths"], rtol=1e-4, atol=1e-6)


def test_gaussian_blur_keeps_mean_and_smooths():
    img = torch.zeros([1, 1, 33, 33])
    img[0, 0, 16, 16] = 1
    out = gaussian_blur(img, sigma=2.0)
    assert out.shape == img.shape
    assert out.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert out[0, 0, 16, 16] < 0.1 and out[0, 0, 16, 18] > 0
    assert gaussian_blur(img, 0.2) is img  # under a third of a pixel: no taps


def test_blur_sigma_fades_linearly():
    G, D = build_preset("stylegan2", 8, channel_base=64, channel_max=8, z_dim=8, w_dim=8, map_layers=1).build()
    loss = StyleGANLoss(G, D, LossConfig(blur_sigma=10, blur_fade_kimg=2))
    assert loss.blur_sigma(0) == 10
    assert loss.blur_sigma(1000) == pytest.approx(5)
    assert loss.blur_sigma(5000) == 0
    assert StyleGANLoss(G, D, LossConfig()).blur_sigma(0) == 0


def test_draw_latents_mixing_probability_and_labels():
    gen = torch.Generator().manual_seed(0)
    labels = torch.eye(3)
    lat = draw_latents(4000, 8, 10, 0.9, labels, gen)
    assert lat.z.shape == (4000, 8) and lat.c.shape == (4000, 3)
    mixed = lat.crossover < 10
    assert abs(mixed.float().mean().item() - 0.9) < 0.03
    assert lat.crossover[mixed].min() >= 1 and lat.crossover[mixed].max() <= 9
    assert (lat.c.sum(1) == 1).all()
    none = draw_latents(100, 8, 10, 0.0, torch.zeros([1, 0]), gen)
    assert (none.crossover == 10).all() and none.c.shape == (100, 0)
    # The same generator state gives the same draws, and slicing keeps all fields aligned.
    a = draw_latents(8, 4, 6, 0.5, labels, torch.Generator().manual_seed(3))
    b = draw_latents(8, 4, 6, 0.5, labels, torch.Generator().manual_seed(3))
    assert torch.equal(a.z, b.z) and torch.equal(a[2:4].crossover, b.crossover[2:4])


def test_terms_backpropagate_and_report():
    torch.manual_seed(0)
    G, D = build_preset("stylegan2", 8, channel_base=64, channel_max=8, z_dim=8, w_dim=8, map_layers=1).build()
    G.requires_grad_(False)
    D.requires_grad_(False)
    stats = StatsCollector()
    loss = StyleGANLoss(G, D, LossConfig(r1_gamma=1.0, style_mixing=0.5, pl_weight=2.0), stats=stats)
    lat = draw_latents(4, 8, G.num_ws, 0.5, torch.zeros([1, 0]), torch.Generator().manual_seed(0))

    G.requires_grad_(True)
    loss.generator_main(lat, 0, gain=1.0)
    assert all(p.grad is not None for p in G.mapping.parameters())
    assert all(p.grad is None for p in D.parameters())  # D's weights are not trained by the G step
    lengths = loss.path_length(lat, torch.randn([4, 3, 8, 8]), gain=4.0)
    assert lengths.shape == (2,)  # pl_batch_shrink 2
    G.requires_grad_(False)

    D.requires_grad_(True)
    loss_fake = loss.discriminator_fake(lat, 0, gain=1.0)
    reals = torch.rand([4, 3, 8, 8]) * 2 - 1
    logits = loss.discriminator_real(reals, lat.c, 0, gain=1.0, main=True, r1=True, loss_fake=loss_fake)
    assert logits.shape == (4, 1)
    assert all(p.grad is not None for p in D.b4.parameters())
    s = stats.reduce()
    for key in (
        "Loss/G/loss",
        "Loss/G/reg",
        "Loss/pl_penalty",
        "Loss/D/loss",
        "Loss/D/reg",
        "Loss/r1_penalty",
        "Loss/scores/real",
        "Loss/signs/real",
    ):
        assert key in s and math.isfinite(s[key]["mean"])
    # Non-saturating G loss is softplus(-D(G(z))): its mean is the reported value.
    assert s["Loss/G/loss"]["num"] == 4
    assert s["Loss/D/loss"]["mean"] > 0


def test_pl_mean_update_is_an_ema():
    G, D = build_preset("stylegan2", 8, channel_base=64, channel_max=8, z_dim=8, w_dim=8, map_layers=1).build()
    loss = StyleGANLoss(G, D, LossConfig(pl_decay=0.01))
    loss.update_pl_mean(torch.tensor(2.0))
    assert loss.pl_mean.item() == pytest.approx(0.02)
    loss.update_pl_mean(torch.tensor(2.0))
    assert loss.pl_mean.item() == pytest.approx(0.02 + 0.01 * (2 - 0.02))


def test_softplus_forms_of_the_logistic_loss():
    x = torch.linspace(-5, 5, 11)
    assert torch.allclose(F.softplus(-x), -torch.log(torch.sigmoid(x)), atol=1e-6)
    assert torch.allclose(F.softplus(x), -torch.log(1 - torch.sigmoid(x)), atol=1e-5)
