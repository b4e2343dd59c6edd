"""Image conversion and saving: network outputs in [-1, 1] <-> uint8 pictures, grids, PNG files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stylegan.utils.files import atomic_write


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] -> uint8 [0, 255] of the same shape and device, rounded as the official
    tools round them: x * 127.5 + 128, clamped, truncated."""
    return (images.detach().to(torch.float32) * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] float in [-1, 1] -> [N, H, W, C] uint8 numpy array (``quantize``d), for saving."""
    return quantize(images).permute(0, 2, 3, 1).cpu().numpy()


def from_uint8(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [N, C, H, W] (or [C, H, W]) -> float32 in [-1, 1]."""
    x = torch.as_tensor(images).to(torch.float32)
    return x / 127.5 - 1


def grid(images: np.ndarray, cols: int | None = None, pad: int = 0, pad_value: int = 255) -> np.ndarray:
    """Tile [N, H, W, C] uint8 images into one [rows*H, cols*W, C] picture (row-major)."""
    n, h, w, c = images.shape
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        out[y : y + h, x : x + w] = images[i]
    return out


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Save one [H, W, C] uint8 image (C = 1 or 3) as PNG atomically, creating folders as needed."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    picture = Image.fromarray(image)
    return atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))
