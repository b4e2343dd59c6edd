import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from stylegan.errors import UserError
from stylegan.tools.generate import generate_images, load_projected_ws
from stylegan.tools.project import (
    for_distance,
    learning_rate_at,
    load_target,
    mse_distance,
    noise_buffers,
    noise_regularization,
    project,
    render_projection,
    resolve_distance,
    w_noise_scale_at,
    write_projection,
)
from stylegan.utils.images import to_uint8


def test_schedules_follow_the_official_projector():
    assert learning_rate_at(0.0) == 0.0
    assert learning_rate_at(0.025) == pytest.approx(0.05)  # halfway up the 5% ramp
    assert learning_rate_at(0.05) == pytest.approx(0.1) and learning_rate_at(0.5) == pytest.approx(0.1)
    assert learning_rate_at(0.875) == pytest.approx(0.05)  # halfway down the cosine over the last 25%
    assert learning_rate_at(0.999) < 1e-4
    assert w_noise_scale_at(0.0, 2.0) == pytest.approx(0.1)
    assert w_noise_scale_at(0.375, 2.0) == pytest.approx(0.1 * 0.25)
    assert w_noise_scale_at(0.8, 2.0) == 0.0


def test_noise_buffers_are_found_by_name(tiny_G):
    found = noise_buffers(tiny_G.synthesis)
    assert sorted(found) == ["b4.conv1.noise_const", "b8.conv0.noise_const", "b8.conv1.noise_const"]

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("noise", torch.randn(1, 1, 16, 16))  # e.g. a StyleGAN1-style [1, 1, H, W] map
            self.register_buffer("resample_filter", torch.ones(4, 4))
            self.register_buffer("noise_scales", torch.ones(3, 16, 16))  # several maps: not a noise input
            self.noise_strength = nn.Parameter(torch.zeros([]))

    assert list(noise_buffers(nn.Sequential(Layer()))) == ["0.noise"]


def test_noise_regularization():
    ones = torch.ones(16, 16)  # fully correlated: 1 per direction per scale (16, 8)
    assert noise_regularization([ones]).item() == pytest.approx(4.0)
    checker = (torch.arange(8)[:, None] + torch.arange(8)[None]) % 2 * 2.0 - 1  # anti-correlated: also 1
    assert noise_regularization([ones, checker]).item() == pytest.approx(6.0)
    white = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    assert noise_regularization([white]).item() < 1e-2


def test_for_distance_downsamples_large_images_only():
    assert for_distance(torch.zeros(1, 3, 256, 256)).shape[-1] == 256
    big = torch.arange(512.0).repeat(512, 1)[None, None]
    small = for_distance(big)
    assert small.shape == (1, 1, 256, 256) and small[0, 0, 0, 0].item() == 0.5  # 2x2 area mean


def _target(G, seed):
    """An image the network made itself, as a user would hold it: saved as uint8."""
    return to_uint8(generate_images(G, [seed]))[0]


def test_projection_recovers_an_image_of_the_network(tiny_G):
    # The network's own output, unclamped (a saved PNG would clip this random network's wide range).
    # Projection is non-convex: a few seeds of this tiny random network end in a local minimum.
    target = generate_images(tiny_G, [11])[0]
    before = [p.clone() for p in tiny_G.parameters()] + [b.clone() for b in tiny_G.buffers()]
    result = project(tiny_G, target, num_steps=100, w_avg_samples=300, distance=mse_distance)
    after = list(tiny_G.parameters()) + list(tiny_G.buffers())
    assert all(torch.equal(a, b) for a, b in zip(before, after))  # the caller's network is untouched
    assert result.w.shape == (1, 8) and not result.w_plus and len(result.losses) == 100
    final = mse_distance(render_projection(tiny_G, result), target[None]).item()
    other = mse_distance(generate_images(tiny_G, [12]), target[None]).item()
    assert final < 1e-3 and final < other / 1000
    assert result.distances[-1] < result.distances[0] / 100


def _float(image):
    return torch.as_tensor(np.array(image)).permute(2, 0, 1)[None].float() / 127.5 - 1


class RandomConvDistance:
    """A fixed random conv feature distance (stands for LPIPS in tests): squared feature differences."""

    def __init__(self, channels=3):
        g = torch.Generator().manual_seed(1)
        self.w1 = torch.randn(16, channels, 3, 3, generator=g) / 5
        self.w2 = torch.randn(16, 16, 3, 3, generator=g) / 12

    def features(self, x):
        a = torch.nn.functional.leaky_relu(torch.nn.functional.conv2d(x, self.w1, padding=1), 0.2)
        b = torch.nn.functional.leaky_relu(torch.nn.functional.conv2d(a, self.w2, padding=1), 0.2)
        return [a, b]

    def __call__(self, x, y):
        return sum((fa - fb).square().flatten(1).mean(1) for fa, fb in zip(self.features(x), self.features(y)))


