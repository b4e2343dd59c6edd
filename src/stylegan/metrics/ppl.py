"""Perceptual path length (StyleGAN, Section 4.1, Eq. 2-3), as the official tools compute it.

For latent pairs (z0, z1) and t ~ U(0, 1) ("full") or t = 0 ("end"), the images at t and
t + eps (eps = 1e-4) of a path interpolated by slerp in Z or lerp in W are compared with a
perceptual distance d; PPL = mean over samples of d / eps^2, keeping only the samples between
the 1st ("lower") and 99th ("higher") percentiles. As in the reference: the images use the
network's 'const' noise, freshly randomised for every batch; an optional face crop keeps rows
[3/8, 7/8) and columns [2/8, 6/8); images larger than 256 are box-downsampled by
``img_resolution // 256`` before the distance.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from stylegan.metrics.sampling import (
    LabelFn,
    eval_copy,
    progress_bar,
    randomize_noise_buffers,
)
from stylegan.models.interface import Generator

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of the directions of a and b (result on the unit sphere)."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    d = (a * b).sum(dim=-1, keepdim=True)
    p = t * torch.acos(d)
    c = b - d * a
    c = c / c.norm(dim=-1, keepdim=True)
    out = a * torch.cos(p) + c * torch.sin(p)
    return out / out.norm(dim=-1, keepdim=True)


def face_crop(img: torch.Tensor) -> torch.Tensor:
    """The official PPL crop of an aligned face: rows [3c, 7c), columns [2c, 6c), c = size // 8."""
    if img.shape[2] != img.shape[3]:
        raise ValueError("the face crop needs square images")
    c = img.shape[2] // 8
    return img[:, :, c * 3 : c * 7, c * 2 : c * 6]


def box_downsample(img: torch.Tensor, factor: int) -> torch.Tensor:
    if factor <= 1:
        return img
    n, ch, h, w = img.shape
    return img.reshape(n, ch, h // factor, factor, w // factor, factor).mean(dim=(3, 5))


@torch.no_grad()
def ppl_distances(
    G: Generator,
    distance: Distance,
    num_samples: int,
    labels: LabelFn,
    epsilon: float = 1e-4,
    space: str = "w",
    sampling: str = "end",
    crop: bool = False,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> np.ndarray:
    """Per-sample d(img(t), img(t + eps)) / eps^2 for ``num_samples`` random paths."""
    if space not in ("z", "w"):
        raise ValueError(f"space must be 'z' or 'w', got {space!r}")
    if sampling not in ("full", "end"):
        raise ValueError(f"sampling must be 'full' or 'end', got {sampling!r}")
    G = eval_copy(G, device)
    kwargs = dict(noise_mode="const", force_fp32=True)
    factor = G.img_resolution // 256
    out = []
    bar = progress_bar(num_samples, f"ppl_{space}{sampling}", progress)
    done = 0
    while done < num_samples:
        n = min(batch_size, num_samples - done)
        c = labels(n)
        t = torch.rand([n], device=device) * (1 if sampling == "full" else 0)
        z0, z1 = torch.randn([n * 2, G.z_dim], device=device).chunk(2)
        if space == "w":
            w0, w1 = G.mapping(torch.cat([z0, z1]), torch.cat([c, c])).chunk(2)
            tt = t[:, None, None]
            wt0, wt1 = w0.lerp(w1, tt), w0.lerp(w1, tt + epsilon)
        else:
            zt0, zt1 = slerp(z0, z1, t[:, None]), slerp(z0, z1, t[:, None] + epsilon)
            wt0, wt1 = G.mapping(torch.cat([zt0, zt1]), torch.cat([c, c])).chunk(2)
        randomize_noise_buffers(G)
        img = G.synthesis(torch.cat([wt0, wt1]), **kwargs)
        if crop:
            img = face_crop(img)
        img = box_downsample(img, factor)
        img0, img1 = img.chunk(2)
        out.append((distance(img0, img1) / epsilon**2).to(torch.float64).cpu())
        done += n
        bar.update(n)
    bar.close()
    return torch.cat(out).numpy()


def filtered_mean(dist: np.ndarray) -> float:
    """Mean of the values between the 1st (lower) and 99th (higher) percentiles, inclusive."""
    dist = np.asarray(dist, np.float64)
    lo = np.percentile(dist, 1, method="lower")
    hi = np.percentile(dist, 99, method="higher")
    return float(dist[(dist >= lo) & (dist <= hi)].mean())


def perceptual_path_length(G: Generator, distance: Distance, num_samples: int, labels: LabelFn, **kwargs) -> float:
    """PPL: ``filtered_mean`` of ``ppl_distances`` (see there for the options)."""
    return filtered_mean(ppl_distances(G, distance, num_samples, labels, **kwargs))
