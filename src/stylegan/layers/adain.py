"""The StyleGAN (v1) layer epilogue: noise, bias, activation, normalisation, style (AdaIN).

StyleGAN (Karras et al. 2019), Section 2 and Fig. 1b: after every convolution (and after the
learned constant) the synthesis network

1. adds per-pixel noise, one N(0, 1) map per sample scaled by a learned per-channel weight
   ("B" in Fig. 1b, initialised to 0),
2. adds the bias and applies leaky ReLU (0.2),
3. normalises every feature map (instance norm; Pixel-Instance Norm in the PIN variant),
4. applies the style y = A(w): x * (y_s + 1) + y_b (Eq. 1, AdaIN, with the "+1" of the official code).
"""

from __future__ import annotations

import torch
from torch import nn

from stylegan.layers.equalized import FullyConnectedLayer
from stylegan.layers.modulated import check_noise_mode
from stylegan.layers.pin import DEFAULT_GATE_INIT, PixelInstanceNorm
from stylegan.layers.wscale import apply_bias_act
from stylegan.ops.norm import instance_norm

NORMALIZATIONS = ("instance", "pin")


class NoiseInjection(nn.Module):
    """x + noise * weight, with a learned weight per channel (init 0).

    ``noise_mode``: 'random' draws a new N(0, 1) map [N, 1, H, W] per call; 'const' uses the stored
    map ``noise_const`` (what the official code does with randomize_noise=False); 'none' adds nothing.
    ``noise`` (a [N or 1, 1, H, W] tensor) overrides the mode."""

    def __init__(self, channels: int, resolution: int):
        super().__init__()
        self.resolution = resolution
        self.weight = nn.Parameter(torch.zeros([channels]))
        self.register_buffer("noise_const", torch.randn([resolution, resolution]))

    def forward(self, x: torch.Tensor, noise_mode: str = "random", noise: torch.Tensor | None = None) -> torch.Tensor:
        if noise is None:
            check_noise_mode(noise_mode)
            if noise_mode == "none":
                return x
            if noise_mode == "const":
                noise = self.noise_const.to(x.dtype)[None, None]
            else:
                # Drawn in float32 whatever x's dtype (bfloat16 under autocast): the same numbers in every precision.
                noise = torch.randn([x.shape[0], 1, x.shape[2], x.shape[3]], device=x.device).to(x.dtype)
        return x + noise * self.weight.to(x.dtype).reshape(1, -1, 1, 1)


class StyleModulation(nn.Module):
    """x * (y_s + 1) + y_b with (y_s, y_b) = affine(w), a linear layer w_dim -> 2C (gain 1)."""

    def __init__(self, channels: int, w_dim: int):
        super().__init__()
        self.channels = channels
        self.affine = FullyConnectedLayer(w_dim, 2 * channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        style = self.affine(w).to(x.dtype).reshape(-1, 2, self.channels, 1, 1)
        return x * (style[:, 0] + 1) + style[:, 1]


class InstanceNorm(nn.Module):
    """Instance norm without parameters (subtract the spatial mean, divide by the spatial RMS)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return instance_norm(x, self.eps)


def make_normalization(kind: str, channels: int, gate_init: float = DEFAULT_GATE_INIT) -> nn.Module:
    """'instance' (StyleGAN) or 'pin' (Pixel-Instance Normalization)."""
    if kind == "instance":
        return InstanceNorm()
    if kind == "pin":
        return PixelInstanceNorm(channels, gate_init)
    raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {kind!r}")


class LayerEpilogue(nn.Module):
    """noise -> bias -> lrelu -> normalisation -> style, in this order (official layer_epilogue)."""

    def __init__(
        self,
        channels: int,
        w_dim: int,
        resolution: int,
        use_noise: bool = True,
        normalization: str = "instance",
        gate_init: float = DEFAULT_GATE_INIT,
    ):
        super().__init__()
        self.channels = channels
        self.noise = NoiseInjection(channels, resolution) if use_noise else None
        self.bias = nn.Parameter(torch.zeros([channels]))
        self.norm = make_normalization(normalization, channels, gate_init)
        self.style = StyleModulation(channels, w_dim)

    def forward(
        self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random", noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        # In at least float32 up to the normalisation: it subtracts the mean, and on bfloat16 maps the
        # deviations it keeps (noise on a near-constant map) would be rounded away before it. Output in x's dtype.
        dtype = x.dtype
        x = x.to(torch.promote_types(dtype, torch.float32))
        if self.noise is not None:
            x = self.noise(x, noise_mode, noise)
        x = apply_bias_act(x, self.bias, "lrelu")
        x = self.norm(x)
        return self.style(x, w).to(dtype)
