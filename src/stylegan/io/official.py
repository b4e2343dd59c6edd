"""Build our networks from an official class name, its constructor kwargs and its state dict.

``import_official("networks_stylegan2.Generator", init_kwargs, state_dict)`` returns a module
whose calls match the official ones. The official kwargs are translated into our config
dataclasses; any kwarg we do not support ends in a ``CheckpointError`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from stylegan.errors import CheckpointError
from stylegan.models.mapping import MappingConfig
from stylegan.models.registry import build

Translator = Callable[[dict[str, Any]], tuple[str, Any]]


class KwargReader:
    """Pops official kwargs one by one; whatever is left at the end is unsupported."""

    def __init__(self, class_name: str, kwargs: Mapping[str, Any]):
        self.class_name = class_name
        self.kwargs = dict(kwargs)

    def pop(self, name: str, default: Any = None) -> Any:
        return self.kwargs.pop(name, default)

    def pop_dict(self, name: str) -> dict[str, Any]:
        value = self.kwargs.pop(name, None) or {}
        return dict(value)

    def finish(self, extra: Mapping[str, Any] | None = None, where: str = "") -> None:
        left = dict(self.kwargs)
        if extra:
            left.update(extra)
        if left:
            names = ", ".join(f"{where}{k}={v!r}" for k, v in left.items())
            raise CheckpointError(f"{self.class_name}: unsupported official kwarg(s): {names}")


def _mapping_config(reader: KwargReader, mk: dict[str, Any], default_beta: float | None,
                    default_layers: int = 8) -> MappingConfig:
    cfg = MappingConfig(
        num_layers=int(mk.pop("num_layers", default_layers)),
        embed_features=mk.pop("embed_features", None),
        layer_features=mk.pop("layer_features", None),
        activation=mk.pop("activation", "lrelu"),
        lr_multiplier=float(mk.pop("lr_multiplier", 0.01)),
        w_avg_beta=mk.pop("w_avg_beta", default_beta),
    )
    reader.finish(mk, where="mapping_kwargs.")
    return cfg


def _tuple(v) -> tuple[int, ...]:
    return tuple(int(x) if float(x).is_integer() else float(x) for x in v)


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
        z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels,
        channel_base=int(sr.pop("channel_base", 32768)),
        channel_max=int(sr.pop("channel_max", 512)),
        num_fp16_res=int(sr.pop("num_fp16_res", 4)),
        conv_clamp=sr.pop("conv_clamp", 256),
        architecture=sr.pop("architecture", "skip"),
        resample_filter=_tuple(resample_filter),
        use_noise=bool(sr.pop("use_noise", True)),
        activation=sr.pop("activation", "lrelu"),
        kernel_size=int(sr.pop("kernel_size", 3)),
        fp16_channels_last=bool(sr.pop("fp16_channels_last", False)),
        fused_modconv_default=sr.pop("fused_modconv_default", True),
        mapping=_mapping_config(r, mk, default_beta=0.998),
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
        resample_filter=_tuple(bk.pop("resample_filter", (1, 3, 3, 1))),
        fp16_channels_last=bool(bk.pop("fp16_channels_last", False)),
        freeze_layers=int(bk.pop("freeze_layers", 0)),
        mbstd_group_size=ek.pop("mbstd_group_size", 4),
        mbstd_num_channels=int(ek.pop("mbstd_num_channels", 1)),
        mapping=_mapping_config(r, mk, default_beta=None),
    )
    if cfg.mapping.w_avg_beta is not None:
        cfg = type(cfg)(**{**cfg.__dict__, "mapping": MappingConfig(**{**cfg.mapping.__dict__, "w_avg_beta": None})})
    bk.finish(where="block_kwargs.")
    ek.finish(where="epilogue_kwargs.")
    r.finish()
    return "stylegan2.discriminator", cfg


# Official class name (last two dotted components) -> translator. Other generations add theirs.
TRANSLATORS: dict[str, Translator] = {
    "networks_stylegan2.Generator": translate_stylegan2_generator,
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
        raise CheckpointError(
            f"unsupported official class {class_name!r}; supported: {', '.join(sorted(TRANSLATORS))}"
        )
    return TRANSLATORS[short](dict(init_kwargs))


def load_state_strict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], what: str) -> None:
    """Copy every tensor of ``state_dict`` into ``module``; missing or extra entries are an error."""
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    extra = [k for k in state_dict if k not in own]
    if missing or extra:
        raise CheckpointError(
            f"{what}: state dict does not fit the network built from its kwargs "
            f"(missing: {missing[:5]}{'...' if len(missing) > 5 else ''}; "
            f"unexpected: {extra[:5]}{'...' if len(extra) > 5 else ''})"
        )
    for name, tensor in state_dict.items():
        tensor = torch.as_tensor(tensor)
        if tuple(tensor.shape) != tuple(own[name].shape):
            raise CheckpointError(
                f"{what}: {name} has shape {tuple(tensor.shape)}, expected {tuple(own[name].shape)}"
            )
    module.load_state_dict({k: torch.as_tensor(v).to(torch.float32) for k, v in state_dict.items()}, strict=True)


def import_official(class_name: str, init_kwargs: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]):
    """Build our equivalent of an official network and load its weights (float32, eval mode)."""
    kind, config = translate_official(class_name, init_kwargs)
    module = build(kind, config)
    load_state_strict(module, state_dict, class_name)
    return module.eval()


import stylegan.io.official_stylegan3  # noqa: E402, F401  (registers networks_stylegan3.Generator)
