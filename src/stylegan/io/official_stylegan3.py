"""Translator of the official StyleGAN3 generator (``training/networks_stylegan3.py``).

``Generator(z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs, **synthesis_kwargs)``
where the synthesis kwargs hold both the network's (channel_base, num_layers, margin_size, ...)
and its layers' (conv_kernel, use_radial_filters, conv_clamp, ...). Listed in
``stylegan.io.official.TRANSLATORS`` as ``networks_stylegan3.Generator``.
"""

from __future__ import annotations

from typing import Any

from stylegan.errors import CheckpointError
from stylegan.io.translate import KwargReader, mapping_config

CLASS_NAME = "networks_stylegan3.Generator"


def translate_stylegan3_generator(kwargs: dict[str, Any], class_name: str = CLASS_NAME):
    from stylegan.models.stylegan3 import StyleGAN3GeneratorConfig

    d = StyleGAN3GeneratorConfig()
    r = KwargReader(class_name, kwargs)
    z_dim, c_dim, w_dim = int(r.pop("z_dim")), int(r.pop("c_dim")), int(r.pop("w_dim"))
    img_resolution, img_channels = int(r.pop("img_resolution")), int(r.pop("img_channels"))

    mk = r.pop_dict("mapping_kwargs")
    # Freezing only changes which weights train; the official code cannot even build frozen layers.
    for name, default in (("freeze_layers", 0), ("freeze_embed", False)):
        if mk.get(name, default) != default:
            raise CheckpointError(f"{class_name}: unsupported official kwarg mapping_kwargs.{name}={mk[name]!r}")
        mk.pop(name, None)

    def opt(name, default, cast):
        value = r.pop(name, default)
        return None if value is None else cast(value)

    synthesis = dict(
        channel_base=opt("channel_base", d.channel_base, int),
        channel_max=opt("channel_max", d.channel_max, int),
        num_layers=opt("num_layers", d.num_layers, int),
        num_critical=opt("num_critical", d.num_critical, int),
        first_cutoff=opt("first_cutoff", d.first_cutoff, float),
        first_stopband=opt("first_stopband", d.first_stopband, float),
        last_stopband_rel=opt("last_stopband_rel", d.last_stopband_rel, float),
        margin_size=opt("margin_size", d.margin_size, int),
        output_scale=opt("output_scale", d.output_scale, float),
        num_fp16_res=opt("num_fp16_res", d.num_fp16_res, int),
        conv_kernel=opt("conv_kernel", d.conv_kernel, int),
        filter_size=opt("filter_size", d.filter_size, int),
        lrelu_upsampling=opt("lrelu_upsampling", d.lrelu_upsampling, int),
        use_radial_filters=opt("use_radial_filters", d.use_radial_filters, bool),
        conv_clamp=opt("conv_clamp", d.conv_clamp, float),
        magnitude_ema_beta=opt("magnitude_ema_beta", d.magnitude_ema_beta, float),
    )
    mapping = mapping_config(r, mk, default_beta=0.998, default_layers=2)  # also rejects what is left in r
    cfg = StyleGAN3GeneratorConfig(
        z_dim=z_dim,
        c_dim=c_dim,
        w_dim=w_dim,
        img_resolution=img_resolution,
        img_channels=img_channels,
        mapping=mapping,
        **synthesis,
    )
    return "stylegan3.generator", cfg
