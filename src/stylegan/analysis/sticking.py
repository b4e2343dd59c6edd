"""Texture sticking (Karras et al. 2021, "Alias-Free GAN", Figure 1): details that stay at fixed
pixel coordinates while the content moves.

The paper's two views, for a sequence of frames along a slow latent walk (or, for StyleGAN3, a
translation of the input):

- the average of the frames: it should be uniformly blurry, because every detail moves; details
  that stick to pixel coordinates stay sharp in it;
- a space-time slice: the same short vertical segment of pixels of every frame, stacked left to
  right; moving details draw slanted or curved streaks, sticking ones horizontal lines.

The number: the sticking score = E_hf(average frame) / mean_t E_hf(frame_t), where E_hf is the
mean square of the image's high-pass part x - blur_sigma(x) (a Gaussian blur of ``sigma`` pixels,
edges reflected, so that content entering at the border does not count as a jump the way it would
in a periodic Fourier transform). The high-pass is linear, so by convexity
(|mean_t h_t|^2 <= mean_t |h_t|^2, pixel by pixel) the score lies in [0, 1]: 1 when the fine
detail of every frame is the same (everything sticks, or nothing moves); near 0 when the details
move with the content and average out.

``stylegan analyze sticking A [B ...]`` renders the same walk for every network and writes the
frames' average, the space-time slices and the scores side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stylegan.analysis.figures import image_to_rgb, labelled_grid, save_figure
from stylegan.analysis.report import _network_info, write_json
from stylegan.errors import UserError
from stylegan.models.interface import Generator, Transformable
from stylegan.tools.generate import labels_for, synthesize, user_transform
from stylegan.utils.files import make_folder
from stylegan.utils.seeds import z_from_seeds

MOTIONS = ("walk", "translate")


def high_pass(images: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """x - blur_sigma(x) of images [N, C, H, W] (separable Gaussian, edges reflected), in float64."""
    if not 0 < sigma <= 8:
        raise UserError(f"the blur sigma must be within (0, 8] pixels, got {sigma}")
    x = images.to(torch.float64)
    n, c, h, w = x.shape
    radius = min(math.ceil(3 * sigma), h - 1, w - 1)
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=torch.float64) / sigma) ** 2)
    taps = taps / taps.sum()
    y = x.reshape(n * c, 1, h, w)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="reflect"), taps.reshape(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode="reflect"), taps.reshape(1, 1, -1, 1))
    return x - y.reshape(n, c, h, w)


def high_frequency_energy(images: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Mean square of the high-pass part (``high_pass``) of images [N, C, H, W]: [N]."""
    return high_pass(images, sigma).square().mean(dim=(-3, -2, -1))


def sticking_score(frames: torch.Tensor, sigma: float = 1.0) -> float:
    """E_hf(mean frame) / mean E_hf(frame) of frames [T, C, H, W], in [0, 1] (see the module docstring)."""
    if frames.ndim != 4 or frames.shape[0] < 2:
        raise UserError("the sticking score needs at least 2 frames [T, C, H, W]")
    single = float(high_frequency_energy(frames, sigma).mean())
    if single <= 1e-20:
        return 1.0  # no fine detail at all (flat frames give rounding errors of ~1e-31): nothing that could move
    return float(high_frequency_energy(frames.mean(dim=0, keepdim=True), sigma)[0]) / single


def space_time_slice(
    frames: torch.Tensor, column: int | None = None, rows: tuple[int, int] | None = None
) -> torch.Tensor:
    """The vertical segment ``rows`` = (top, bottom) at ``column`` (default: the middle column,
    the whole height) of every frame [T, C, H, W], stacked left to right: [C, bottom - top, T]."""
    _, _, h, w = frames.shape
    column = w // 2 if column is None else column
    top, bottom = rows or (0, h)
    if not 0 <= column < w or not 0 <= top < bottom <= h:
        raise UserError(f"the slice must lie within the {w}x{h} frame; got column {column}, rows {top}-{bottom}")
    return frames[:, :, top:bottom, column].permute(1, 2, 0)


