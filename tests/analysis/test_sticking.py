"""Texture sticking (StyleGAN3 Figure 1): a translation-equivariant toy has none, a toy whose
texture is glued to the pixel grid has all of it."""

from __future__ import annotations

import json

import pytest
import torch

import stylegan
from stylegan.analysis.sticking import (
    high_frequency_energy,
    measure_sticking,
    space_time_slice,
    sticking_report,
    sticking_score,
    walk_frames,
)
from stylegan.errors import UserError
from stylegan.models import build_preset
from tests.cli.conftest import run_cli
from tests.tools.conftest import build_seeded, tiny_stylegan2


def texture(size=32, seed=0):
    return torch.randn([3, size, size], generator=torch.Generator().manual_seed(seed))


def equivariant_toy(steps=32, size=32):
    """Frames of a toy generator that is exactly translation-equivariant: its texture moves with the
    content, (1, 3) pixels per frame on the torus."""
    t = texture(size)
    return torch.stack([torch.roll(t, shifts=(k, 3 * k), dims=(1, 2)) for k in range(steps)])


def sticky_toy(steps=32, size=32):
    """Frames whose content (a smooth blob) moves while a fine texture stays at fixed pixels."""
    yy, xx = torch.meshgrid(
        torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing="ij"
    )
    frames = []
    for k in range(steps):
        cx = size * k / steps
        blob = torch.exp(-((xx - cx) ** 2 + (yy - size / 2) ** 2) / (2 * 6.0**2))
        frames.append(blob.expand(3, -1, -1) + 0.3 * texture(size))
    return torch.stack(frames)


def test_equivariant_toy_does_not_stick():
    frames = equivariant_toy()
    # Only the frequencies orthogonal to the motion, fy + 3 fx = 0 (mod 32), survive the average: 32 of 1024.
    assert sticking_score(frames) < 0.06
    assert sticking_score(sticky_toy()) > 0.9


def test_score_bounds_and_still_frames():
    still = texture().expand(8, -1, -1, -1)
    assert sticking_score(still) == pytest.approx(1.0)
    random_frames = torch.randn([6, 3, 16, 16], generator=torch.Generator().manual_seed(3))
    assert 0 <= sticking_score(random_frames) <= 1
    assert sticking_score(torch.zeros([4, 3, 8, 8])) == 1.0  # nothing to move
    smooth = torch.ones([1, 1, 16, 16])
    assert float(high_frequency_energy(smooth)[0]) == pytest.approx(0.0, abs=1e-20)
    assert sticking_score(smooth.expand(3, 3, -1, -1) * torch.tensor([1.0, 2.0, 3.0])[:, None, None, None]) == 1.0
    with pytest.raises(UserError, match="sigma"):
        high_frequency_energy(smooth, sigma=0.0)
    with pytest.raises(UserError):
        sticking_score(still[:1])


def test_space_time_slice_of_a_vertical_translation_is_diagonal():
    t = texture(16)
    frames = torch.stack([torch.roll(t, shifts=k, dims=1) for k in range(16)])  # down 1 pixel per frame
    s = space_time_slice(frames, column=5)
    assert s.shape == (3, 16, 16)
    torch.testing.assert_close(s[:, 0, 0], t[:, 0, 5])
    for k in range(1, 16):
        torch.testing.assert_close(s[:, k, k], t[:, 0, 5])  # the same detail, one row lower per frame
    still = space_time_slice(t.expand(4, -1, -1, -1), rows=(2, 6))
    assert still.shape == (3, 4, 4) and torch.equal(still[..., 0], still[..., 3])
    with pytest.raises(UserError):
        space_time_slice(frames, column=16)


def tiny_stylegan3():
    return build_seeded(
        build_preset("stylegan3-t", 16, channel_base=256, channel_max=16, map_layers=2, z_dim=8, w_dim=8)
    )


