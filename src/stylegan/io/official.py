"""Build our networks from an official class name, its constructor kwargs and its state dict.

``import_official("networks_stylegan2.Generator", init_kwargs, state_dict)`` returns a module
whose calls match the official ones. The official kwargs are translated into our config
dataclasses; any kwarg we do not support ends in a ``CheckpointError`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from stylegan.errors import CheckpointError
from stylegan.io.official_stylegan3 import CLASS_NAME as STYLEGAN3_GENERATOR
from stylegan.io.official_stylegan3 import translate_stylegan3_generator
from stylegan.io.translate import KwargReader, as_tuple, load_state_strict, mapping_config
from stylegan.models.mapping import MappingConfig
from stylegan.models.registry import build

__all__ = ["TRANSLATORS", "KwargReader", "import_official", "load_state_strict", "translate_official"]

Translator = Callable[[dict[str, Any]], tuple[str, Any]]


def translate_stylegan2_generator(kwargs: dict[str, Any], class_name: str = "networks_stylegan2.Generator"):
    from stylegan.models.stylegan2 import StyleGAN2GeneratorConfig

    r = KwargReader(class_name, kwargs)
    defaults = StyleGAN2GeneratorConfig()
    z_dim, c_dim, w_dim = int(r.pop("z_dim")), int(r.pop("c_dim")), int(r.pop("w_dim"))
    img_resolution, img_channels = int(r.pop("img_resolution")), int(r.pop("img_channels"))
    mk = r.pop_dict("mapping_kwargs")
    # StyleGAN2-ADA-PyTorch passes synthesis kwargs as one dict; StyleGAN3's code as **kwargs.
    sk = r.pop_dict("synthesis_kwargs")
    sk.update(r.kwargs)
    r.kwargs = {}
    sr = KwargReader(class_name, sk)
    resample_filter = sr.pop("resample_filter", defaults.resample_filter)
    cfg = StyleGAN2GeneratorConfig(
        z_dim=z_dim,
        c_dim=c_dim,
        w_dim=w_dim,
        img_resolution=img_resolution,
        img_channels=img_channels,
        channel_base=int(sr.pop("channel_base", 32768)),
        channel_max=int(sr.pop("channel_max", 512)),
        num_fp16_res=int(sr.pop("num_fp16_res", 4)),
        conv_clamp=sr.pop("conv_clamp", 256),
        architecture=sr.pop("architecture", "skip"),
        resample_filter=as_tuple(resample_filter),
        use_noise=bool(sr.pop("use_noise", True)),
        activation=sr.pop("activation", "lrelu"),
        kernel_size=int(sr.pop("kernel_size", 3)),
        fp16_channels_last=bool(sr.pop("fp16_channels_last", False)),
        fused_modconv_default=sr.pop("fused_modconv_default", True),
        mapping=mapping_config(r, mk, default_beta=0.998),
    )
    sr.pop("channels_last", None)  # set per block from fp16_channels_last
    sr.finish()
    return "stylegan2.generator", cfg


def translate_stylegan2_discriminator(kwargs: dict[str, Any], class_name: str = "networks_stylegan2.Discriminator"):
    from stylegan.models.stylegan2 import StyleGAN2DiscriminatorConfig

    r = KwargReader(class_name, kwargs)
    bk = KwargReader(class_name, r.pop_dict("block_kwargs"))
    ek = KwargReader(class_name, r.pop_dict("epilogue_kwargs"))
    mk = r.pop_dict("mapping_kwargs")
    activation = bk.pop("activation", "lrelu")
    ep_activation = ek.pop("activation", activation)
    if ep_activation != activation:
        raise CheckpointError(f"{class_name}: block and epilogue activations differ ({activation}, {ep_activation})")
    cfg = StyleGAN2DiscriminatorConfig(
        c_dim=int(r.pop("c_dim")),
        img_resolution=int(r.pop("img_resolution")),
        img_channels=int(r.pop("img_channels")),
        architecture=r.pop("architecture", "resnet"),
        channel_base=int(r.pop("channel_base", 32768)),
        channel_max=int(r.pop("channel_max", 512)),
        num_fp16_res=int(r.pop("num_fp16_res", 4)),
        conv_clamp=r.pop("conv_clamp", 256),
        cmap_dim=r.pop("cmap_dim", None),
        activation=activation,
        resample_filter=as_tuple(bk.pop("resample_filter", (1, 3, 3, 1))),
        fp16_channels_last=bool(bk.pop("fp16_channels_last", False)),
        freeze_layers=int(bk.pop("freeze_layers", 0)),
        mbstd_group_size=ek.pop("mbstd_group_size", 4),
        mbstd_num_channels=int(ek.pop("mbstd_num_channels", 1)),
        mapping=mapping_config(r, mk, default_beta=None),
    )
    if cfg.mapping.w_avg_beta is not None:
        cfg = type(cfg)(**{**cfg.__dict__, "mapping": MappingConfig(**{**cfg.mapping.__dict__, "w_avg_beta": None})})
    bk.finish(where="block_kwargs.")
    ek.finish(where="epilogue_kwargs.")
    r.finish()
    return "stylegan2.discriminator", cfg


# Official class name (last two dotted components) -> translator.
TRANSLATORS: dict[str, Translator] = {
    "networks_stylegan2.Generator": translate_stylegan2_generator,
    STYLEGAN3_GENERATOR: translate_stylegan3_generator,
    "networks_stylegan2.Discriminator": translate_stylegan2_discriminator,
    "networks.Generator": translate_stylegan2_generator,  # StyleGAN2-ADA-PyTorch (training/networks.py)
    "networks.Discriminator": translate_stylegan2_discriminator,
}


def _short_name(class_name: str) -> str:
    return ".".join(class_name.split(".")[-2:])


def translate_official(class_name: str, init_kwargs: Mapping[str, Any]) -> tuple[str, Any]:
    """Return (our network kind, our config) for an official class name and its kwargs."""
    short = _short_name(class_name)
    if short not in TRANSLATORS:
        raise CheckpointError(f"unsupported official class {class_name!r}; supported: {', '.join(sorted(TRANSLATORS))}")
    return TRANSLATORS[short](dict(init_kwargs))


def import_official(class_name: str, init_kwargs: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]):
    """Build our equivalent of an official network and load its weights (float32, eval mode)."""
    kind, config = translate_official(class_name, init_kwargs)
    module = build(kind, config)
    load_state_strict(module, state_dict, class_name)
    return module.eval()
