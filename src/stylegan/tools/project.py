"""Projection (image inversion): find the w whose image matches a target (StyleGAN2, Section 5).

The optimisation follows the official StyleGAN2 projector, for every generation:

- start from w_avg, the mean of ``w_avg_samples`` mapped latents (z drawn with seed 123); w_std is
  the root mean squared distance of those ws to w_avg;
- Adam (betas 0.9, 0.999), learning rate 0.1 ramped up linearly over the first 5% of the steps and
  down with a cosine over the last 25%;
- Gaussian noise of scale ``w_std * 0.05 * max(0, 1 - t / 0.75)^2`` added to w at step t;
- loss = distance(image, target) + 1e5 * noise regularisation, both images area-downsampled to
  256 x 256 when larger (the distance is pluggable: LPIPS-VGG as the official tool, the toyfaces
  probe, plain MSE, or any callable ``(a, b) -> per-sample distance`` for images in [-1, 1]);
- the network's noise maps are optimised with w and renormalised to zero mean, unit variance after
  every step. The noise regulariser sums, over each map and its 2x average-pooled versions down
  to 8 x 8, the squared autocorrelation at a one-pixel shift in x and in y.

Noise maps are found by name: every floating-point buffer of ``G.synthesis`` whose last name
component contains ``noise`` and holds one H x W map: StyleGAN2's ``<block>.conv0.noise_const``,
StyleGAN1's ``<block>.conv0.epilogue.noise.noise_const``. StyleGAN3 has none; its loss is the
distance alone. The projection works on a copy of the network; the caller's network and its noise
are left untouched.

``w`` mode optimises one w shared by all layers (saved as [1, w_dim]); ``w+`` one w per layer
(saved as [num_ws, w_dim]). The saved image ``proj.png`` is rendered like ``stylegan generate
--projected-w`` renders the saved w: with the network's own constant noise (as the official tool).
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.tools.generate import labels_for, noise_buffers, synthesize
from stylegan.tools.media import save_json, save_npz, write_video
from stylegan.utils.files import make_folder
from stylegan.utils.images import from_uint8, save_png, to_uint8

DISTANCES = ("lpips", "probe", "mse")
DISTANCE_RESOLUTION = 256  # images larger than this are area-downsampled before the distance

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------------------------
# Distances


def mse_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error per sample, for images in [-1, 1]."""
    return (a - b).square().flatten(1).mean(dim=1)


def resolve_distance(
    name: str, device: torch.device | str = "cpu", path: str | None = None, cache_dir: str | None = None
) -> Distance:
    """The distance called ``name``: ``mse`` (built in), ``lpips`` (LPIPS with the official VGG16
    weights) or ``probe`` (the toyfaces probe shipped with the package), the last two through
    ``stylegan.metrics.detectors.get_distance``."""
    if name == "mse":
        return mse_distance
    if name not in DISTANCES:
        raise UserError(f"distance must be one of {', '.join(DISTANCES)}, got {name!r}")
    from stylegan.metrics.detectors import get_distance

    return get_distance(name, path=path, cache_dir=cache_dir, device=device)


# --------------------------------------------------------------------------------------------
# Targets


