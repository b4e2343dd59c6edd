"""Image grids written during training: real images, and the EMA generator's samples for a fixed set
of latents (the same at every snapshot, so the grids show how training progresses)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from stylegan.utils.images import grid, save_png, to_uint8


def grid_shape(resolution: int, max_cols: int = 16, max_rows: int = 9) -> tuple[int, int]:
    """(columns, rows) filling about a 1920x1080 screen, at least 4x4."""
    cols = int(np.clip(1920 // resolution, 4, max_cols))
    rows = int(np.clip(1080 // resolution, 4, max_rows))
    return cols, rows


def save_image_grid(images: torch.Tensor, path: str | Path, cols: int) -> Path:
    """Images in [-1, 1] as one PNG grid, written atomically (``save_png``)."""
    return save_png(grid(to_uint8(images), cols=cols), path)


@torch.no_grad()
def render_latents(G, z: torch.Tensor, c: torch.Tensor, batch: int = 64, **synthesis_kwargs) -> torch.Tensor:
    """G(z, c) in batches on G's device, with fixed noise (``noise_mode='const'``); returned on the CPU."""
    device = next(G.parameters()).device
    out = []
    for zb, cb in zip(z.split(batch), c.split(batch)):
        out.append(G(zb.to(device), cb.to(device), noise_mode="const", **synthesis_kwargs).cpu())
    return torch.cat(out)
