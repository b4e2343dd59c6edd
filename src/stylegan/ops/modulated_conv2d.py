"""Weight modulation and demodulation (StyleGAN2, Section 2.2, Eq. 1-3).

    w'_oikk  = s_i * w_oikk                                    (Eq. 1, modulation)
    sigma_o  = sqrt( sum_{i,k} w'_oikk^2 + eps )               (Eq. 2)
    w''_oikk = w'_oikk / sigma_o                               (Eq. 3, demodulation)

Two equivalent ways to run it: ``fused=True`` builds the per-sample weights and runs one grouped
convolution with the batch as groups; ``fused=False`` scales the input by s, runs the shared
weight, and scales the output by 1/sigma (cheaper for training with large batches).

bfloat16 activations on the CPU (``stylegan.utils.precision.prepare_inference``) take the forms
measured fastest there for every batch size: the shared weight for k x k kernels, and for 1x1
kernels without resampling one batched matrix product of the channels-last pixels [N, HW, I] with
the per-sample weights [N, I, O] (no scaling passes over the activations). Demodulation
coefficients are computed in float32.
"""

from __future__ import annotations

import math

import torch
from torch.utils.weak import WeakTensorKeyDictionary

from stylegan.ops.conv2d_resample import conv2d_resample
from stylegan.ops.fastpath import as_channels_last, bfloat16_cpu, reference_enabled
from stylegan.ops.upfirdn2d import Padding, parse_padding


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
    bf16 = bfloat16_cpu(x)
    if fast and (batch > 1 or bf16) and x.device.type == "cpu":
        # Fast path: on the CPU one batched (channels-last) convolution with the shared weight beats
        # a grouped convolution with per-sample weights; the two are the same product (Eq. 1-3).
        fused_modconv = False
    matmul = bf16 and kh == kw == 1 and up == down == 1 and not any(parse_padding(padding))

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
            energy = _frozen_energy(weight) if bf16 else None
            if energy is None:
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

    if matmul:
        return _modulated_matmul(x, weight, styles, dcoefs, input_gain, noise)
    if not fused_modconv:
        if bf16 and input_gain is not None:  # one pass over x instead of two
            styles, input_gain = styles * input_gain, None
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


_ENERGY = WeakTensorKeyDictionary()


def _frozen_energy(weight: torch.Tensor) -> torch.Tensor | None:
    """sum_k w_oik^2 in float32 ([O, I], Eq. 2) of a weight that takes no gradient, computed once per
    weight and version (a frozen inference weight), else None. Per call it cost 10 % of a bfloat16
    StyleGAN2 256 px synthesis pass on the CPU."""
    if weight.requires_grad:
        return None
    cached = _ENERGY.get(weight)
    if cached is None or cached[0] != weight._version:
        cached = (weight._version, weight.to(torch.float32).square().sum(dim=[2, 3]))
        _ENERGY[weight] = cached
    return cached[1]


def _modulated_matmul(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    dcoefs: torch.Tensor | None,
    input_gain: torch.Tensor | None,
    noise: torch.Tensor | None,
) -> torch.Tensor:
    """1x1 modulated convolution as one batched matrix product: y_n = x_n (s_n w^T / sigma_n), with x_n the
    [HW, I] channels-last pixels of sample n (Eq. 1-3 folded into [N, I, O] per-sample weights, built in
    float32 and rounded once). Returns channels-last [N, O, H, W]."""
    batch, in_channels, h, w = x.shape
    wn = weight[:, :, 0, 0].unsqueeze(0) * styles.unsqueeze(1)  # [N, O, I]
    if dcoefs is not None:
        wn = wn * dcoefs.unsqueeze(2)
    if input_gain is not None:
        wn = wn * input_gain.unsqueeze(1)
    pixels = as_channels_last(x).permute(0, 2, 3, 1).reshape(batch, h * w, in_channels)
    y = torch.bmm(pixels, wn.to(x.dtype).transpose(1, 2)).reshape(batch, h, w, -1).permute(0, 3, 1, 2)
    return y if noise is None else y + noise.to(y.dtype)


def _autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast casts convolutions to on ``device_type``, or None when it is off."""
    if not torch.is_autocast_enabled(device_type):
        return None
    return torch.get_autocast_dtype(device_type)