def load_target(path: str | Path, resolution: int, channels: int = 3) -> np.ndarray:
    """Read an image file as the uint8 [resolution, resolution, channels] target.

    Non-square images are centre-cropped to a square, then resized (Lanczos) to the network's
    resolution. RGB networks take RGB, grayscale or palette images (and RGBA/LA ones without
    transparency); grayscale networks take grayscale images only."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"target image not found: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a directory, not an image")
    from stylegan.data.images import UnreadableImage, open_image

    try:
        with open_image(path) as img:
            img.load()
            image = img.copy()
    except UnreadableImage as e:
        raise UserError(f"{path}: {e}") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{path} is not a readable image ({e.__class__.__name__})") from None
    mode = image.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
        if alpha.min() < 255:
            raise UserError(f"{path} has transparent pixels; flatten it onto a background first")
    if channels == 3:
        if mode not in ("RGB", "RGBA", "L", "LA", "P", "PA"):
            raise UserError(f"{path} has image mode {mode}; the network needs an RGB or grayscale image")
        image = image.convert("RGB")
    elif channels == 1:
        if mode not in ("L", "LA"):
            raise UserError(f"{path} is a {mode} image but the network makes 1-channel (grayscale) images")
        image = image.convert("L")
    else:
        raise UserError(f"projection supports 1- or 3-channel networks, this one makes {channels} channels")
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != resolution:
        image = image.resize((resolution, resolution), Image.LANCZOS)
    array = np.array(image, dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array


# --------------------------------------------------------------------------------------------
# Pieces of the optimisation


def learning_rate_at(t: float, initial: float = 0.1, rampdown: float = 0.25, rampup: float = 0.05) -> float:
    """Learning rate at progress t in [0, 1): linear ramp-up over ``rampup``, cosine ramp-down over
    the last ``rampdown``."""
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    ramp = ramp * min(1.0, t / rampup)
    return initial * ramp


def w_noise_scale_at(t: float, w_std: float, factor: float = 0.05, ramp_length: float = 0.75) -> float:
    return w_std * factor * max(0.0, 1.0 - t / ramp_length) ** 2


def noise_regularization(maps: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Sum over maps and their 2x-pooled pyramids (down to 8 x 8) of the squared mean product of
    each map with itself shifted by one pixel, in x and in y."""
    total = torch.zeros([])
    for v in maps:
        x = v.reshape(1, 1, *v.shape[-2:])
        total = total.to(x.device)
        while True:
            total = total + (x * torch.roll(x, shifts=1, dims=3)).mean().square()
            total = total + (x * torch.roll(x, shifts=1, dims=2)).mean().square()
            if x.shape[2] <= 8:
                break
            x = F.avg_pool2d(x, kernel_size=2)
    return total


def for_distance(images: torch.Tensor) -> torch.Tensor:
    """Area-downsample to 256 x 256 when larger (the VGG detector was built for 224 px images)."""
    if images.shape[-1] > DISTANCE_RESOLUTION:
        images = F.interpolate(images, size=(DISTANCE_RESOLUTION, DISTANCE_RESOLUTION), mode="area")
    return images


@torch.no_grad()
def w_statistics(
    G: Generator, num_samples: int = 10_000, class_idx: int | None = None, device="cpu", batch_size: int = 1000
) -> tuple[torch.Tensor, float]:
    """(w_avg [1, w_dim] on the CPU, w_std): mean of ``num_samples`` mapped latents (z from
    RandomState(123)) and their root mean squared distance to it."""
    if num_samples < 1:
        raise UserError(f"w_avg samples must be at least 1, got {num_samples}")
    z_all = torch.from_numpy(np.random.RandomState(123).randn(num_samples, G.z_dim))
    ws = []
    for start in range(0, num_samples, batch_size):
        z = z_all[start : start + batch_size].to(device=device, dtype=torch.float32)
        c = labels_for(G, class_idx, z.shape[0], device)
        ws.append(G.mapping(z, c)[:, 0].cpu().to(torch.float64))  # float64 on the CPU (MPS has none)
    w = torch.cat(ws)
    w_avg = w.mean(dim=0, keepdim=True)
    w_std = float(((w - w_avg).square().sum() / num_samples).sqrt())
    return w_avg.to(torch.float32), w_std


# --------------------------------------------------------------------------------------------
# The projector


@dataclass
class ProjectionResult:
    w: torch.Tensor  # [1, w_dim] (w mode) or [num_ws, w_dim] (w+ mode), on the CPU
    num_ws: int
    w_plus: bool
    losses: list[float] = field(default_factory=list)
    distances: list[float] = field(default_factory=list)
    noise_regs: list[float] = field(default_factory=list)
    w_steps: torch.Tensor | None = None  # [steps, 1 or num_ws, w_dim] when recorded
    noise: dict[str, torch.Tensor] = field(default_factory=dict)  # the optimised noise maps
    seconds: float = 0.0

    def ws(self, w: torch.Tensor | None = None) -> torch.Tensor:
        """[1, num_ws, w_dim]: the projected w (or one recorded step) broadcast to every layer."""
        w = self.w if w is None else w
        return w.unsqueeze(0).expand(1, self.num_ws, w.shape[-1])


