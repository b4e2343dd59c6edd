"""Minibatch standard deviation (ProGAN, Section 3; StyleGAN2 discriminator epilogue)."""

from __future__ import annotations

import torch
from torch import nn


def minibatch_stddev(x: torch.Tensor, group_size: int | None = 4, num_channels: int = 1) -> torch.Tensor:
    """Append ``num_channels`` feature maps holding the stddev over groups of ``group_size`` samples.

    For each group: std over the group of every feature (eps 1e-8), averaged over the channels of
    each of ``num_channels`` channel groups and over pixels, broadcast to [H, W].
    """
    n, c, h, w = x.shape
    g = min(group_size, n) if group_size is not None else n
    if n % g != 0:
        raise ValueError(f"batch size {n} is not divisible by the minibatch-stddev group size {g}")
    f = num_channels
    # At least float32: eps 1e-8 underflows in float16, and the sqrt's gradient at 0 is infinite.
    y = x.to(torch.promote_types(x.dtype, torch.float32))
    y = y.reshape(g, -1, f, c // f, h, w)  # [G, n/G, F, c, H, W]: sample i is in group i % (n/G)
    y = y - y.mean(dim=0)
    y = y.square().mean(dim=0)
    y = (y + 1e-8).sqrt()
    y = y.mean(dim=[2, 3, 4])  # [n/G, F]
    y = y.reshape(-1, f, 1, 1)
    y = y.repeat(g, 1, h, w)  # [n, F, H, W]
    return torch.cat([x, y.to(x.dtype)], dim=1)


class MinibatchStdLayer(nn.Module):
    def __init__(self, group_size: int | None = 4, num_channels: int = 1):
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return minibatch_stddev(x, self.group_size, self.num_channels)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}"
