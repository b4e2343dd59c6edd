"""Every tool on StyleGAN (v1), StyleGAN2 and StyleGAN3 networks alike (tiny random ones)."""

import numpy as np
import pytest
import torch

from stylegan.models import build_preset
from stylegan.tools.generate import generate_images
from stylegan.tools.mix import resolve_styles, style_mix
from stylegan.tools.project import mse_distance, noise_buffers, project, render_projection
from stylegan.tools.spectra import average_spectra, generated_batches
from stylegan.tools.video import interpolation_frames
from stylegan.utils.images import to_uint8
from tests.tools.conftest import build_seeded

SMALL = dict(map_layers=2, z_dim=8, w_dim=8)
NETWORKS = {
    "stylegan1": lambda: build_preset("stylegan1", 8, channel_base=128, channel_max=8, **SMALL),
    "stylegan2": lambda: build_preset("stylegan2", 8, channel_base=64, channel_max=8, **SMALL),
    "stylegan3-t": lambda: build_preset("stylegan3-t", 16, channel_base=256, channel_max=16, **SMALL),
}
NOISE_MAPS = {"stylegan1": 4, "stylegan2": 3, "stylegan3-t": 0}  # SG1: both 4x4 layers have noise; SG2: one


@pytest.fixture(scope="module", params=sorted(NETWORKS))
def network(request):
    return request.param, build_seeded(NETWORKS[request.param]())


def test_mix(network):
    _, G = network
    styles = resolve_styles(G.num_ws, presets=["fine"])
    result = style_mix(G, [1, 2], [2, 3], styles)
    assert torch.allclose(result.cells[1, 0], result.row_images[1], atol=1e-5)  # a row mixed with itself
    assert not torch.allclose(result.cells[0, 1], result.row_images[0], atol=1e-4)


def test_video(network):
    _, G = network
    frames = list(interpolation_frames(G, [4, 5], frames_per_seed=2, space="z"))
    assert len(frames) == 4
    expected = to_uint8(generate_images(G, [4, 5]))
    assert np.abs(frames[0].astype(int) - expected[0].astype(int)).max() <= 1
    assert np.abs(frames[2].astype(int) - expected[1].astype(int)).max() <= 1


def test_project(network):
    name, G = network
    assert len(noise_buffers(G.synthesis)) == NOISE_MAPS[name]
    target = generate_images(G, [6])[0]
    result = project(G, target, num_steps=25, w_avg_samples=100, w_plus=True)
    assert result.w.shape == (G.num_ws, G.w_dim) and len(result.noise) == NOISE_MAPS[name]
    final = mse_distance(render_projection(G, result), target[None]).item()
    assert final < result.distances[0] / 3


def test_spectra(network):
    _, G = network
    result = average_spectra({"generated": generated_batches(G, 3)}, G.img_resolution, interp=1)
    spectrum = result.spectra["generated"]
    assert spectrum.shape == (G.img_resolution,) * 2 and np.isfinite(spectrum).all() and (spectrum > 0).all()


def test_stylegan3_translation_moves_the_image():
    """--translate uses the network's input transform: a quarter-image offset in x moves the
    content 4 px right in a 16 px StyleGAN3 image (nearly exactly: the network is alias-free)."""
    G = build_seeded(NETWORKS["stylegan3-t"]())
    for translate, axis in (((0.25, 0.0), 1), ((0.0, 0.25), 0)):
        frames = [f.astype(int) for f in interpolation_frames(G, [1], frames_per_seed=4, translate=translate)]
        moved = np.take(frames[1], range(6, 10), axis=axis)
        shifted = np.take(np.roll(frames[0], 4, axis=axis), range(6, 10), axis=axis)
        still = np.take(frames[0], range(6, 10), axis=axis)
        assert np.abs(moved - shifted).mean() < 0.2 < np.abs(moved - still).mean()
        assert np.array_equal(frames[2], frames[0])  # back at the start half way through the loop
    assert torch.equal(G.synthesis.input.transform, torch.eye(3))