def _target_tensor(G: Generator, target) -> torch.Tensor:
    target = torch.as_tensor(target)
    if target.dtype == torch.uint8:
        if target.ndim == 3 and target.shape[-1] == G.img_channels and target.shape[0] != G.img_channels:
            target = target.permute(2, 0, 1)
        target = from_uint8(target)
    expected = (G.img_channels, G.img_resolution, G.img_resolution)
    if tuple(target.shape) != expected:
        raise UserError(f"target must have shape {list(expected)} to match the network, got {list(target.shape)}")
    return target.to(torch.float32)


def project(
    G: Generator,
    target: torch.Tensor | np.ndarray,
    *,
    distance: Distance = mse_distance,
    num_steps: int = 1000,
    w_plus: bool = False,
    w_avg_samples: int = 10_000,
    initial_learning_rate: float = 0.1,
    initial_noise_factor: float = 0.05,
    lr_rampdown_length: float = 0.25,
    lr_rampup_length: float = 0.05,
    noise_ramp_length: float = 0.75,
    regularize_noise_weight: float = 1e5,
    class_idx: int | None = None,
    seed: int = 303,
    record_steps: bool = False,
    device: torch.device | str = "cpu",
    progress: Callable[[int, int, float, float], None] | None = None,
) -> ProjectionResult:
    """Project ``target`` (float [C, H, W] in [-1, 1], or uint8 [C, H, W] / [H, W, C]) into the
    latent space of ``G``. ``progress(step, num_steps, distance, loss)`` is called after every step."""
    if num_steps < 1:
        raise UserError(f"the number of steps must be at least 1, got {num_steps}")
    start = time.perf_counter()
    device = torch.device(device)
    target = _target_tensor(G, target).unsqueeze(0).to(device)
    G = copy.deepcopy(G).eval().requires_grad_(False).to(device)
    generator = torch.Generator(device=device).manual_seed(seed)

    w_avg, w_std = w_statistics(G, w_avg_samples, class_idx, device)
    layers = G.num_ws if w_plus else 1
    w_opt = w_avg.to(device).repeat(layers, 1).requires_grad_(True)  # [layers, w_dim]
    noise = noise_buffers(G.synthesis)
    with torch.no_grad():
        for buf in noise.values():
            buf.copy_(torch.randn(buf.shape, generator=generator, device=device))
            buf.requires_grad_(True)
    optimizer = torch.optim.Adam([w_opt, *noise.values()], betas=(0.9, 0.999), lr=initial_learning_rate)
    target_for_distance = for_distance(target)

    result = ProjectionResult(w=w_opt.detach().cpu(), num_ws=G.num_ws, w_plus=w_plus)
    steps = []
    for step in range(num_steps):
        t = step / num_steps
        lr = learning_rate_at(t, initial_learning_rate, lr_rampdown_length, lr_rampup_length)
        for group in optimizer.param_groups:
            group["lr"] = lr
        scale = w_noise_scale_at(t, w_std, initial_noise_factor, noise_ramp_length)
        w_noise = torch.randn(w_opt.shape, generator=generator, device=device) * scale
        ws = (w_opt + w_noise).unsqueeze(0).expand(1, G.num_ws, -1)
        images = synthesize(G, ws, noise_mode="const")
        dist = distance(for_distance(images), target_for_distance).sum()
        reg = noise_regularization(list(noise.values())) if noise else torch.zeros([], device=device)
        loss = dist + reg * regularize_noise_weight
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for buf in noise.values():
                buf -= buf.mean()
                buf *= buf.square().mean().rsqrt()
        result.losses.append(float(loss.detach()))
        result.distances.append(float(dist.detach()))
        result.noise_regs.append(float(reg.detach()))
        if record_steps:
            steps.append(w_opt.detach().cpu().clone())
        if progress is not None:
            progress(step + 1, num_steps, result.distances[-1], result.losses[-1])

    result.w = w_opt.detach().cpu().clone()
    result.w_steps = torch.stack(steps) if record_steps else None
    result.noise = {name: buf.detach().cpu().clone() for name, buf in noise.items()}
    result.seconds = time.perf_counter() - start
    return result


# --------------------------------------------------------------------------------------------
# Outputs


