"""Weight modulation and demodulation (StyleGAN2, Section 2.2, Eq. 1-3).

    w'_oikk  = s_i * w_oikk                                    (Eq. 1, modulation)
    sigma_o  = sqrt( sum_{i,k} w'_oikk^2 + eps )               (Eq. 2)
    w''_oikk = w'_oikk / sigma_o                               (Eq. 3, demodulation)

Two equivalent ways to run it: ``fused=True`` builds the per-sample weights and runs one grouped
convolution with the batch as groups; ``fused=False`` scales the input by s, runs the shared
weight, and scales the output by 1/sigma (cheaper for training with large batches).
"""

from __future__ import annotations

import math

import torch

from stylegan.ops.conv2d_resample import conv2d_resample
from stylegan.ops.fastpath import reference_enabled
from stylegan.ops.upfirdn2d import Padding


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    noise: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    flip_weight: bool = True,
    fused_modconv: bool = True,
    input_gain: torch.Tensor | None = None,
) -> torch.Tensor:
    """Modulated convolution of x [N, I, H, W] with weight [O, I, kh, kw] and styles [N, I].

    ``noise`` (broadcastable to the output) is added after demodulation. ``input_gain`` ([],
    [I] or [N, I]) scales the input channels after demodulation (StyleGAN3's normalisation of the
    input magnitude, which demodulation must not undo).
    """
    batch = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    fast = not reference_enabled()
    if fast and batch > 1 and x.device.type == "cpu":
        # Fast path: on the CPU one batched (channels-last) convolution with the shared weight beats
        # a grouped convolution with per-sample weights; the two are the same product (Eq. 1-3).
        fused_modconv = False

    # Keep float16 in range (float16 layers, or float16 autocast): pre-scale weight and styles;
    # demodulation undoes the scale.
    if demodulate and (x.dtype == torch.float16 or _autocast_dtype(x.device.type) == torch.float16):
        weight = weight * (
            1 / math.sqrt(in_channels * kh * kw) / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True)
        )
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)

    w = None
    dcoefs = None
    if demodulate and fast and not fused_modconv:
        # Eq. 2 without the per-sample weights: sum_{i,k} (s_i w_oik)^2 = sum_i s_i^2 sum_k w_oik^2,
        # a [N, I] x [I, O] product instead of an [N, O, I, kh, kw] tensor (forward and backward).
        # In float32 even under autocast: s^2 w^2 summed over hundreds of channels leaves float16's range.
        dtype = torch.promote_types(styles.dtype, torch.float32)
        with torch.autocast(x.device.type, enabled=False):
            energy = weight.to(dtype).square().sum(dim=[2, 3])
            dcoefs = (styles.to(dtype).square() @ energy.t() + 1e-8).rsqrt()
    elif demodulate or fused_modconv:
        w = weight.unsqueeze(0) * styles.reshape(batch, 1, -1, 1, 1)  # Eq. 1
    if demodulate and dcoefs is None:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # Eq. 2
    if demodulate and fused_modconv:
        w = w * dcoefs.reshape(batch, -1, 1, 1, 1)  # Eq. 3
    if input_gain is not None:
        input_gain = input_gain.expand(batch, in_channels)
        if fused_modconv:
            w = w * input_gain.reshape(batch, 1, -1, 1, 1)

    if not fused_modconv:
        x = x * styles.to(x.dtype).reshape(batch, -1, 1, 1)
        if input_gain is not None:
            x = x * input_gain.to(x.dtype).reshape(batch, -1, 1, 1)
        x = conv2d_resample(
            x, weight.to(x.dtype), f=resample_filter, up=up, down=down, padding=padding, flip_weight=flip_weight
        )
        if fast and demodulate and noise is not None:
            return torch.addcmul(noise.to(x.dtype), x, dcoefs.to(x.dtype).reshape(batch, -1, 1, 1))
        if demodulate:
            x = x * dcoefs.to(x.dtype).reshape(batch, -1, 1, 1)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x

    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, in_channels, kh, kw)
    x = conv2d_resample(
        x, w.to(x.dtype), f=resample_filter, up=up, down=down, padding=padding, groups=batch, flip_weight=flip_weight
    )
    x = x.reshape(batch, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def _autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast casts convolutions to on ``device_type``, or None when it is off."""
    if not torch.is_autocast_enabled(device_type):
        return None
    return torch.get_autocast_dtype(device_type)
