import math

import numpy as np
import pytest
import torch
from PIL import Image

from stylegan.errors import UserError
from stylegan.models import build_preset
from stylegan.tools import media
from stylegan.tools.generate import generate_images, synthesize
from stylegan.tools.video import (
    interpolation_frames,
    keyframe_schedule,
    lerp,
    motion_at,
    parse_grid,
    slerp,
    write_interpolation_video,
)
from stylegan.utils.images import grid, to_uint8
from stylegan.utils.seeds import z_from_seeds
from tests.tools.conftest import build_seeded


def test_slerp():
    a, b = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 4.0]])
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-6)
    mid = slerp(a, b, 0.5)
    assert torch.allclose(mid, torch.tensor([[3 / math.sqrt(2), 3 / math.sqrt(2)]]), atol=1e-6)  # 45 deg, norm 3
    third = slerp(a, b, 1 / 3)
    assert math.isclose(math.degrees(math.atan2(third[0, 1], third[0, 0])), 30.0, abs_tol=1e-4)
    same = slerp(a, 3 * a, 0.5)  # parallel: falls back to lerp of the direction
    assert torch.allclose(same, 4 * a / 2)


def test_schedule_loops_back_to_the_first_keyframe():
    schedule = keyframe_schedule(3, 2)
    assert schedule == [(0, 1, 0.0), (0, 1, 0.5), (1, 2, 0.0), (1, 2, 0.5), (2, 0, 0.0), (2, 0, 0.5)]
    with pytest.raises(UserError):
        keyframe_schedule(3, 0)


def test_parse_grid():
    assert parse_grid("3x2") == (3, 2)
    for bad in ("3", "0x2", "axb", "1x2x3"):
        with pytest.raises(UserError, match="grid"):
            parse_grid(bad)


def test_w_interpolation_frames(tiny_G):
    seeds = [1, 2, 3, 4, 5, 6]  # 2x1 grid, 3 keyframes per cell: cell 0 visits 1, 2, 3; cell 1 visits 4, 5, 6
    frames = interpolation_frames(tiny_G, seeds, grid_size=(2, 1), frames_per_seed=4, space="w", truncation_psi=0.7)
    assert len(frames) == 12
    frames = list(frames)
    assert frames[0].shape == (8, 16, 3)
    for k in range(3):  # every 4th frame is a keyframe
        expected = to_uint8(generate_images(tiny_G, [seeds[k], seeds[3 + k]], truncation_psi=0.7))
        assert np.abs(frames[4 * k].astype(int) - grid(expected, cols=2).astype(int)).max() <= 1
    # The last frame is 3/4 of the way from keyframe 3 back to keyframe 1: lerp of the ws.
    ws = tiny_G.mapping(z_from_seeds([3, 1], 8), None, truncation_psi=0.7)
    expected = to_uint8(synthesize(tiny_G, lerp(ws[:1], ws[1:], 0.75), noise_mode="const"))[0]
    assert np.abs(frames[-1][:, :8].astype(int) - expected.astype(int)).max() <= 1


def test_z_interpolation_frames(tiny_G):
    frames = list(interpolation_frames(tiny_G, [7, 8], frames_per_seed=2, space="z"))
    assert len(frames) == 4
    assert np.abs(frames[2].astype(int) - to_uint8(generate_images(tiny_G, [8]))[0].astype(int)).max() <= 1
    z = z_from_seeds([7, 8], 8)
    ws = tiny_G.mapping(slerp(z[:1], z[1:], 0.5), None)
    assert np.abs(frames[1].astype(int) - to_uint8(synthesize(tiny_G, ws))[0].astype(int)).max() <= 1


def test_video_input_errors(tiny_G):
    with pytest.raises(UserError, match="multiple of the grid"):
        interpolation_frames(tiny_G, [1, 2, 3], grid_size=(2, 1))
    with pytest.raises(UserError, match="only StyleGAN3"):
        interpolation_frames(tiny_G, [1, 2], translate=(0.1, 0.0))
    with pytest.raises(UserError, match="space"):
        interpolation_frames(tiny_G, [1, 2], space="q")


def _recording_stylegan3():
    """A tiny StyleGAN3 generator whose synthesis network records its input transform at every call."""
    G = build_seeded(build_preset("stylegan3-t", 16, channel_base=256, channel_max=16, z_dim=8, w_dim=8))
    G.synthesis.seen = []
    G.synthesis.register_forward_pre_hook(lambda net, args: net.seen.append(net.input.transform.clone()))
    return G


def _make_transform(translate, angle):
    s, c = math.sin(math.radians(angle)), math.cos(math.radians(angle))
    return np.array([[c, s, translate[0]], [-s, c, translate[1]], [0, 0, 1]])


def test_translate_rotate_animation_sets_and_restores_the_transform():
    G = _recording_stylegan3()
    frames = list(interpolation_frames(G, [1, 2], frames_per_seed=4, translate=(0.2, -0.1), rotate=30))
    assert len(frames) == len(G.synthesis.seen) == 8
    for i, seen in enumerate(G.synthesis.seen):
        offset, angle = motion_at(i / 8, (0.2, -0.1), 30)
        assert torch.allclose(
            seen @ torch.as_tensor(_make_transform(offset, angle), dtype=torch.float32), torch.eye(3), atol=1e-6
        )
    (tx, ty), angle = motion_at(0.25, (0.2, -0.1), 30)  # the peak of the swing
    assert (tx, ty, angle) == pytest.approx((0.2, -0.1, 30))
    assert torch.equal(G.synthesis.input.transform, torch.eye(3))  # restored


def test_write_video_mp4_and_gif_fallback(tiny_G, tmp_path, monkeypatch):
    import imageio_ffmpeg

    path = write_interpolation_video(tiny_G, [1, 2], tmp_path / "lerp.mp4", fps=10, frames_per_seed=3)
    assert path == tmp_path / "lerp.mp4"
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert meta["size"] == (8, 8) and sum(1 for _ in reader) == 6
    notes = []
    monkeypatch.setattr(media, "ffmpeg_available", lambda: False)
    path = write_interpolation_video(tiny_G, [1, 2], tmp_path / "again.mp4", frames_per_seed=3, notice=notes.append)
    assert path == tmp_path / "again.gif" and "ffmpeg is not available" in notes[0]
    assert Image.open(path).n_frames == 6
    assert not (tmp_path / "again.mp4").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.gif", "lerp.mp4"]  # no temporary files left


def test_write_video_checks(tmp_path):
    with pytest.raises(UserError, match=".mp4 or .gif"):
        media.write_video([np.zeros((4, 4, 3), np.uint8)], tmp_path / "x.avi")
    with pytest.raises(UserError, match="no frames"):
        media.write_video([], tmp_path / "x.gif")
    assert not list(tmp_path.iterdir())
    odd = media.write_video([np.full((5, 7, 1), 9, np.uint8)] * 2, tmp_path / "odd.mp4")
    assert odd.stat().st_size > 0