PROJECTION_FILES = ("projected_w.npz", "proj.png", "target.png", "side_by_side.png", "projection.json")
PROJECTION_VIDEO = "proj.mp4"


def projection_paths(outdir: str | Path, save_video: bool = False) -> list[Path]:
    """Every file ``write_projection`` may write into ``outdir`` (the video's GIF fallback included)."""
    outdir = Path(outdir)
    videos = [outdir / PROJECTION_VIDEO, (outdir / PROJECTION_VIDEO).with_suffix(".gif")] if save_video else []
    return [outdir / name for name in PROJECTION_FILES] + videos


@dataclass
class ProjectionFiles:
    w: Path
    proj: Path
    target: Path
    side_by_side: Path
    summary: Path
    video: Path | None = None


@torch.no_grad()
def render_projection(
    G: Generator, result: ProjectionResult, w: torch.Tensor | None = None, device="cpu"
) -> torch.Tensor:
    """The image of the projected w (or one recorded step) with the network's constant noise, [1, C, H, W]."""
    G = G.to(device).eval()
    return synthesize(G, result.ws(w).to(device), noise_mode="const").cpu()


def write_projection(
    G: Generator,
    result: ProjectionResult,
    target: np.ndarray,
    outdir: str | Path,
    distance: Distance = mse_distance,
    distance_name: str = "mse",
    save_video: bool = False,
    fps: float = 10,
    device="cpu",
    notice=print,
    info: dict | None = None,
) -> ProjectionFiles:
    """Write ``projected_w.npz`` (key ``w``), ``proj.png``, ``target.png``, ``side_by_side.png``,
    ``projection.json`` and, with ``save_video``, ``proj.mp4`` (target | projection at every step)."""
    outdir = make_folder(outdir)
    target = np.asarray(target, dtype=np.uint8)
    proj_image = render_projection(G, result, device=device)
    proj = to_uint8(proj_image)[0]
    w_name, proj_name, target_name, side_name, summary_name = PROJECTION_FILES
    files = ProjectionFiles(
        w=save_npz(outdir / w_name, w=result.w.numpy().astype(np.float32)),
        proj=save_png(proj, outdir / proj_name),
        target=save_png(target, outdir / target_name),
        side_by_side=save_png(np.concatenate([target, proj], axis=1), outdir / side_name),
        summary=outdir / summary_name,
    )
    if save_video:
        if result.w_steps is None:
            raise UserError("the progress video needs the projection's steps (project(..., record_steps=True))")

        def frames():
            for w in result.w_steps:
                yield np.concatenate([target, to_uint8(render_projection(G, result, w, device))[0]], axis=1)

        files.video = write_video(frames(), outdir / PROJECTION_VIDEO, fps=fps, notice=notice)

    # Compare the files as saved: proj.png against target.png.
    saved_proj = from_uint8(proj).permute(2, 0, 1).unsqueeze(0).to(device)
    saved_target = from_uint8(target).permute(2, 0, 1).unsqueeze(0).to(device)
    with torch.no_grad():
        png_distance = float(distance(for_distance(saved_proj), for_distance(saved_target)).sum())
        png_mse = float(mse_distance(saved_proj, saved_target).sum())
    summary = {
        **(info or {}),
        "mode": "w+" if result.w_plus else "w",
        "w_shape": list(result.w.shape),
        "distance": distance_name,
        "steps": len(result.losses),
        "seconds": round(result.seconds, 3),
        "final": {
            "loss": result.losses[-1] if result.losses else None,
            "distance": result.distances[-1] if result.distances else None,
            "noise_reg": result.noise_regs[-1] if result.noise_regs else None,
        },
        "proj_png": {"distance": png_distance, "mse": png_mse},
    }
    per_step = {"loss": result.losses, "distance": result.distances, "noise_reg": result.noise_regs}
    text = json.dumps(summary, indent=1)[:-2] + ',\n "per_step": {\n'
    text += ",\n".join(
        f"  {json.dumps(k)}: {json.dumps([float(f'{v:.6g}') for v in vs])}" for k, vs in per_step.items()
    )
    save_json(files.summary, text + "\n }\n}\n")
    return files