@torch.no_grad()
def walk_frames(
    G: Generator,
    seed: int,
    frames: int = 64,
    radius: float = 0.3,
    motion: str = "walk",
    distance: float = 1.0,
    class_idx: int | None = None,
    batch_size: int = 16,
) -> torch.Tensor:
    """Frames [T, C, H, W] in [-1, 1] of one seed: ``motion`` 'walk' moves z around a circle of
    ``radius`` about the seed's z (one loop, a slow latent walk; the paper's small latent
    neighbourhood), 'translate' (StyleGAN3 only) shifts the image content right by ``distance``
    image widths in T steps at the seed's w. Noise inputs, where there are any, stay fixed."""
    if motion not in MOTIONS:
        raise UserError(f"motion must be one of {', '.join(MOTIONS)}, got {motion!r}")
    if frames < 2:
        raise UserError(f"give at least 2 frames, got {frames}")
    device = next(G.parameters()).device
    z0 = z_from_seeds([seed], G.z_dim)[0].to(torch.float64)
    gen = torch.Generator().manual_seed(int(seed) + 1)
    a, b = torch.randn([2, G.z_dim], generator=gen, dtype=torch.float64)
    b = b - (a @ b) / (a @ a) * a  # two orthonormal directions of the loop
    a, b = a / a.norm(), b / b.norm()
    angles = torch.arange(frames, dtype=torch.float64) * (2 * math.pi / frames)
    if motion == "walk":
        z = z0 + radius * math.sqrt(G.z_dim) * (angles.cos()[:, None] * a + angles.sin()[:, None] * b)
    else:
        z = z0.expand(frames, -1)
        if not isinstance(G, Transformable):
            kind = getattr(G, "kind", type(G).__name__)
            raise UserError(
                f"motion 'translate' needs a StyleGAN3 network (one with a transformable input); "
                f"this one is a {kind}; use motion 'walk'"
            )
    out = []
    for start in range(0, frames, batch_size):
        zz = z[start : start + batch_size].to(device, torch.float32)
        ws = G.mapping(zz, labels_for(G, class_idx, zz.shape[0], device))
        if motion == "walk":
            out.append(synthesize(G, ws, noise_mode="const").float().cpu())
            continue
        for k in range(zz.shape[0]):
            with user_transform(G, (distance * (start + k) / frames, 0.0), None):
                out.append(synthesize(G, ws[k : k + 1], noise_mode="const").float().cpu())
    return torch.cat(out)


@dataclass
class Sticking:
    score: float
    frame_energy: float  # mean E_hf of one frame: how much fine detail there is to stick
    average: torch.Tensor  # [C, H, W]
    slice: torch.Tensor  # [C, H, T]
    first: torch.Tensor  # [C, H, W]


def measure_sticking(frames: torch.Tensor, sigma: float = 1.0, column: int | None = None) -> Sticking:
    """Score, average frame and space-time slice of frames [T, C, H, W]."""
    energy = float(high_frequency_energy(frames, sigma).mean())
    return Sticking(
        sticking_score(frames, sigma), energy, frames.mean(dim=0), space_time_slice(frames, column), frames[0]
    )


def sticking_report_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "sticking.png", outdir / "summary.json"]


@torch.no_grad()
def sticking_report(
    networks: dict[str, object],
    seeds: Sequence[int],
    outdir: str | Path,
    frames: int = 64,
    radius: float = 0.3,
    motion: str = "walk",
    distance: float = 1.0,
    sigma: float = 1.0,
    tile: int = 96,
    progress: Callable[[int, int], None] | None = None,
    class_idx: int | None = None,
) -> dict:
    """For every network (label -> G) and seed: the first frame, the average frame and the
    space-time slice of the middle column side by side in ``sticking.png``; the sticking scores
    in ``summary.json`` (mean over seeds per network). ``progress(done, total)`` after each walk."""
    if not seeds:
        raise UserError("give at least one seed")
    high_pass(torch.zeros([1, 1, 4, 4]), sigma)  # a bad sigma fails before any rendering
    rows, labels, results = [], [], {}
    for label, G in networks.items():
        G = G.eval()
        per_seed = []
        for seed in seeds:
            m = measure_sticking(walk_frames(G, seed, frames, radius, motion, distance, class_idx), sigma)
            per_seed.append({"seed": int(seed), "score": m.score, "frame_hf_energy": m.frame_energy})
            rows.append([image_to_rgb(m.first), image_to_rgb(m.average), image_to_rgb(m.slice)])
            if progress is not None:
                progress(len(rows), len(networks) * len(seeds))
            labels.append(f"{label[:18]} seed {seed}")
        scores = [s["score"] for s in per_seed]
        results[label] = {
            "network": _network_info(G),
            "mean_score": float(np.mean(scores)),
            "mean_frame_hf_energy": float(np.mean([s["frame_hf_energy"] for s in per_seed])),
            "seeds": per_seed,
        }
    outdir = make_folder(outdir)
    save_figure(
        labelled_grid(rows, labels, ["frame 0", f"average of {frames}", "space-time slice"], tile=tile),
        outdir / "sticking.png",
    )
    summary = {
        "motion": motion,
        "frames": frames,
        "radius": radius if motion == "walk" else None,
        "distance": distance if motion == "translate" else None,
        "high_pass_sigma_pixels": sigma,
        "score": "E_hf(average frame) / mean E_hf(frame), in [0, 1]; 1 = everything sticks",
        "frame_hf_energy": "mean E_hf(frame): mean square of one frame's high-pass part, images in [-1, 1]",
        "networks": results,
        "files": ["sticking.png"],
    }
    write_json(summary, outdir / "summary.json")
    return summary
