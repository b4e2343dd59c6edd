"""Normalisations used by the StyleGAN family.

- ``normalize_2nd_moment`` / ``pixel_norm``: x * rsqrt(mean_c x^2 + eps) across channels
  (ProGAN's pixelwise feature normalisation; StyleGAN's normalisation of z).
- ``instance_norm``: per sample and channel, subtract the spatial mean, divide by the spatial
  RMS (StyleGAN, Eq. 1 without the style: AdaIN(x, y) = y_s (x - mu(x)) / sigma(x) + y_b).
- ``pixel_instance_norm``: PIN(x) = p * PN(x) + (1 - p) * IN(x) (Tan et al. 2021, Eq. 4).

Statistics are computed in at least float32: on bfloat16/float16 maps (autocast) the mean
subtraction and the mean of squares would lose most of their 8/11 mantissa bits; the result is
returned in the dtype of x.
"""

from __future__ import annotations

import torch


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """x * rsqrt(mean(x^2 over dim) + eps)."""
    y = _at_least_float32(x)
    return (y * (y.square().mean(dim=dim, keepdim=True) + eps).rsqrt()).to(x.dtype)


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pixel norm of [N, C, H, W] maps: every pixel's channel vector scaled to unit RMS."""
    return normalize_2nd_moment(x, dim=1, eps=eps)


def instance_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Instance norm of [N, C, H, W] maps as StyleGAN computes it (no affine parameters)."""
    y = _at_least_float32(x)
    y = y - y.mean(dim=[2, 3], keepdim=True)
    return (y * (y.square().mean(dim=[2, 3], keepdim=True) + eps).rsqrt()).to(x.dtype)


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.promote_types(x.dtype, torch.float32))


def pixel_instance_norm(x: torch.Tensor, p: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """PIN(x) = p * PN(x) + (1 - p) * IN(x), with a per-channel gate p of shape [C] in [0, 1]."""
    gate = p.to(x.dtype).reshape(1, -1, 1, 1)
    return gate * pixel_norm(x, eps) + (1 - gate) * instance_norm(x, eps)
