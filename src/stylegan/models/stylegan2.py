"""StyleGAN2 (Karras et al., CVPR 2020): generator and discriminator.

Architectures (Fig. 7): the generator is ``orig``, ``skip`` (default: RGB outputs of every
resolution upsampled and summed) or ``resnet``; the discriminator ``orig``, ``skip`` or ``resnet``
(default: (block(x) + conv1x1_down(x)) / sqrt(2)). Module and parameter names follow the official
PyTorch implementation, so its state dicts load as they are.

Two switches take the generator up the first rungs of the StyleGAN3 paper's ladder (Figure 3,
Section 3.2; both off by default): ``fourier_input`` replaces the learned 4x4 constant by fixed
Fourier features (config B; the module ``b4.input``), and ``magnitude_ema_beta`` divides the input
of every modulated convolution by the running RMS of its magnitude (config D's normalisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from stylegan.layers.equalized import Conv2dLayer, FullyConnectedLayer
from stylegan.layers.fourier import FourierFeatureInput
from stylegan.layers.minibatch_std import MinibatchStdLayer
from stylegan.layers.modulated import ModulatedConvLayer, ToRGBLayer
from stylegan.models.generator import GeneratorBase
from stylegan.models.mapping import MappingConfig, MappingNetwork
from stylegan.ops.upfirdn2d import downsample2d, setup_filter, upsample2d

ARCHITECTURES = ("orig", "skip", "resnet")


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def _log2_resolution(res: int) -> int:
    _check(res >= 4 and res & (res - 1) == 0, f"resolution must be a power of two >= 4, got {res}")
    return int(math.log2(res))


def _channels(resolutions: list[int], channel_base: int, channel_max: int) -> dict[int, int]:
    """{resolution: min(channel_base // resolution, channel_max)}, at least one channel each."""
    channels = {res: min(channel_base // res, channel_max) for res in resolutions}
    empty = [res for res, n in channels.items() if n < 1]
    _check(
        not empty,
        f"channel_base {channel_base} and channel_max {channel_max} leave no channels at {max(empty, default=0)} px",
    )
    return channels


def _use_fp16(x: torch.Tensor, use_fp16: bool, force_fp32: bool) -> torch.dtype:
    """float16 only where asked and only on CUDA; everything else runs in float32."""
    return torch.float16 if use_fp16 and not force_fp32 and x.device.type == "cuda" else torch.float32


# --------------------------------------------------------------------------------------------
# Generator


@dataclass(frozen=True)
class StyleGAN2GeneratorConfig:
    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = 1024
    img_channels: int = 3
    mapping: MappingConfig = field(default_factory=MappingConfig)
    channel_base: int = 32768  # channels at resolution r: min(channel_base // r, channel_max)
    channel_max: int = 512
    num_fp16_res: int = 4  # float16 in the highest resolutions (CUDA only)
    conv_clamp: float | None = 256
    architecture: str = "skip"
    resample_filter: tuple[int, ...] = (1, 3, 3, 1)
    use_noise: bool = True
    activation: str = "lrelu"
    kernel_size: int = 3
    fp16_channels_last: bool = False
    fused_modconv_default: bool | str = True  # True, False or "inference_only"
    # StyleGAN3 paper, Figure 3: B's Fourier-feature input (4x4, bandwidth 2, not transformed by w)
    fourier_input: bool = False
    # D's input normalisation: decay of the EMA of E[x^2] before every modulated conv; None: off
    magnitude_ema_beta: float | None = None


class SynthesisBlock(nn.Module):
    """One resolution: [const | conv0 (x2 up)] -> conv1 -> [ToRGB], with skip/resnet wiring."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        cfg: StyleGAN2GeneratorConfig,
        use_fp16: bool = False,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        self.is_last = is_last
        self.architecture = cfg.architecture
        self.use_fp16 = use_fp16
        self.channels_last = use_fp16 and cfg.fp16_channels_last
        self.fused_modconv_default = cfg.fused_modconv_default
        self.register_buffer("resample_filter", setup_filter(list(cfg.resample_filter)))
        self.num_conv = 0
        self.num_torgb = 0
        layer_kwargs = dict(
            kernel_size=cfg.kernel_size,
            use_noise=cfg.use_noise,
            activation=cfg.activation,
            conv_clamp=cfg.conv_clamp,
            channels_last=self.channels_last,
            magnitude_ema_beta=cfg.magnitude_ema_beta,
        )
        if in_channels == 0 and cfg.fourier_input:
            self.input = FourierFeatureInput(
                w_dim, out_channels, resolution, sampling_rate=resolution, bandwidth=resolution / 2, transformed=False
            )
        elif in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = ModulatedConvLayer(
                in_channels,
                out_channels,
                w_dim,
                resolution,
                up=2,
                resample_filter=cfg.resample_filter,
                **layer_kwargs,
            )
            self.num_conv += 1
        self.conv1 = ModulatedConvLayer(out_channels, out_channels, w_dim, resolution, **layer_kwargs)
        self.num_conv += 1
        if is_last or cfg.architecture == "skip":
            self.torgb = ToRGBLayer(
                out_channels,
                img_channels,
                w_dim,
                conv_clamp=cfg.conv_clamp,
                channels_last=self.channels_last,
                magnitude_ema_beta=cfg.magnitude_ema_beta,
            )
            self.num_torgb += 1
        if in_channels != 0 and cfg.architecture == "resnet":
            self.skip = Conv2dLayer(
                in_channels,
                out_channels,
                kernel_size=1,
                bias=False,
                up=2,
                resample_filter=cfg.resample_filter,
                channels_last=self.channels_last,
            )

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,
        force_fp32: bool = False,
        fused_modconv: bool | str | None = None,
        update_emas: bool = False,
        noise_mode: str = "random",
    ):
        w_iter = iter(ws.unbind(dim=1))
        dtype = _use_fp16(ws, self.use_fp16, force_fp32)
        memory_format = torch.channels_last if self.channels_last and not force_fp32 else torch.contiguous_format
        if self.conv1.weight.dtype == torch.bfloat16:  # prepared for bfloat16 inference (utils.precision)
            dtype = torch.bfloat16
        if fused_modconv is None:
            fused_modconv = self.fused_modconv_default
        if fused_modconv == "inference_only":
            fused_modconv = not self.training
        kw = dict(fused_modconv=fused_modconv, noise_mode=noise_mode, update_emas=update_emas)

        if self.in_channels == 0:
            if hasattr(self, "input"):  # fixed Fourier features: w only gives the batch size
                x = self.input(ws[:, 0]).to(dtype=dtype, memory_format=memory_format)
            else:
                x = self.const.to(dtype=dtype, memory_format=memory_format)
                x = x.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), **kw)
        else:
            x = x.to(dtype=dtype, memory_format=torch.channels_last if dtype == torch.bfloat16 else memory_format)
            if self.architecture == "resnet":
                y = self.skip(x, gain=math.sqrt(0.5))
                x = self.conv0(x, next(w_iter), **kw)
                x = self.conv1(x, next(w_iter), gain=math.sqrt(0.5), **kw)
                x = y + x
            else:
                x = self.conv0(x, next(w_iter), **kw)
                x = self.conv1(x, next(w_iter), **kw)

        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter), fused_modconv=fused_modconv, update_emas=update_emas)
            y = y.to(dtype=torch.float32, memory_format=torch.contiguous_format)
            img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, C, R, R]."""

    def __init__(self, cfg: StyleGAN2GeneratorConfig):
        super().__init__()
        _check(cfg.architecture in ARCHITECTURES, f"architecture must be one of {ARCHITECTURES}")
        self.w_dim = cfg.w_dim
        self.img_resolution = cfg.img_resolution
        self.img_resolution_log2 = _log2_resolution(cfg.img_resolution)
        self.img_channels = cfg.img_channels
        self.num_fp16_res = cfg.num_fp16_res
        self.block_resolutions = [2**i for i in range(2, self.img_resolution_log2 + 1)]
        channels = _channels(self.block_resolutions, cfg.channel_base, cfg.channel_max)
        fp16_resolution = max(2 ** (self.img_resolution_log2 + 1 - cfg.num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            in_channels = channels[res // 2] if res > 4 else 0
            block = SynthesisBlock(
                in_channels,
                channels[res],
                cfg.w_dim,
                res,
                cfg.img_channels,
                is_last=(res == cfg.img_resolution),
                cfg=cfg,
                use_fp16=(res >= fp16_resolution),
            )
            self.num_ws += block.num_conv
            if block.is_last:
                self.num_ws += block.num_torgb
            setattr(self, f"b{res}", block)

    def blocks(self):
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def forward(self, ws: torch.Tensor, **block_kwargs) -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for block in self.blocks():
            cur = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            w_idx += block.num_conv
            x, img = block(x, img, cur, **block_kwargs)
        return img


class StyleGAN2Generator(GeneratorBase):
    kind = "stylegan2.generator"  # what checkpoints store (models.registry.NETWORKS)
    Config = StyleGAN2GeneratorConfig

    def __init__(self, config: StyleGAN2GeneratorConfig = StyleGAN2GeneratorConfig()):
        super().__init__(config, SynthesisNetwork(config))


# --------------------------------------------------------------------------------------------
# Discriminator


@dataclass(frozen=True)
class StyleGAN2DiscriminatorConfig:
    c_dim: int = 0
    img_resolution: int = 1024
    img_channels: int = 3
    architecture: str = "resnet"
    channel_base: int = 32768
    channel_max: int = 512
    num_fp16_res: int = 4
    conv_clamp: float | None = 256
    cmap_dim: int | None = None  # label-projection size; default: channels at 4x4
    activation: str = "lrelu"
    resample_filter: tuple[int, ...] = (1, 3, 3, 1)
    fp16_channels_last: bool = False
    freeze_layers: int = 0
    mbstd_group_size: int | None = 4
    mbstd_num_channels: int = 1
    mapping: MappingConfig = field(default_factory=lambda: MappingConfig(num_layers=8, w_avg_beta=None))


class DiscriminatorBlock(nn.Module):
    """[fromRGB] -> conv0 -> conv1 (x2 down), with skip (image pyramid) or resnet wiring."""

    def __init__(
        self,
        in_channels: int,
        tmp_channels: int,
        out_channels: int,
        resolution: int,
        first_layer_idx: int,
        cfg: StyleGAN2DiscriminatorConfig,
        use_fp16: bool = False,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        self.architecture = cfg.architecture
        self.use_fp16 = use_fp16
        self.channels_last = use_fp16 and cfg.fp16_channels_last
        self.register_buffer("resample_filter", setup_filter(list(cfg.resample_filter)))
        self.num_layers = 0

        def trainable() -> bool:
            idx = first_layer_idx + self.num_layers
            self.num_layers += 1
            return idx >= cfg.freeze_layers

        common = dict(activation=cfg.activation, conv_clamp=cfg.conv_clamp, channels_last=self.channels_last)
        if in_channels == 0 or cfg.architecture == "skip":
            self.fromrgb = Conv2dLayer(cfg.img_channels, tmp_channels, kernel_size=1, trainable=trainable(), **common)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, kernel_size=3, trainable=trainable(), **common)
        self.conv1 = Conv2dLayer(
            tmp_channels,
            out_channels,
            kernel_size=3,
            down=2,
            resample_filter=cfg.resample_filter,
            trainable=trainable(),
            **common,
        )
        if cfg.architecture == "resnet":
            self.skip = Conv2dLayer(
                tmp_channels,
                out_channels,
                kernel_size=1,
                bias=False,
                down=2,
                resample_filter=cfg.resample_filter,
                trainable=trainable(),
                channels_last=self.channels_last,
            )

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, force_fp32: bool = False):
        dtype = _use_fp16(x if x is not None else img, self.use_fp16, force_fp32)
        memory_format = torch.channels_last if self.channels_last and not force_fp32 else torch.contiguous_format
        if x is not None:
            x = x.to(dtype=dtype, memory_format=memory_format)
        if self.in_channels == 0 or self.architecture == "skip":
            img = img.to(dtype=dtype, memory_format=memory_format)
            y = self.fromrgb(img)
            x = x + y if x is not None else y
            img = downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x)
            x = self.conv1(x, gain=math.sqrt(0.5))
            x = y + x
        else:
            x = self.conv0(x)
            x = self.conv1(x)
        return x, img


class DiscriminatorEpilogue(nn.Module):
    """4x4: [fromRGB] -> minibatch stddev -> conv -> fc -> out, with label projection (cmap)."""

    def __init__(self, in_channels: int, cmap_dim: int, resolution: int, cfg: StyleGAN2DiscriminatorConfig):
        super().__init__()
        self.in_channels = in_channels
        self.cmap_dim = cmap_dim
        self.resolution = resolution
        self.architecture = cfg.architecture
        if cfg.architecture == "skip":
            self.fromrgb = Conv2dLayer(cfg.img_channels, in_channels, kernel_size=1, activation=cfg.activation)
        self.mbstd = (
            MinibatchStdLayer(cfg.mbstd_group_size, cfg.mbstd_num_channels) if cfg.mbstd_num_channels > 0 else None
        )
        self.conv = Conv2dLayer(
            in_channels + cfg.mbstd_num_channels,
            in_channels,
            kernel_size=3,
            activation=cfg.activation,
            conv_clamp=cfg.conv_clamp,
        )
        self.fc = FullyConnectedLayer(in_channels * resolution**2, in_channels, activation=cfg.activation)
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x: torch.Tensor, img: torch.Tensor | None, cmap: torch.Tensor | None = None):
        x = x.to(dtype=torch.float32, memory_format=torch.contiguous_format)
        if self.architecture == "skip":
            x = x + self.fromrgb(img.to(torch.float32))
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.fc(x.flatten(1))
        x = self.out(x)
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / math.sqrt(self.cmap_dim))
        return x


class StyleGAN2Discriminator(nn.Module):
    kind = "stylegan2.discriminator"  # what checkpoints store (models.registry.NETWORKS)
    Config = StyleGAN2DiscriminatorConfig

    def __init__(self, config: StyleGAN2DiscriminatorConfig = StyleGAN2DiscriminatorConfig()):
        super().__init__()
        _check(config.architecture in ARCHITECTURES, f"architecture must be one of {ARCHITECTURES}")
        self.config = config
        self.c_dim = config.c_dim
        self.img_resolution = config.img_resolution
        self.img_resolution_log2 = _log2_resolution(config.img_resolution)
        self.img_channels = config.img_channels
        self.block_resolutions = [2**i for i in range(self.img_resolution_log2, 2, -1)]
        channels = _channels(self.block_resolutions + [4], config.channel_base, config.channel_max)
        fp16_resolution = max(2 ** (self.img_resolution_log2 + 1 - config.num_fp16_res), 8)
        cmap_dim = channels[4] if config.cmap_dim is None else config.cmap_dim
        if config.c_dim == 0:
            cmap_dim = 0
        layer_idx = 0
        for res in self.block_resolutions:
            in_channels = channels[res] if res < config.img_resolution else 0
            block = DiscriminatorBlock(
                in_channels,
                channels[res],
                channels[res // 2],
                res,
                layer_idx,
                config,
                use_fp16=(res >= fp16_resolution),
            )
            layer_idx += block.num_layers
            setattr(self, f"b{res}", block)
        if config.c_dim > 0:
            self.mapping = MappingNetwork(0, config.c_dim, cmap_dim, None, config.mapping)
        self.b4 = DiscriminatorEpilogue(channels[4], cmap_dim, 4, config)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None, update_emas: bool = False, **block_kwargs):
        x = None
        for res in self.block_resolutions:
            x, img = getattr(self, f"b{res}")(x, img, **block_kwargs)
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        return self.b4(x, img, cmap)
