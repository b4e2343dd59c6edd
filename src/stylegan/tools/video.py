"""Latent interpolation videos (as the official gen_video.py, with lerp/slerp in place of splines).

Seeds are laid out as ``[grid_h][grid_w][keyframe]``: with a W x H grid and K keyframes, cell
(y, x) visits seeds ``seeds[(y * W + x) * K : (y * W + x + 1) * K]``. The video loops: after the
last keyframe each cell returns to its first one. ``space="w"`` interpolates linearly between the
(truncated) ws; ``space="z"`` spherically between the latents z, mapping (and truncating) every frame.

StyleGAN3 networks can also move: ``translate=(x, y)`` and ``rotate=deg`` swing the image
through the network's input transform, the offset and angle following ``sin(2 pi t)`` over the loop
(t in [0, 1)), so the animation loops too. The transform is set per frame as the official tools
do (``G.set_transform``, see ``stylegan.models.stylegan3.make_transform``) and restored afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from stylegan.errors import UserError
from stylegan.models.interface import Generator, Transformable
from stylegan.tools.generate import check_truncation, labels_for, synthesize
from stylegan.tools.media import write_video
from stylegan.utils.images import grid, to_uint8
from stylegan.utils.seeds import z_from_seeds

SPACES = ("w", "z")


def lerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: float, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation over the last dimension (Shoemake): along the great circle for the
    direction, linear in the norm; falls back to lerp where a and b are (anti)parallel."""
    a_norm = a.norm(dim=-1, keepdim=True)
    b_norm = b.norm(dim=-1, keepdim=True)
    a_unit = a / a_norm.clamp_min(eps)
    b_unit = b / b_norm.clamp_min(eps)
    cos = (a_unit * b_unit).sum(dim=-1, keepdim=True).clamp(-1, 1)
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    safe = sin.abs() > 1e-6
    sin_safe = torch.where(safe, sin, torch.ones_like(sin))
    direction = (torch.sin((1 - t) * omega) * a_unit + torch.sin(t * omega) * b_unit) / sin_safe
    direction = torch.where(safe, direction, lerp(a_unit, b_unit, t))
    direction = direction / direction.norm(dim=-1, keepdim=True).clamp_min(eps)
    return direction * lerp(a_norm, b_norm, t)


def parse_grid(text: str) -> tuple[int, int]:
    """ "3x2" -> (3, 2) (width, height)."""
    parts = str(text).lower().split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise UserError(f"grid must look like WxH, e.g. 2x2, got {text!r}") from None
    if w < 1 or h < 1:
        raise UserError(f"grid sizes must be positive, got {text!r}")
    return w, h


def keyframe_schedule(num_keyframes: int, frames_per_seed: int) -> list[tuple[int, int, float]]:
    """For every frame: (keyframe k, next keyframe (k + 1) mod K, fraction t in [0, 1))."""
    if frames_per_seed < 1:
        raise UserError(f"frames per seed must be at least 1, got {frames_per_seed}")
    return [
        (k, (k + 1) % num_keyframes, i / frames_per_seed) for k in range(num_keyframes) for i in range(frames_per_seed)
    ]


def motion_at(
    t: float, translate: tuple[float, float] | None, rotate: float | None
) -> tuple[tuple[float, float], float]:
    """Offset and angle (degrees) at loop phase t: amplitude * sin(2 pi t)."""
    swing = math.sin(2 * math.pi * t)
    tx, ty = translate if translate is not None else (0.0, 0.0)
    return (tx * swing, ty * swing), (rotate or 0.0) * swing


def _keyframe_latents(G: Generator, seeds, grid_w, grid_h, space, truncation_psi, truncation_cutoff, class_idx, device):
    cells = grid_w * grid_h
    if len(seeds) % cells != 0:
        raise UserError(
            f"the number of seeds ({len(seeds)}) must be a multiple of the grid's {cells} cells "
            f"(seeds run cell by cell, one keyframe after another)"
        )
    num_keyframes = len(seeds) // cells
    z = z_from_seeds(seeds, G.z_dim).to(device)
    c = labels_for(G, class_idx, len(seeds), device)
    if space == "w":
        latents = G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
    else:
        latents = z
    return latents.reshape(cells, num_keyframes, *latents.shape[1:]), c[:cells], num_keyframes


class FrameStream:
    """The frames of a video, rendered one at a time as they are iterated; ``len()`` gives their count."""

    def __init__(self, render, count: int):
        self._render = render
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._render()


def interpolation_frames(
    G: Generator,
    seeds: list[int],
    grid_size: tuple[int, int] = (1, 1),
    frames_per_seed: int = 60,
    space: str = "w",
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    class_idx: int | None = None,
    noise_mode: str = "const",
    translate: tuple[float, float] | None = None,
    rotate: float | None = None,
    device: torch.device | str = "cpu",
) -> FrameStream:
    """The video's frames: uint8 [grid_h * H, grid_w * W, C] pictures, one per time step.

    Options are checked here, at once; the frames are rendered while the stream is iterated."""
    if space not in SPACES:
        raise UserError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
    if not seeds:
        raise UserError("give at least one seed")
    check_truncation(truncation_psi, truncation_cutoff, G.num_ws)
    G = G.to(device).eval()
    animate = translate is not None or rotate is not None
    mover = G if animate and isinstance(G, Transformable) else None
    if animate and mover is None:
        raise UserError("only StyleGAN3 networks take --translate/--rotate")
    grid_w, grid_h = grid_size
    with torch.no_grad():
        keys, c, num_keyframes = _keyframe_latents(
            G, seeds, grid_w, grid_h, space, truncation_psi, truncation_cutoff, class_idx, device
        )
    schedule = keyframe_schedule(num_keyframes, frames_per_seed)

    @torch.no_grad()
    def render() -> Iterator[np.ndarray]:
        with mover.transformed() if mover is not None else nullcontext():
            for frame, (k, k_next, t) in enumerate(schedule):
                if space == "w":
                    ws = lerp(keys[:, k], keys[:, k_next], t)
                else:
                    z = slerp(keys[:, k], keys[:, k_next], t)
                    ws = G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
                if mover is not None:
                    offset, angle = motion_at(frame / len(schedule), translate, rotate)
                    mover.set_transform(offset, angle)
                images = synthesize(G, ws, noise_mode=noise_mode)
                yield grid(to_uint8(images), cols=grid_w)

    return FrameStream(render, len(schedule))


def write_interpolation_video(
    G: Generator,
    seeds: list[int],
    output: str | Path,
    fps: float = 30,
    progress: bool = False,
    notice=print,
    **frame_kwargs,
) -> Path:
    """Render ``interpolation_frames(G, seeds, **frame_kwargs)`` into ``output`` (.mp4 or .gif);
    returns the file written (a .gif beside it where ffmpeg is missing)."""
    frames = interpolation_frames(G, seeds, **frame_kwargs)
    if not progress:
        return write_video(frames, output, fps=fps, notice=notice)
    from tqdm import tqdm

    with tqdm(frames, total=len(frames), unit="frame", leave=False) as bar:  # closed (cleared) on errors too
        return write_video(bar, output, fps=fps, notice=notice)
