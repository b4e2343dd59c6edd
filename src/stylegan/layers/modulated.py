"""Style-modulated layers of StyleGAN2 (Section 2.2): the synthesis conv layer and ToRGB.

Parameter names follow the official implementation (``weight``, ``bias``, ``affine``,
``noise_strength``, ``noise_const``) so official state dicts load without renaming.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from stylegan.layers.equalized import FullyConnectedLayer
from stylegan.ops.bias_act import activation_gain, bias_act
from stylegan.ops.modulated_conv2d import modulated_conv2d
from stylegan.ops.upfirdn2d import setup_filter

NOISE_MODES = ("random", "const", "none")


def check_noise_mode(noise_mode: str) -> None:
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")


def magnitude_gain(ema: torch.Tensor, x: torch.Tensor, beta: float, update: bool) -> torch.Tensor:
    """The input gain 1 / sqrt(sigma^2) of a convolution whose input is normalised by the running mean
    sigma^2 of E[x^2] over all pixels and channels (StyleGAN3 paper, Section 3.2, config D); with
    ``update`` the buffer ``ema`` first moves towards this batch's E[x^2] (decay ``beta``)."""
    if update:
        magnitude = x.detach().to(torch.float32).square().mean()
        ema.copy_(magnitude.lerp(ema, beta))
    return ema.rsqrt()


class ModulatedConvLayer(nn.Module):
    """affine(w) -> modulated conv (optionally x2 upsampling) -> + noise * strength -> bias, lrelu.

    Noise and bias sit outside the style block (StyleGAN2, Fig. 2c). ``magnitude_ema_beta`` (default
    None: off) divides the input by the running RMS of its magnitude (``magnitude_gain``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        kernel_size: int = 3,
        up: int = 1,
        use_noise: bool = True,
        activation: str = "lrelu",
        resample_filter=(1, 3, 3, 1),
        conv_clamp: float | None = None,
        channels_last: bool = False,
        magnitude_ema_beta: float | None = None,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.resolution = resolution
        self.magnitude_ema_beta = magnitude_ema_beta
        if magnitude_ema_beta is not None:
            self.register_buffer("magnitude_ema", torch.ones([]))
        self.up = up
        self.use_noise = use_noise
        self.activation = activation
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(list(resample_filter)))
        self.padding = kernel_size // 2
        self.act_gain = activation_gain(activation)
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.weight = nn.Parameter(
            torch.randn([out_channels, in_channels, kernel_size, kernel_size]).to(memory_format=memory_format)
        )
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: str = "random",
        fused_modconv: bool = True,
        gain: float = 1.0,
        update_emas: bool = False,
    ) -> torch.Tensor:
        check_noise_mode(noise_mode)
        input_gain = None
        if self.magnitude_ema_beta is not None:
            input_gain = magnitude_gain(self.magnitude_ema, x, self.magnitude_ema_beta, update_emas)
        styles = self.affine(w)
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device)
            noise = noise * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        x = modulated_conv2d(
            x,
            self.weight,
            styles,
            noise=noise,
            up=self.up,
            padding=self.padding,
            resample_filter=self.resample_filter,
            flip_weight=(self.up == 1),
            fused_modconv=fused_modconv,
            input_gain=input_gain,
        )
        act_gain = self.act_gain * gain
        act_clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias.to(x.dtype), act=self.activation, gain=act_gain, clamp=act_clamp)

    def extra_repr(self) -> str:
        return f"in={self.in_channels}, out={self.out_channels}, resolution={self.resolution}, up={self.up}"


class ToRGBLayer(nn.Module):
    """1x1 modulated convolution without demodulation, + bias (StyleGAN2, skip generator);
    ``magnitude_ema_beta`` as in ``ModulatedConvLayer``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        kernel_size: int = 1,
        conv_clamp: float | None = None,
        channels_last: bool = False,
        magnitude_ema_beta: float | None = None,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta
        if magnitude_ema_beta is not None:
            self.register_buffer("magnitude_ema", torch.ones([]))
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.weight = nn.Parameter(
            torch.randn([out_channels, in_channels, kernel_size, kernel_size]).to(memory_format=memory_format)
        )
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)

    def forward(
        self, x: torch.Tensor, w: torch.Tensor, fused_modconv: bool = True, update_emas: bool = False
    ) -> torch.Tensor:
        input_gain = None
        if self.magnitude_ema_beta is not None:
            input_gain = magnitude_gain(self.magnitude_ema, x, self.magnitude_ema_beta, update_emas)
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(
            x, self.weight, styles, demodulate=False, fused_modconv=fused_modconv, input_gain=input_gain
        )
        return bias_act(x, self.bias.to(x.dtype), clamp=self.conv_clamp)

    def extra_repr(self) -> str:
        return f"in={self.in_channels}, out={self.out_channels}"
