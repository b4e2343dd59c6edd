"""Image grids written during training: real images, and the EMA generator's samples for a fixed set
of latents (the same at every snapshot, so the grids show how training progresses)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def grid_shape(resolution: int, max_cols: int = 16, max_rows: int = 9) -> tuple[int, int]:
    """(columns, rows) filling about a 1920x1080 screen, at least 4x4."""
    cols = int(np.clip(1920 // resolution, 4, max_cols))
    rows = int(np.clip(1080 // resolution, 4, max_rows))
    return cols, rows


def to_uint8(images: torch.Tensor | np.ndarray, drange: tuple[float, float] = (-1, 1)) -> np.ndarray:
    """[N, C, H, W] floats in ``drange`` -> [N, H, W, C] uint8."""
    if isinstance(images, torch.Tensor):
        images = images.detach().to("cpu", torch.float32).numpy()
    lo, hi = drange
    images = (np.asarray(images, dtype=np.float32) - lo) * (255 / (hi - lo))
    return np.rint(images).clip(0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def tile(images: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """[cols * rows, H, W, C] uint8 -> one [rows * H, cols * W, C] image, row-major."""
    n, h, w, c = images.shape
    if n != cols * rows:
        raise ValueError(f"{n} images do not fill a {cols}x{rows} grid")
    return images.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)


def save_image(array: np.ndarray, path: str | Path) -> Path:
    """Write an [H, W, C] uint8 array as PNG (through a temporary file, so no half-written image)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[array.shape[2]]
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(array[:, :, 0] if mode == "L" else array, mode).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path


def save_image_grid(images, path: str | Path, cols: int, rows: int, drange=(-1, 1)) -> Path:
    return save_image(tile(to_uint8(images, drange), cols, rows), path)


@torch.no_grad()
def generate_grid(G, z: torch.Tensor, c: torch.Tensor, batch: int = 32, **synthesis_kwargs) -> torch.Tensor:
    """G(z, c) in batches, noise fixed (``noise_mode='const'`` where the generator has noise)."""
    device = next(G.parameters()).device
    out = []
    for zb, cb in zip(z.split(batch), c.split(batch)):
        out.append(G(zb.to(device), cb.to(device), noise_mode="const", **synthesis_kwargs).cpu())
    return torch.cat(out)
