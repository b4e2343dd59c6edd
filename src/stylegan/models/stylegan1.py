"""StyleGAN (v1) (Karras, Laine, Aila, CVPR 2019) with progressive growing, and its
Pixel-Instance Normalization variant (Tan, Wen, Yang 2021).

Generator (Fig. 1b): the mapping network (z -> w, shared with the later generations), then a
synthesis network that starts from a learned constant 4x4 input and, per resolution, runs two
layers, each followed by the epilogue noise -> bias -> lrelu -> normalisation -> style (AdaIN).
The first layer of every block from 8x8 on upsamples (nearest x2 + 3x3 conv, one transposed conv
from 128x128 on) and blurs with [1, 2, 1]. ToRGB is a 1x1 conv.

Discriminator (ProGAN's, as StyleGAN uses it): fromRGB 1x1 + lrelu; per resolution conv3x3, blur,
conv3x3 + 2x2 downscale; at 4x4 minibatch standard deviation, conv3x3, dense, dense(1).

Progressive growing (ProGAN, Section 3): both networks hold a level of detail ``lod`` (a buffer,
0 = full resolution, log2(res) - 2 = 4x4 only). At an integer lod k the generator renders at
res / 2^k and upscales to res (nearest); between levels it cross-fades the ToRGB of the new
resolution with the upscaled ToRGB of the previous one: lerp(new, upscale(old), frac(lod)); the
discriminator mirrors it. Only the blocks a lod needs are run (the official 'recursive' structure);
the result equals the official 'linear' one. ``progressive=False`` is the official 'fixed'
structure: one ToRGB / fromRGB, no lod.

Layer names: ``synthesis.b{res}.conv0`` / ``conv1`` are the two layers of a block (at 4x4,
``conv0`` is the epilogue applied to the learned constant ``b4.const``; it has no convolution),
each with ``.conv`` and ``.epilogue`` (``noise``, ``bias``, ``norm``, ``style``); ``b{res}.torgb``.
The discriminator has ``b{res}.fromrgb``, ``conv0``, ``conv1`` and ``b4.{mbstd, conv, fc, out}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from stylegan.layers.adain import NORMALIZATIONS, LayerEpilogue
from stylegan.layers.minibatch_std import MinibatchStdLayer
from stylegan.layers.pin import DEFAULT_GATE_INIT, check_gate_value
from stylegan.layers.wscale import WScaleConv2d, WScaleDense
from stylegan.models.generator import GeneratorBase
from stylegan.models.mapping import MappingConfig
from stylegan.ops.resample import blur2d, downscale2d, lerp_clip, upscale2d
from stylegan.ops.upfirdn2d import setup_filter


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def _log2_resolution(res: int) -> int:
    _check(res >= 4 and res & (res - 1) == 0, f"resolution must be a power of two >= 4, got {res}")
    return int(math.log2(res))


def feature_maps(stage: int, fmap_base: float, fmap_decay: float, fmap_max: int) -> int:
    """Channels of a stage (official ``nf``): min(fmap_base / 2^(stage * fmap_decay), fmap_max);
    a block at resolution 2^r has nf(r - 1) channels."""
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def _use_fused(fused_scale: bool | str, resolution: int) -> bool:
    """'auto' fuses the resampling convolutions of the layers working at 128x128 and above."""
    _check(fused_scale in (True, False, "auto"), f"fused_scale must be True, False or 'auto', got {fused_scale!r}")
    return resolution >= 128 if fused_scale == "auto" else bool(fused_scale)


def _blur_filter(taps) -> torch.Tensor | None:
    return setup_filter(list(taps)) if taps else None


class LevelOfDetail(nn.Module):
    """Shared by G's synthesis network and D: the ``lod`` buffer and its checks."""

    def _setup_lod(self, resolution_log2: int, progressive: bool) -> None:
        self.progressive = progressive
        self.max_lod = resolution_log2 - 2 if progressive else 0
        self.register_buffer("lod", torch.zeros([]))

    def set_lod(self, lod: float) -> None:
        self.lod.fill_(self.check_lod(lod))

    def check_lod(self, lod: float) -> float:
        lod = float(lod)
        if not self.progressive and lod != 0:
            raise ValueError("this network has a fixed structure (progressive=False): lod must be 0")
        if not 0 <= lod <= self.max_lod:
            raise ValueError(f"lod must be within [0, {self.max_lod}], got {lod:g}")
        return lod

    def resolve_lod(self, lod: float | None) -> tuple[int, float]:
        """(integer part, fraction) of ``lod`` (the buffer when None)."""
        lod = self.check_lod(self.lod.item() if lod is None else lod)
        whole = int(math.floor(lod))
        return whole, lod - whole


