"""Our StyleGAN2 networks -> a rosinality/stylegan2-pytorch checkpoint.

The inverse of ``stylegan.io.rosinality``, through the same name tables (``generator_names``,
``discriminator_names``). The file is what rosinality's ``convert_weight.py`` writes:
``torch.save({"g_ema", "latent_avg"[, "g"][, "d"], "args"})``, each a state dict that its
``Generator(size, style_dim, n_mlp, channel_multiplier, lr_mlp=...)`` /
``Discriminator(size, channel_multiplier)`` load with ``load_state_dict`` (blur kernels and noise
maps included); ``args`` (an ``argparse.Namespace``) records those constructor arguments.

rosinality's networks are StyleGAN2 config F: what they cannot hold is refused by name (StyleGAN1
and StyleGAN3 networks, labels, other architectures, activations, filters, channel counts off its
fixed table, ...). ``conv_clamp`` (activations clamped to +-256, the official PyTorch default) has
no rosinality counterpart; it is refused unless ``drop_conv_clamp`` (the clamp is rarely reached
in float32, but outputs can differ where it is). ``num_fp16_res`` is a precision choice, not a
weight: rosinality computes in float32.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import torch
from torch import nn

from stylegan.errors import CheckpointError
from stylegan.io.rosinality import (
    discriminator_kernel_names,
    discriminator_names,
    generator_kernel_names,
    generator_names,
    rosinality_shape,
)

ROSINALITY_CHANNELS = {4: 512, 8: 512, 16: 512, 32: 512}  # then 16384 * channel_multiplier // r
KEYS = {"G": "g", "G_ema": "g_ema", "D": "d"}


def rosinality_channels(resolution: int, channel_multiplier: int) -> int:
    """Channels at ``resolution`` in rosinality's ``Generator``/``Discriminator``."""
    return ROSINALITY_CHANNELS.get(resolution, 16384 * channel_multiplier // resolution)


def _channel_multiplier(what: str, channels: Mapping[int, int]) -> int:
    for cm in (2, 1, 4, 8):  # 2 (config F) first: networks at 32 px or less fit every multiplier
        if all(rosinality_channels(r, cm) == c for r, c in channels.items()):
            return cm
    raise CheckpointError(
        f"{what}: its channel counts {dict(sorted(channels.items()))} are not those of rosinality's networks "
        "(512 up to 32 px, then 16384 * channel_multiplier / resolution), which it fixes in code"
    )


def _refuse(what: str, cfg, checks: list[tuple[str, object]]) -> None:
    for name, want in checks:
        value = cfg
        for part in name.split("."):
            value = getattr(value, part)
        if value != want:
            raise CheckpointError(
                f"{what}: {name}={value!r} cannot be represented in rosinality/stylegan2-pytorch "
                f"(it supports only {name}={want!r})"
            )


def _kernel(resample_filter, kind: str) -> torch.Tensor:
    k = torch.as_tensor(resample_filter, dtype=torch.float32)
    k2 = torch.outer(k, k)
    k2 = k2 / k2.sum()  # rosinality's make_kernel
    return k2 * 4 if kind == "up" else k2


def _check_common(what: str, module: nn.Module, drop_conv_clamp: bool) -> None:
    kind = getattr(module, "kind", "")
    if kind not in ("stylegan2.generator", "stylegan2.discriminator"):
        raise CheckpointError(
            f"{what}: a {kind or type(module).__name__} network cannot be written as a "
            "rosinality/stylegan2-pytorch checkpoint (it holds StyleGAN2 networks only)"
        )
    cfg = module.config
    if cfg.conv_clamp is not None and not drop_conv_clamp:
        raise CheckpointError(
            f"{what}: conv_clamp={cfg.conv_clamp!r} has no counterpart in rosinality/stylegan2-"
            "pytorch; pass --drop-conv-clamp to write it without the clamp"
        )
    _refuse(what, cfg, [("c_dim", 0), ("img_channels", 3), ("activation", "lrelu"), ("resample_filter", (1, 3, 3, 1))])


def generator_state(
    G: nn.Module, what: str = "generator", drop_conv_clamp: bool = False
) -> tuple[dict[str, torch.Tensor], dict]:
    """(rosinality ``Generator`` state dict, its constructor arguments) holding ``G``'s weights."""
    _check_common(what, G, drop_conv_clamp)
    cfg = G.config
    _refuse(
        what,
        cfg,
        [
            ("architecture", "skip"),
            ("use_noise", True),
            ("kernel_size", 3),
            ("mapping.activation", "lrelu"),
            ("fourier_input", False),
            ("magnitude_ema_beta", None),
        ],
    )  # embed_features only matters with labels (refused)
    if cfg.mapping.layer_features not in (None, cfg.w_dim):
        raise CheckpointError(
            f"{what}: mapping.layer_features={cfg.mapping.layer_features} cannot be represented in "
            f"rosinality/stylegan2-pytorch (its mapping layers have style_dim={cfg.w_dim} features)"
        )
    if cfg.z_dim != cfg.w_dim:
        raise CheckpointError(
            f"{what}: z_dim={cfg.z_dim} differs from w_dim={cfg.w_dim}; rosinality's mapping has one style_dim for both"
        )
    own = {k: v.detach().to("cpu", torch.float32) for k, v in G.state_dict().items()}
    resolutions = G.synthesis.block_resolutions
    channels = {r: own[f"synthesis.b{r}.conv1.weight"].shape[0] for r in resolutions}
    cm = _channel_multiplier(what, channels)
    num_up = len(resolutions) - 1
    sd = {
        theirs: own[ours].reshape(rosinality_shape(layout, tuple(own[ours].shape))).clone()
        for ours, theirs, layout in generator_names(cfg.mapping.num_layers, num_up)
    }
    sd.update({name: _kernel(cfg.resample_filter, kind) for name, kind in generator_kernel_names(num_up)})
    args = dict(
        size=cfg.img_resolution,
        latent=cfg.w_dim,
        n_mlp=cfg.mapping.num_layers,
        channel_multiplier=cm,
        lr_mlp=float(cfg.mapping.lr_multiplier),
    )
    return sd, args


def discriminator_state(
    D: nn.Module, what: str = "discriminator", drop_conv_clamp: bool = False
) -> tuple[dict[str, torch.Tensor], dict]:
    """(rosinality ``Discriminator`` state dict, its constructor arguments) holding ``D``'s weights."""
    _check_common(what, D, drop_conv_clamp)
    cfg = D.config
    _refuse(what, cfg, [("architecture", "resnet"), ("mbstd_group_size", 4), ("mbstd_num_channels", 1)])
    own = {k: v.detach().to("cpu", torch.float32) for k, v in D.state_dict().items()}
    resolution = cfg.img_resolution
    channels = {r: own[f"b{r}.conv1.weight"].shape[1] for r in D.block_resolutions}
    channels[4] = own["b4.conv.weight"].shape[0]
    cm = _channel_multiplier(what, channels)
    sd = {
        theirs: own[ours].reshape(rosinality_shape(layout, tuple(own[ours].shape))).clone()
        for ours, theirs, layout in discriminator_names(resolution)
    }
    sd.update({name: _kernel(cfg.resample_filter, kind) for name, kind in discriminator_kernel_names(resolution)})
    return sd, dict(size=resolution, channel_multiplier=cm)


def rosinality_checkpoint(networks: Mapping[str, nn.Module], drop_conv_clamp: bool = False) -> dict:
    """The checkpoint dict of ``networks`` (names ``G``, ``G_ema``, ``D``; a lone ``G`` is written as
    ``g_ema``, the generator rosinality's tools sample from)."""
    gens = {n: m for n, m in networks.items() if n in ("G", "G_ema")}
    if not gens:
        raise CheckpointError("a rosinality checkpoint needs a generator; the source holds only a discriminator")
    if "G_ema" not in gens:
        gens = {"G_ema": gens["G"]}
    ckpt: dict = {}
    args: dict = {}
    for name, G in gens.items():
        ckpt[KEYS[name]], args = generator_state(G, name, drop_conv_clamp)
    ckpt["latent_avg"] = gens["G_ema"].mapping.w_avg.detach().to("cpu", torch.float32).clone()
    if "D" in networks:
        ckpt["d"], d_args = discriminator_state(networks["D"], "D", drop_conv_clamp)
        if (d_args["size"], d_args["channel_multiplier"]) != (args["size"], args["channel_multiplier"]) and args[
            "size"
        ] > 32:
            raise CheckpointError(f"D: its size/channel_multiplier {d_args} differ from the generator's {args}")
        if (d_args["size"]) != args["size"]:
            raise CheckpointError(f"D: resolution {d_args['size']} differs from the generator's {args['size']}")
    ckpt["args"] = argparse.Namespace(arch="stylegan2", **args)
    return ckpt