def test_w_plus_projection_with_a_feature_distance(tiny_G):
    target = generate_images(tiny_G, [2])[0]
    distance = RandomConvDistance()
    result = project(
        tiny_G, target, num_steps=100, w_avg_samples=300, w_plus=True, distance=distance, record_steps=True
    )
    assert result.w.shape == (4, 8) and result.w_plus and result.w_steps.shape == (100, 4, 8)
    assert torch.equal(result.w_steps[-1], result.w)
    final = render_projection(tiny_G, result)
    other = generate_images(tiny_G, [3])
    assert distance(final, target[None]).item() < distance(other, target[None]).item() / 100
    assert mse_distance(final, target[None]).item() < mse_distance(other, target[None]).item() / 100


def test_projection_is_reproducible_and_checks_its_target(tiny_G):
    target = _target(tiny_G, 3)
    a = project(tiny_G, target, num_steps=5, w_avg_samples=50, seed=7)
    b = project(tiny_G, torch.as_tensor(target).permute(2, 0, 1), num_steps=5, w_avg_samples=50, seed=7)
    assert torch.equal(a.w, b.w)
    with pytest.raises(UserError, match="shape"):
        project(tiny_G, torch.zeros(3, 16, 16), num_steps=1)
    with pytest.raises(UserError, match="steps"):
        project(tiny_G, target, num_steps=0)


def test_write_projection_outputs(tiny_G, tmp_path):
    target = _target(tiny_G, 2)
    result = project(tiny_G, target, num_steps=6, w_avg_samples=50, record_steps=True)
    files = write_projection(tiny_G, result, target, tmp_path, save_video=True, info={"target": "t.png"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "proj.mp4",
        "proj.png",
        "projected_w.npz",
        "projection.json",
        "side_by_side.png",
        "target.png",
    ]
    with np.load(files.w) as data:
        assert data.files == ["w"] and data["w"].shape == (1, 8) and np.array_equal(data["w"], result.w.numpy())
    proj = np.asarray(Image.open(files.proj))
    assert np.array_equal(proj, to_uint8(render_projection(tiny_G, result))[0])
    assert np.array_equal(np.asarray(Image.open(files.target)), target)
    assert np.array_equal(np.asarray(Image.open(files.side_by_side)), np.concatenate([target, proj], axis=1))
    summary = json.loads(files.summary.read_text())
    assert summary["mode"] == "w" and summary["steps"] == 6 and summary["target"] == "t.png"
    assert len(summary["per_step"]["loss"]) == 6 and summary["final"]["distance"] == pytest.approx(result.distances[-1])
    assert summary["proj_png"]["mse"] == pytest.approx(mse_distance(_float(proj), _float(target)).item(), rel=1e-5)
    # The saved w renders the same image through the generate path.
    ws = load_projected_ws(files.w, tiny_G.num_ws, tiny_G.w_dim)
    assert ws.shape == (1, 4, 8) and torch.equal(ws[0, 3], result.w[0])
    with pytest.raises(UserError, match="steps"):
        write_projection(
            tiny_G, project(tiny_G, target, num_steps=1, w_avg_samples=5), target, tmp_path / "b", save_video=True
        )


def test_load_target(tmp_path):
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, 10:30] = 200  # the centre square is uniform
    Image.fromarray(wide).save(tmp_path / "wide.png")
    out = load_target(tmp_path / "wide.png", 8)
    assert out.shape == (8, 8, 3) and (out == 200).all()
    Image.fromarray(np.full((8, 8), 50, np.uint8)).save(tmp_path / "gray.png")
    assert load_target(tmp_path / "gray.png", 8).shape == (8, 8, 3)
    assert load_target(tmp_path / "gray.png", 8, channels=1).shape == (8, 8, 1)
    rgba = np.full((8, 8, 4), 255, np.uint8)
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    assert load_target(tmp_path / "opaque.png", 8).shape == (8, 8, 3)
    rgba[0, 0, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "clear.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    for name, message in [
        ("missing.png", "not found"),
        ("junk.png", "not a readable image"),
        ("clear.png", "transparent"),
    ]:
        with pytest.raises(UserError, match=message):
            load_target(tmp_path / name, 8)
    with pytest.raises(UserError, match="grayscale"):
        load_target(tmp_path / "opaque.png", 8, channels=1)
    with pytest.raises(UserError, match="directory"):
        load_target(tmp_path, 8)


def test_resolve_distance():
    assert resolve_distance("mse") is mse_distance
    with pytest.raises(UserError, match="distance must be one of"):
        resolve_distance("l2")
    with pytest.raises(UserError, match="not found"):  # an explicit missing file: an error, never a download
        resolve_distance("lpips", path="/no/such/vgg16.pt")