# --------------------------------------------------------------------------------------------
# Generator


@dataclass(frozen=True)
class StyleGAN1GeneratorConfig:
    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = 1024
    img_channels: int = 3
    mapping: MappingConfig = field(default_factory=lambda: MappingConfig(num_layers=8, w_avg_beta=0.995))
    fmap_base: int = 8192  # channels at resolution r: min(2 * fmap_base / r, fmap_max) (fmap_decay 1)
    fmap_decay: float = 1.0
    fmap_max: int = 512
    use_noise: bool = True
    fused_scale: bool | str = "auto"  # official conv2d_transpose upsampling ('auto': from 128x128 on)
    blur_filter: tuple[int, ...] | None = (1, 2, 1)
    normalization: str = "instance"  # "instance" (StyleGAN) or "pin" (Pixel-Instance Normalization)
    pin_gate_init: float = DEFAULT_GATE_INIT
    progressive: bool = True  # ToRGB at every resolution + level of detail; False: official 'fixed'
    # The 4x4 input: a learned constant (the paper), or False for the "traditional" input of its
    # Table 1 (config A-D), a dense layer from the first w (official const_input_layer).
    const_input: bool = True


class SynthesisLayer(nn.Module):
    """[3x3 conv, with nearest x2 upscaling and blur when ``up``] -> epilogue (noise, bias, lrelu,
    normalisation, style). ``in_channels == 0``: no convolution (the 4x4 constant's layer)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        cfg: StyleGAN1GeneratorConfig,
        up: bool = False,
    ):
        super().__init__()
        self.resolution = resolution
        self.up = up
        self.conv = None
        if in_channels > 0:
            fused = up and _use_fused(cfg.fused_scale, resolution)
            self.conv = WScaleConv2d(
                in_channels, out_channels, 3, bias=False, resample="up" if up else None, fused=fused
            )
        self.register_buffer("blur_filter", _blur_filter(cfg.blur_filter) if up else None, persistent=False)
        self.epilogue = LayerEpilogue(
            out_channels, w_dim, resolution, cfg.use_noise, cfg.normalization, cfg.pin_gate_init
        )

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        if self.conv is not None:
            x = self.conv(x)
            if self.up:
                x = blur2d(x, self.blur_filter)
        return self.epilogue(x, w, noise_mode)


class SynthesisBlock(nn.Module):
    """One resolution: conv0 (constant at 4x4, x2 upsampling above) -> conv1, and its ToRGB."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        cfg: StyleGAN1GeneratorConfig,
        has_torgb: bool,
    ):
        super().__init__()
        self.resolution = resolution
        self.const_input = cfg.const_input
        if resolution == 4:
            if cfg.const_input:
                self.const = nn.Parameter(torch.ones([out_channels, 4, 4]))
            else:  # official gain: sqrt(2) / 4, "to match Progressive GAN"; the epilogue adds the bias
                self.dense = WScaleDense(w_dim, out_channels * 16, gain=math.sqrt(2) / 4, bias=False)
            self.conv0 = SynthesisLayer(0, out_channels, w_dim, resolution, cfg)
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, cfg, up=True)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, cfg)
        self.torgb = WScaleConv2d(out_channels, cfg.img_channels, 1, gain=1) if has_torgb else None

    def forward(self, x: torch.Tensor | None, ws: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        # Activations take the dtype of the convolution weights: float32, or bfloat16 where the network was
        # prepared for bfloat16 inference (utils.precision); ws stay float32.
        dtype = self.conv1.conv.weight.dtype
        if self.resolution == 4 and self.const_input:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
        elif self.resolution == 4:
            x = self.dense(ws[:, 0]).view(ws.shape[0], -1, 4, 4).to(dtype)
        x = self.conv0(x, ws[:, 0], noise_mode)
        return self.conv1(x, ws[:, 1], noise_mode)


class StyleGAN1Synthesis(LevelOfDetail):
    """ws [N, num_ws, w_dim] -> images [N, C, R, R]; num_ws = 2 log2(R) - 2 (two per block)."""

    def __init__(self, cfg: StyleGAN1GeneratorConfig):
        super().__init__()
        _check(cfg.normalization in NORMALIZATIONS, f"normalization must be one of {NORMALIZATIONS}")
        check_gate_value(cfg.pin_gate_init, "pin_gate_init")
        self.w_dim = cfg.w_dim
        self.img_resolution = cfg.img_resolution
        self.img_channels = cfg.img_channels
        self.resolution_log2 = _log2_resolution(cfg.img_resolution)
        self.block_resolutions = [2**i for i in range(2, self.resolution_log2 + 1)]
        self.num_ws = 2 * len(self.block_resolutions)
        self._setup_lod(self.resolution_log2, cfg.progressive)
        channels = {
            res: feature_maps(int(math.log2(res)) - 1, cfg.fmap_base, cfg.fmap_decay, cfg.fmap_max)
            for res in self.block_resolutions
        }
        for res in self.block_resolutions:
            block = SynthesisBlock(
                channels.get(res // 2, 0),
                channels[res],
                cfg.w_dim,
                res,
                cfg,
                has_torgb=cfg.progressive or res == cfg.img_resolution,
            )
            setattr(self, f"b{res}", block)

    def block(self, res: int) -> SynthesisBlock:
        return getattr(self, f"b{res}")

    def num_active_ws(self, lod: float | None = None) -> int:
        """How many ws the blocks run at ``lod`` use (the style-mixing range during growing)."""
        whole, _ = self.resolve_lod(lod)
        return self.num_ws - 2 * whole

    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: str = "random",
        lod: float | None = None,
        update_emas: bool = False,
        force_fp32: bool = False,
    ) -> torch.Tensor:
        """``force_fp32`` is accepted for a uniform interface (StyleGAN runs in float32 throughout)."""
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(torch.float32)
        whole, frac = self.resolve_lod(lod)
        top = self.img_resolution >> whole
        x = previous = None
        for idx, res in enumerate(self.block_resolutions):
            if res > top:
                break
            block = self.block(res)
            x = block(x, ws[:, 2 * idx : 2 * idx + 2], noise_mode)
            if res == top // 2 and frac > 0:
                previous = block.torgb(x)
        img = self.block(top).torgb(x)
        if previous is not None:
            img = lerp_clip(img, upscale2d(previous), frac)
        return upscale2d(img, self.img_resolution // top).to(torch.float32)


class StyleGAN1Generator(GeneratorBase):
    """Mapping network + StyleGAN (v1) synthesis network. ``G.lod`` / ``G.set_lod(lod)`` give the
    level of detail of progressive growing (kept in ``G.synthesis``)."""

    kind = "stylegan1.generator"  # what checkpoints store (models.registry.NETWORKS)
    Config = StyleGAN1GeneratorConfig

    def __init__(self, config: StyleGAN1GeneratorConfig = StyleGAN1GeneratorConfig()):
        super().__init__(config, StyleGAN1Synthesis(config))

    @property
    def lod(self) -> float:
        return self.synthesis.lod.item()

    def set_lod(self, lod: float) -> None:
        self.synthesis.set_lod(lod)


# --------------------------------------------------------------------------------------------
# Discriminator


@dataclass(frozen=True)
class StyleGAN1DiscriminatorConfig:
    c_dim: int = 0
    img_resolution: int = 1024
    img_channels: int = 3
    fmap_base: int = 8192
    fmap_decay: float = 1.0
    fmap_max: int = 512
    mbstd_group_size: int = 4  # <= 1 disables the minibatch standard deviation layer
    mbstd_num_features: int = 1
    fused_scale: bool | str = "auto"  # strided conv for downsampling from 128x128 on
    blur_filter: tuple[int, ...] | None = (1, 2, 1)
    progressive: bool = True  # fromRGB at every resolution + level of detail; False: official 'fixed'


class DiscriminatorBlock(nn.Module):
    """[fromRGB] and conv3x3 -> blur -> conv3x3 + 2x2 downscale, each with bias and lrelu."""

    def __init__(
        self, resolution: int, channels: int, out_channels: int, cfg: StyleGAN1DiscriminatorConfig, has_fromrgb: bool
    ):
        super().__init__()
        self.resolution = resolution
        self.fromrgb = WScaleConv2d(cfg.img_channels, channels, 1, activation="lrelu") if has_fromrgb else None
        self.conv0 = WScaleConv2d(channels, channels, 3, activation="lrelu")
        self.register_buffer("blur_filter", _blur_filter(cfg.blur_filter), persistent=False)
        self.conv1 = WScaleConv2d(
            channels,
            out_channels,
            3,
            activation="lrelu",
            resample="down",
            fused=_use_fused(cfg.fused_scale, resolution),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv0(x)
        return self.conv1(blur2d(x, self.blur_filter))


class DiscriminatorEpilogue(nn.Module):
    """4x4: [fromRGB], minibatch stddev, conv3x3, dense + lrelu, dense (one score, or one per class)."""

    def __init__(self, channels: int, dense_channels: int, cfg: StyleGAN1DiscriminatorConfig, has_fromrgb: bool):
        super().__init__()
        self.fromrgb = WScaleConv2d(cfg.img_channels, channels, 1, activation="lrelu") if has_fromrgb else None
        use_mbstd = cfg.mbstd_group_size > 1
        self.mbstd = MinibatchStdLayer(cfg.mbstd_group_size, cfg.mbstd_num_features) if use_mbstd else None
        extra = cfg.mbstd_num_features if use_mbstd else 0
        self.conv = WScaleConv2d(channels + extra, channels, 3, activation="lrelu")
        self.fc = WScaleDense(channels * 16, dense_channels, activation="lrelu")
        self.out = WScaleDense(dense_channels, max(cfg.c_dim, 1), gain=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.fc(x)
        return self.out(x)


class StyleGAN1Discriminator(LevelOfDetail):
    """images [N, C, R, R] (always at full resolution; during growing, upscaled) -> scores [N, 1]."""

    kind = "stylegan1.discriminator"  # what checkpoints store (models.registry.NETWORKS)
    Config = StyleGAN1DiscriminatorConfig

    def __init__(self, config: StyleGAN1DiscriminatorConfig = StyleGAN1DiscriminatorConfig()):
        super().__init__()
        self.config = config
        self.c_dim = config.c_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.resolution_log2 = _log2_resolution(config.img_resolution)
        self._setup_lod(self.resolution_log2, config.progressive)
        self.block_resolutions = [2**i for i in range(self.resolution_log2, 2, -1)]

        def nf(stage: int) -> int:
            return feature_maps(stage, config.fmap_base, config.fmap_decay, config.fmap_max)

        for res in self.block_resolutions:
            r = int(math.log2(res))
            block = DiscriminatorBlock(
                res, nf(r - 1), nf(r - 2), config, has_fromrgb=config.progressive or res == config.img_resolution
            )
            setattr(self, f"b{res}", block)
        self.b4 = DiscriminatorEpilogue(
            nf(1), nf(0), config, has_fromrgb=config.progressive or config.img_resolution == 4
        )

    def fromrgb(self, res: int) -> nn.Module:
        return getattr(self, f"b{res}").fromrgb

    def forward(
        self, img: torch.Tensor, c: torch.Tensor | None = None, lod: float | None = None, update_emas: bool = False
    ) -> torch.Tensor:
        expected = [self.img_channels, self.img_resolution, self.img_resolution]
        if img.ndim != 4 or list(img.shape[1:]) != expected:
            raise ValueError(f"images must have shape [N, {', '.join(map(str, expected))}], got {list(img.shape)}")
        whole, frac = self.resolve_lod(lod)
        top = self.img_resolution >> whole
        img = img.to(torch.float32)
        for _ in range(whole):
            img = downscale2d(img)
        x = self.fromrgb(top)(img)
        for res in self.block_resolutions:
            if res > top:
                continue
            x = getattr(self, f"b{res}")(x)
            if res == top and frac > 0:
                x = lerp_clip(x, self.fromrgb(res // 2)(downscale2d(img)), frac)
        scores = self.b4(x)
        if self.c_dim > 0:
            if c is None or c.shape[-1] != self.c_dim:
                raise ValueError(f"this discriminator needs labels c of size {self.c_dim}")
            scores = (scores * c.to(scores.dtype)).sum(dim=1, keepdim=True)
        return scores
