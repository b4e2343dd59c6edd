"""Exponential moving average of the generator weights (ProGAN Section 5; StyleGAN2-ADA App. B).

The EMA generator is the one that is saved, sampled and measured. Its half-life is ``ema_kimg``
thousand images; with a ramp-up the half-life is limited to ``rampup * images_seen`` early in
training, so the average does not stay anchored to the random initial weights.
"""

from __future__ import annotations

import torch
from torch import nn


def ema_beta(batch_size: int, cur_nimg: int, ema_kimg: float, rampup: float | None) -> float:
    """Per-step decay: 0.5 ** (batch / half-life in images)."""
    ema_nimg = ema_kimg * 1000
    if rampup is not None:
        ema_nimg = min(ema_nimg, cur_nimg * rampup)
    return 0.5 ** (batch_size / max(ema_nimg, 1e-8))


@torch.no_grad()
def update_ema(G_ema: nn.Module, G: nn.Module, beta: float) -> None:
    """Parameters: p_ema <- p + beta (p_ema - p). Buffers (w_avg, magnitude EMAs, noise) are copied."""
    for p_ema, p in zip(G_ema.parameters(), G.parameters(), strict=True):
        p_ema.copy_(p.detach().lerp(p_ema, beta))
    for b_ema, b in zip(G_ema.buffers(), G.buffers(), strict=True):
        b_ema.copy_(b)
