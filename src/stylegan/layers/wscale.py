"""Equalized-learning-rate layers as ProGAN and StyleGAN (v1) define them.

The weight is stored as N(0, 1/lr_mul) and multiplied at run time by gain / sqrt(fan_in) * lr_mul
(ProGAN, Section 4.1); the bias by lr_mul. Unlike the StyleGAN2 layers (``equalized.py``), the He
gain sits *inside*, on the weight, and the activation carries no gain: y = act(x W' + b). This keeps
official StyleGAN (v1) weights usable as they are and leaves the bias and activation to the caller
where the layer order asks for it (the synthesis layers add noise between convolution and bias).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from stylegan.ops.resample import conv_downscale2d, upscale_conv2d

LRELU_SLOPE = 0.2
HE_GAIN = math.sqrt(2)


def apply_bias_act(x: torch.Tensor, bias: torch.Tensor | None, activation: str) -> torch.Tensor:
    """x + bias (along dim 1), then leaky ReLU (slope 0.2) or nothing."""
    if bias is not None:
        x = x + bias.to(x.dtype).reshape([1, -1] + [1] * (x.ndim - 2))
    if activation == "lrelu":
        return F.leaky_relu(x, LRELU_SLOPE)
    if activation != "linear":
        raise ValueError(f"activation must be 'lrelu' or 'linear', got {activation!r}")
    return x


class WScaleDense(nn.Module):
    """act(x (W * gain / sqrt(in) * lr_mul)^T + b * lr_mul); inputs of rank > 2 are flattened."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        gain: float = HE_GAIN,
        lr_multiplier: float = 1.0,
        bias: bool = True,
        activation: str = "linear",
    ):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.zeros([out_features])) if bias else None
        self.weight_gain = gain / math.sqrt(in_features) * lr_multiplier
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        x = x.matmul((self.weight.to(x.dtype) * self.weight_gain).t())
        b = self.bias * self.bias_gain if self.bias is not None else None
        return apply_bias_act(x, b, self.activation)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, activation={self.activation}"


class WScaleConv2d(nn.Module):
    """Equalized-lr k x k convolution ('SAME' padding), optionally with nearest x2 upscaling before it
    (``resample="up"``) or 2x2 box downscaling after it (``resample="down"``), fused into one
    (transposed) stride-2 convolution when ``fused``, as the official fused ops compute it (see
    ``upscale_conv2d``: fused upsampling rotates the kernel); then bias and activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        gain: float = HE_GAIN,
        bias: bool = True,
        activation: str = "linear",
        resample: str | None = None,
        fused: bool = False,
    ):
        super().__init__()
        if resample not in (None, "up", "down"):
            raise ValueError(f"resample must be None, 'up' or 'down', got {resample!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.activation = activation
        self.resample = resample
        self.fused = bool(fused)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None
        self.weight_gain = gain / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        if self.resample == "up":
            x = upscale_conv2d(x, w, fused=self.fused)
        elif self.resample == "down":
            x = conv_downscale2d(x, w, fused=self.fused)
        else:
            x = F.conv2d(x, w, padding=self.weight.shape[-1] // 2)
        return apply_bias_act(x, self.bias, self.activation)

    def extra_repr(self) -> str:
        return (
            f"in={self.in_channels}, out={self.out_channels}, k={self.weight.shape[-1]}, "
            f"activation={self.activation}, resample={self.resample}, fused={self.fused}"
        )
