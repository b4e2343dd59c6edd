import pytest
import torch

from stylegan.models import build_preset
from stylegan.ops.resample import downscale2d, upscale2d
from stylegan.training.progressive import (
    ProgressiveSchedule,
    apply_lod,
    fade_reals,
    needs_optimizer_reset,
)


def test_official_schedule_lod_and_resolution():
    s = ProgressiveSchedule(1024)  # start at 8x8: lod 7
    assert s.max_lod == 8
    p = s.at(0)
    assert (p.lod, p.resolution, p.alpha, p.minibatch, p.G_lrate) == (7, 8, 1.0, 256, 0.001)
    assert not p.in_transition
    assert s.at(599.9).lod == 7  # training phase of 8x8
    p = s.at(900)  # half-way through the fade-in of 16x16
    assert p.lod == pytest.approx(6.5) and p.resolution == 16 and p.alpha == pytest.approx(0.5)
    assert p.in_transition and p.minibatch == 128
    assert s.at(1200).lod == 6 and s.at(1200).resolution == 16
    p = s.at(1200 * 4 + 300)  # training 128x128: per-resolution lr
    assert p.resolution == 128 and p.lod == 3 and p.G_lrate == 0.0015 and p.minibatch == 32
    p = s.at(1200 * 4 + 750)  # fading in 256x256
    assert p.resolution == 256 and p.lod == pytest.approx(2.75) and p.alpha == pytest.approx(0.25)
    assert p.G_lrate == 0.002
    assert s.at(s.total_growing_kimg()).lod == 0
    p = s.at(1e6)
    assert p.lod == 0 and p.resolution == 1024 and p.D_lrate == 0.003 and p.tick_kimg == 20
    assert s.total_growing_kimg() == 7 * 1200


def test_lod_is_continuous_and_never_increases():
    s = ProgressiveSchedule(64, lod_initial_resolution=4, lod_training_kimg=10, lod_transition_kimg=10)
    lods = [s.lod_at(k / 10) for k in range(0, 1000)]
    assert lods[0] == 4
    assert all(b <= a for a, b in zip(lods, lods[1:]))
    assert max(abs(a - b) for a, b in zip(lods, lods[1:])) <= 0.01 + 1e-9
    assert lods[-1] == 0


def test_schedule_options():
    s = ProgressiveSchedule.one_gpu(1024)
    assert s.at(1e6).minibatch == 4 and s.at(1e6).G_lrate == 0.0015
    assert s.at(0).minibatch == 128
    ramp = ProgressiveSchedule(32, lrate_rampup_kimg=100)
    assert ramp.at(50).G_lrate == pytest.approx(0.0005)
    assert ProgressiveSchedule(32, minibatch_dict={8: 30}).at(0, num_devices=4).minibatch == 28
    # No growing: start at full resolution.
    assert ProgressiveSchedule(32, lod_initial_resolution=32).at(0).lod == 0
    with pytest.raises(ValueError):
        ProgressiveSchedule(48)


def test_optimizer_reset_when_a_layer_appears():
    assert needs_optimizer_reset(None, 3.0)
    assert not needs_optimizer_reset(3.0, 3.0)
    assert needs_optimizer_reset(3.0, 2.99)  # the fade-in of a new resolution starts
    assert not needs_optimizer_reset(2.9, 2.5)
    assert needs_optimizer_reset(2.01, 2.0)  # the fade-in ends


def test_fade_reals():
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(fade_reals(x, 0), x)
    low = downscale2d(x)
    torch.testing.assert_close(fade_reals(x, 1), upscale2d(low))
    lower = upscale2d(downscale2d(low))
    torch.testing.assert_close(fade_reals(x, 1.25), upscale2d(0.75 * low + 0.25 * lower))
    # Continuous across lods.
    torch.testing.assert_close(fade_reals(x, 1 - 1e-6), fade_reals(x, 1), atol=1e-5, rtol=0)
    torch.testing.assert_close(fade_reals(x, 2 - 1e-6), fade_reals(x, 2), atol=1e-5, rtol=0)
    assert fade_reals(x, 4).unique().numel() == 6  # one colour per sample and channel
    with pytest.raises(ValueError):
        fade_reals(x, -1)


@torch.no_grad()
def test_networks_follow_the_schedule():
    torch.manual_seed(0)
    G, D = build_preset("stylegan1", 16, channel_base=128, channel_max=16, map_layers=1, z_dim=8, w_dim=8).build()
    s = ProgressiveSchedule(16, lod_initial_resolution=4, lod_training_kimg=1, lod_transition_kimg=1)
    for kimg in (0, 1.5, 2.5, 10):
        p = s.at(kimg)
        apply_lod(p.lod, G, D)
        assert G.lod == pytest.approx(p.lod) and D.lod.item() == pytest.approx(p.lod)
        img = G(torch.randn(4, 8), noise_mode="const")
        assert img.shape == (4, 3, 16, 16)
        if p.alpha == 1.0:  # at an integer lod the output is blocky at the current resolution
            blocky = upscale2d(downscale2d(img, 16 // p.resolution), 16 // p.resolution)
            torch.testing.assert_close(img, blocky, rtol=0, atol=1e-5)
        reals = fade_reals(torch.randn(4, 3, 16, 16), p.lod)
        assert D(reals).shape == (4, 1) and D(img).isfinite().all()