def test_walks_of_networks():
    G = tiny_stylegan2(16)
    frames = walk_frames(G, 0, frames=6, radius=0.5)
    assert frames.shape == (6, 3, 16, 16)
    assert (frames[1] - frames[0]).abs().max() > 1e-4  # the walk moves
    assert sticking_score(walk_frames(G, 0, frames=4, radius=0.0)) == pytest.approx(1.0)  # a walk of radius 0
    with pytest.raises(UserError, match="needs a StyleGAN3 network"):
        walk_frames(G, 0, frames=4, motion="translate")
    moved = walk_frames(tiny_stylegan3(), 0, frames=4, motion="translate", distance=0.5)
    assert moved.shape == (4, 3, 16, 16) and (moved[2] - moved[0]).abs().max() > 1e-3
    m = measure_sticking(frames)
    assert m.slice.shape == (3, 16, 6) and m.average.shape == (3, 16, 16)


def test_report_and_cli(tmp_path):
    calls = []
    summary = sticking_report(
        {"sg2": tiny_stylegan2(16), "sg3": tiny_stylegan3()},
        [0, 1],
        tmp_path / "r",
        frames=4,
        tile=16,
        progress=lambda n, total: calls.append((n, total)),
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert set(summary["networks"]) == {"sg2", "sg3"}
    assert all(0 <= s["score"] <= 1 for r in summary["networks"].values() for s in r["seeds"])
    assert all(s["frame_hf_energy"] > 0 for r in summary["networks"].values() for s in r["seeds"])
    a = stylegan.save(tiny_stylegan2(16), tmp_path / "a.safetensors")
    b = stylegan.save(tiny_stylegan3(), tmp_path / "b.safetensors")
    code, out, err = run_cli("analyze", "sticking", a, b, "--seeds", "0", "--frames", "4", "--outdir", tmp_path / "c")
    assert code == 0, err
    saved = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert list(saved["networks"]) == ["a", "b"] and "sticking score" in out
    code, _, err = run_cli("analyze", "sticking", a, "--motion", "translate", "--outdir", tmp_path / "d")
    assert code == 2 and "needs a StyleGAN3 network" in err


class ToyGenerator(torch.nn.Module):
    """A toy generator with a two-dimensional latent: its image is a band-limited periodic texture
    moved by 16 z pixels (a Fourier shift, exactly translation-equivariant), or, with ``sticky``, a
    smooth blob moved by z over a texture that stays put."""

    def __init__(self, sticky=False, size=32):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = 2, 0, 2, 1
        self.img_resolution, self.img_channels, self.sticky = size, 3, sticky
        self.anchor = torch.nn.Parameter(torch.zeros([]))  # where next(G.parameters()) finds the device
        spectrum = torch.fft.fft2(texture(size))
        f = torch.fft.fftfreq(size)
        spectrum[:, (f.abs() > 0.35)[:, None] | (f.abs() > 0.35)[None, :]] = 0  # band-limited
        self.register_buffer("spectrum", spectrum)
        self.mapping = lambda z, c, **kw: z[:, None, :]
        self.synthesis = self._render

    def one_hot(self, class_idx, batch, device=None):
        return torch.zeros([batch, 0], device=device)

    def _render(self, ws, **kw):
        size = self.img_resolution
        f = torch.fft.fftfreq(size)
        shift = 16 * ws[:, 0, :]  # [N, 2] pixels (y, x)
        if not self.sticky:
            phase = torch.exp(-2j * torch.pi * (shift[:, 0, None, None] * f[:, None] + shift[:, 1, None, None] * f))
            return torch.fft.ifft2(self.spectrum[None] * phase[:, None]).real
        yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
        centre = size / 2 + shift
        blob = torch.exp(-((yy - centre[:, 0, None, None]) ** 2 + (xx - centre[:, 1, None, None]) ** 2) / 72)
        return blob[:, None] + torch.fft.ifft2(self.spectrum).real[None]


def test_a_translation_equivariant_toy_generator_does_not_stick():
    moving = walk_frames(ToyGenerator(), seed=0, frames=32, radius=0.3)
    sticky = walk_frames(ToyGenerator(sticky=True), seed=0, frames=32, radius=0.3)
    assert (moving[8] - moving[0]).abs().max() > 0.1 and (sticky[8] - sticky[0]).abs().max() > 0.1  # both move
    assert sticking_score(moving) < 0.1
    assert sticking_score(sticky) > 0.9
