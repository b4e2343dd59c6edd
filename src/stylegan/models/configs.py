"""Named presets: ``stylegan1``, ``stylegan1-pin``, ``stylegan2``, ``stylegan3-t``, ``stylegan3-r``.

A preset turns a resolution and optional capacity settings into the frozen configs of a
generator and a discriminator; ``PRESETS`` names them all, and ``build_preset(name, resolution,
...)`` returns a ``ModelSpec``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stylegan.errors import UserError
from stylegan.layers.pin import DEFAULT_GATE_INIT
from stylegan.models.mapping import MappingConfig
from stylegan.models.registry import build
from stylegan.models.stylegan1 import StyleGAN1DiscriminatorConfig, StyleGAN1GeneratorConfig
from stylegan.models.stylegan2 import StyleGAN2DiscriminatorConfig, StyleGAN2GeneratorConfig
from stylegan.models.stylegan3 import StyleGAN3GeneratorConfig


@dataclass(frozen=True)
class ModelSpec:
    """The networks of a preset: kinds and configs of G and D (build them with ``build()``)."""

    preset: str
    G_kind: str
    G: Any
    D_kind: str
    D: Any

    def build(self):
        return build(self.G_kind, self.G), build(self.D_kind, self.D)


def check_resolution(resolution: int, low: int = 4, high: int = 1024) -> None:
    if not (low <= resolution <= high and resolution & (resolution - 1) == 0):
        raise UserError(f"resolution must be a power of two between {low} and {high}, got {resolution}")


def _stylegan1_spec(
    name: str,
    normalization: str,
    resolution: int,
    *,
    c_dim: int = 0,
    img_channels: int = 3,
    channel_base: int | None = None,
    channel_max: int | None = None,
    map_layers: int | None = None,
    z_dim: int | None = None,
    w_dim: int | None = None,
    pin_gate_init: float | None = None,
    progressive: bool = True,
    const_input: bool = True,
    mbstd_group_size: int = 4,
    **extra,
):
    """StyleGAN (v1) as in the paper: mapping depth 8, z/w 512, channels min(16384 / r, 512)
    (``channel_base`` counts like StyleGAN2's: channels at resolution r = channel_base / r)."""

    check_resolution(resolution)
    if extra:
        raise ValueError(f"{name} preset: unknown option(s) {sorted(extra)}")
    if pin_gate_init is not None and normalization != "pin":
        raise ValueError(f"{name} preset: pin_gate_init applies to the stylegan1-pin preset only")
    fmap_base = (channel_base or 16384) // 2
    fmap_max = channel_max or 512
    G = StyleGAN1GeneratorConfig(
        z_dim=z_dim or 512,
        c_dim=c_dim,
        w_dim=w_dim or 512,
        img_resolution=resolution,
        img_channels=img_channels,
        mapping=MappingConfig(num_layers=8 if map_layers is None else map_layers, w_avg_beta=0.995),
        fmap_base=fmap_base,
        fmap_max=fmap_max,
        normalization=normalization,
        pin_gate_init=DEFAULT_GATE_INIT if pin_gate_init is None else float(pin_gate_init),
        progressive=progressive,
        const_input=const_input,
    )
    D = StyleGAN1DiscriminatorConfig(
        c_dim=c_dim,
        img_resolution=resolution,
        img_channels=img_channels,
        fmap_base=fmap_base,
        fmap_max=fmap_max,
        mbstd_group_size=mbstd_group_size,
        progressive=progressive,
    )
    return ModelSpec(name, "stylegan1.generator", G, "stylegan1.discriminator", D)


def stylegan1_preset(resolution: int, **kwargs):
    return _stylegan1_spec("stylegan1", "instance", resolution, **kwargs)


def stylegan1_pin_preset(resolution: int, **kwargs):
    """StyleGAN (v1) with Pixel-Instance Normalization in every AdaIN (option ``pin_gate_init``)."""
    return _stylegan1_spec("stylegan1-pin", "pin", resolution, **kwargs)


def _stylegan2_preset(
    resolution: int,
    *,
    c_dim: int = 0,
    img_channels: int = 3,
    channel_base: int | None = None,
    channel_max: int | None = None,
    map_layers: int | None = None,
    z_dim: int | None = None,
    w_dim: int | None = None,
    fourier_input: bool = False,
    magnitude_norm: bool = False,
    **extra,
):
    """StyleGAN2 config F (skip G, resnet D). Capacity as the official 'auto'/'paper' configs:
    channel_base 32768 from 512 px up, 16384 below; channel_max 512; mapping depth 8.
    StyleGAN3 paper, Figure 3: ``fourier_input`` gives config B's input, ``magnitude_norm`` config D's
    normalisation of every convolution's input (EMA decay 0.999 until training sets its own)."""

    check_resolution(resolution)
    if extra:
        raise ValueError(f"stylegan2 preset: unknown option(s) {sorted(extra)}")
    base = channel_base or (32768 if resolution >= 512 else 16384)
    cmax = channel_max or 512
    G = StyleGAN2GeneratorConfig(
        z_dim=z_dim or 512,
        c_dim=c_dim,
        w_dim=w_dim or 512,
        img_resolution=resolution,
        img_channels=img_channels,
        mapping=MappingConfig(num_layers=8 if map_layers is None else map_layers, w_avg_beta=0.995),
        channel_base=base,
        channel_max=cmax,
        fourier_input=fourier_input,
        magnitude_ema_beta=0.999 if magnitude_norm else None,
    )
    D = StyleGAN2DiscriminatorConfig(
        c_dim=c_dim,
        img_resolution=resolution,
        img_channels=img_channels,
        channel_base=base,
        channel_max=cmax,
    )
    return ModelSpec("stylegan2", "stylegan2.generator", G, "stylegan2.discriminator", D)


def _stylegan3_preset(
    config: str,
    resolution: int,
    *,
    c_dim: int = 0,
    img_channels: int = 3,
    channel_base: int | None = None,
    channel_max: int | None = None,
    map_layers: int | None = None,
    z_dim: int | None = None,
    w_dim: int | None = None,
    layer_schedule: str = "flexible",
    critical_sampling: bool = False,
    filtered_lrelu: bool = True,
    fourier_transform: bool = True,
    **extra,
):
    """StyleGAN3 config T or R as the official trainer builds it: channel_base 32768, channel_max
    512, mapping depth 2, conv_clamp 256; config R uses 1x1 convolutions, radial filters and
    doubles the generator's channel_base and channel_max. D: the StyleGAN2 discriminator with
    the undoubled capacity.

    The paper's configs E-H (Figure 3): ``layer_schedule="stylegan2"`` (StyleGAN2's layer layout),
    ``critical_sampling`` (every layer critically sampled, E-F; else the last two, G-H),
    ``filtered_lrelu=False`` (E: the leaky ReLU unfiltered), ``fourier_transform=False`` (E-G)."""

    check_resolution(resolution, low=16)
    if extra:
        raise ValueError(f"stylegan3-{config} preset: unknown option(s) {sorted(extra)}")
    if critical_sampling and layer_schedule != "stylegan2":
        raise ValueError(f"stylegan3-{config} preset: critical_sampling needs layer_schedule 'stylegan2'")
    layers = {}
    if layer_schedule == "stylegan2":
        num_layers = 2 * resolution.bit_length() - 5  # 2 log2(res) - 3
        layers = dict(num_layers=num_layers, num_critical=num_layers if critical_sampling else 2)
    base = channel_base or 32768
    cmax = channel_max or 512
    is_r = config == "r"
    G = StyleGAN3GeneratorConfig(
        z_dim=z_dim or 512,
        c_dim=c_dim,
        w_dim=w_dim or 512,
        img_resolution=resolution,
        img_channels=img_channels,
        mapping=MappingConfig(num_layers=2 if map_layers is None else map_layers, w_avg_beta=0.998),
        channel_base=base * 2 if is_r else base,
        channel_max=cmax * 2 if is_r else cmax,
        conv_kernel=1 if is_r else 3,
        use_radial_filters=is_r,
        layer_schedule=layer_schedule,
        lrelu_upsampling=2 if filtered_lrelu else 1,
        fourier_transform=fourier_transform,
        **layers,
    )
    D = StyleGAN2DiscriminatorConfig(
        c_dim=c_dim,
        img_resolution=resolution,
        img_channels=img_channels,
        channel_base=base,
        channel_max=cmax,
    )
    return ModelSpec(f"stylegan3-{config}", "stylegan3.generator", G, "stylegan2.discriminator", D)


PresetFn = Callable[..., ModelSpec]
# Every preset: a function ``(resolution, *, c_dim, img_channels, channel_base, channel_max,
# map_layers, z_dim, w_dim, **extra) -> ModelSpec``.
PRESETS: dict[str, PresetFn] = {
    "stylegan1": stylegan1_preset,
    "stylegan1-pin": stylegan1_pin_preset,
    "stylegan2": _stylegan2_preset,
    "stylegan3-t": functools.partial(_stylegan3_preset, "t"),
    "stylegan3-r": functools.partial(_stylegan3_preset, "r"),
}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def build_preset(
    name: str,
    resolution: int,
    *,
    c_dim: int = 0,
    img_channels: int = 3,
    channel_base: int | None = None,
    channel_max: int | None = None,
    map_layers: int | None = None,
    z_dim: int | None = None,
    w_dim: int | None = None,
    **extra,
) -> ModelSpec:
    """The G and D configs of preset ``name`` at ``resolution``; ``None`` takes the preset's default."""
    names = preset_names()
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}; choose from {', '.join(names)}")
    return PRESETS[name](
        resolution,
        c_dim=c_dim,
        img_channels=img_channels,
        channel_base=channel_base,
        channel_max=channel_max,
        map_layers=map_layers,
        z_dim=z_dim,
        w_dim=w_dim,
        **extra,
    )
