"""Checkpoints of rosinality/stylegan2-pytorch -> our StyleGAN2 networks.

Its ``train.py`` saves ``torch.save({"g", "d", "g_ema", "g_optim", "d_optim", "args", "ada_aug_p"})``
and its ``convert_weight.py`` ``{"g_ema", "latent_avg"[, "g", "d"]}``. Files are read with
``torch.load(weights_only=True)``, which allows only tensors and plain containers; the one extra
class allowed is ``argparse.Namespace`` (the ``args``), rebuilt as an attribute bag without
running any of its code.

Its networks are StyleGAN2 config F (skip G, resnet D) with other names:

| rosinality | ours (official names) |
|---|---|
| ``style.{i+1}`` (EqualLinear, lr_mul 0.01) | ``mapping.fc{i}`` |
| ``input.input`` [1, C, 4, 4] | ``synthesis.b4.const`` [C, 4, 4] |
| ``conv1`` / ``convs.{2k}`` / ``convs.{2k+1}`` (StyledConv) | ``b4.conv1`` / ``b{8*2^k}.conv0`` / ``.conv1`` |
| ``.conv.weight`` [1, O, I, k, k], ``.conv.modulation`` | ``.weight`` [O, I, k, k], ``.affine`` |
| ``.noise.weight`` [1], ``.activate.bias`` | ``.noise_strength`` [], ``.bias`` |
| ``noises.noise_{j}`` [1, 1, r, r] | ``noise_const`` [r, r] of the j-th conv layer |
| ``to_rgb1`` / ``to_rgbs.{k}`` (bias [1, 3, 1, 1]) | ``b4.torgb`` / ``b{8*2^k}.torgb`` (bias [3]) |
| D ``convs.0`` (1x1 ConvLayer) | ``b{R}.fromrgb`` |
| D ``convs.{j}`` ResBlock ``conv1``, ``conv2``, ``skip`` | ``b{R/2^(j-1)}.conv0``, ``.conv1``, ``.skip`` |
| D ``final_conv``, ``final_linear.0``, ``final_linear.1`` | ``b4.conv``, ``b4.fc``, ``b4.out`` |

The computations agree: equalized-lr scales, fused leaky ReLU (gain sqrt 2) with the bias after
noise, [1,3,3,1] FIR up/down-sampling with the same padding (``Upsample`` = ``upsample2d``, the
transposed conv + blur of ``ModulatedConv2d`` = ``conv2d_resample``), minibatch stddev over groups
of min(N, 4). Two differences at float rounding level: rosinality demodulates the already scaled
weight (so its epsilon is ``1e-8`` on a sum ``fan_in`` times smaller) and divides the resnet sum
by sqrt(2) after adding instead of scaling both branches before.

rosinality's mapping keeps no running mean of w. ``latent_avg`` is used where the file has it;
otherwise w_avg is estimated as the mean of ``W_AVG_SAMPLES`` mapped z (seed 0), what its own
``mean_latent`` does for truncation.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stylegan.errors import CheckpointError
from stylegan.io.translate import Entries, load_state_strict
from stylegan.io.unpickle import load_torch_file
from stylegan.models.mapping import MappingConfig
from stylegan.models.stylegan2 import (
    StyleGAN2Discriminator,
    StyleGAN2DiscriminatorConfig,
    StyleGAN2Generator,
    StyleGAN2GeneratorConfig,
)

W_AVG_SAMPLES = 10_000
NETWORK_KEYS = {"g": "G", "g_ema": "G_ema", "d": "D"}


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """``torch.load`` with ``weights_only=True`` (plus ``argparse.Namespace``); refusals name the global."""
    obj = load_torch_file(path, "network checkpoint", allowed_globals=[argparse.Namespace])
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: a torch checkpoint holding a {type(obj).__name__}, not a dict of networks")
    return obj


def is_rosinality(ckpt: Mapping[str, Any]) -> bool:
    nets = [ckpt.get(k) for k in NETWORK_KEYS]
    return any(isinstance(n, Mapping) for n in nets) and all(n is None or isinstance(n, Mapping) for n in nets)


def _state_entries(what: str, sd: Mapping[str, Any]) -> Entries:
    """A rosinality state dict as ``Entries``: every value a tensor, read as float32."""
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(f"{what}: entry {k!r} is not a tensor")
    return Entries(
        what,
        {k: v.detach().to(torch.float32) for k, v in sd.items()},
        missing_hint=" (not a rosinality StyleGAN2 checkpoint?)",
    )


def _resample_filter(st: Entries, names: list[str]) -> tuple:
    """The 1-D FIR filter behind rosinality's 2-D blur kernels (all must agree)."""
    filt = None
    for name in names:
        k2 = st.take(name).to(torch.float64)
        k1 = k2.sum(dim=1) / k2.sum()  # the kernel is outer(k, k) / sum(k)^2 times a gain
        if not torch.allclose(torch.outer(k1, k1) * k2.sum(), k2, rtol=1e-5, atol=1e-7):
            raise CheckpointError(f"{st.what}: blur kernel {name} is not separable")
        if filt is not None and not torch.allclose(filt, k1, rtol=1e-5, atol=1e-7):
            raise CheckpointError(f"{st.what}: blur kernels differ between layers")
        filt = k1
    if filt is None:
        return (1, 3, 3, 1)
    ratio = filt / filt.min()
    if torch.allclose(ratio, ratio.round(), atol=1e-4):
        return tuple(int(x) for x in ratio.round().tolist())
    return tuple(float(x) for x in filt.tolist())


def _channel_config(what: str, channels: dict[int, int]) -> tuple[int, int]:
    """(channel_base, channel_max) with min(channel_base // r, channel_max) == channels[r] for every r."""
    channel_max = max(channels.values())
    below = sorted(r for r, c in channels.items() if c < channel_max)
    channel_base = channels[below[0]] * below[0] if below else channel_max * max(channels)
    if any(min(channel_base // r, channel_max) != c for r, c in channels.items()):
        raise CheckpointError(f"{what}: its channel counts {channels} follow no channel_base/channel_max rule")
    return channel_base, channel_max


def _arch_check(what: str, args: Any) -> None:
    arch = getattr(args, "arch", "stylegan2")
    if arch != "stylegan2":
        raise CheckpointError(f"{what}: rosinality architecture {arch!r} is not supported (only 'stylegan2')")


# --------------------------------------------------------------------------------------------
# The name tables, used in both directions (import here, export in stylegan.io.export_rosinality).
# A layout says how rosinality's tensor holds ours: "same"; "lead" one extra leading dimension of 1
# (conv weights [1, O, I, k, k], the constant input [1, C, 4, 4]); "noise" two ([1, 1, r, r]);
# "vector" a 0-d value as [1]; "rgb_bias" a bias [C] as [1, C, 1, 1].


def rosinality_shape(layout: str, ours: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of rosinality's tensor holding one of ours of shape ``ours``."""
    return {"same": ours, "lead": (1, *ours), "noise": (1, 1, *ours), "vector": (1,), "rgb_bias": (1, *ours, 1, 1)}[
        layout
    ]


def generator_names(n_mlp: int, num_up: int) -> list[tuple[str, str, str]]:
    """(our name, rosinality name, layout) of every weight of a rosinality ``Generator``; the noise
    maps (rosinality ``noises.noise_{j}``) last."""
    names = []
    for i in range(n_mlp):
        names += [
            (f"mapping.fc{i}.weight", f"style.{i + 1}.weight", "same"),
            (f"mapping.fc{i}.bias", f"style.{i + 1}.bias", "same"),
        ]
    names.append(("synthesis.b4.const", "input.input", "lead"))
    convs = [("synthesis.b4.conv1", "conv1")]
    rgbs = [("synthesis.b4.torgb", "to_rgb1")]
    for k in range(num_up):
        res = 8 * 2**k
        convs += [(f"synthesis.b{res}.conv0", f"convs.{2 * k}"), (f"synthesis.b{res}.conv1", f"convs.{2 * k + 1}")]
        rgbs.append((f"synthesis.b{res}.torgb", f"to_rgbs.{k}"))
    for ours, theirs in convs:
        names += [
            (f"{ours}.weight", f"{theirs}.conv.weight", "lead"),
            (f"{ours}.affine.weight", f"{theirs}.conv.modulation.weight", "same"),
            (f"{ours}.affine.bias", f"{theirs}.conv.modulation.bias", "same"),
            (f"{ours}.noise_strength", f"{theirs}.noise.weight", "vector"),
            (f"{ours}.bias", f"{theirs}.activate.bias", "same"),
        ]
    for ours, theirs in rgbs:
        names += [
            (f"{ours}.weight", f"{theirs}.conv.weight", "lead"),
            (f"{ours}.affine.weight", f"{theirs}.conv.modulation.weight", "same"),
            (f"{ours}.affine.bias", f"{theirs}.conv.modulation.bias", "same"),
            (f"{ours}.bias", f"{theirs}.bias", "rgb_bias"),
        ]
    names += [(f"{ours}.noise_const", f"noises.noise_{j}", "noise") for j, (ours, _) in enumerate(convs)]
    return names


def generator_kernel_names(num_up: int) -> list[tuple[str, str]]:
    """(rosinality buffer, kind) of the blur kernels of a ``Generator``: ``up`` = make_kernel(k) * 4."""
    return [(f"convs.{2 * k}.conv.blur.kernel", "up") for k in range(num_up)] + [
        (f"to_rgbs.{k}.upsample.kernel", "up") for k in range(num_up)
    ]


def discriminator_names(resolution: int) -> list[tuple[str, str, str]]:
    """(our name, rosinality name, layout) of every weight of a rosinality ``Discriminator``."""
    names = [
        (f"b{resolution}.fromrgb.weight", "convs.0.0.weight", "same"),
        (f"b{resolution}.fromrgb.bias", "convs.0.1.bias", "same"),
    ]
    num_blocks = int(math.log2(resolution)) - 2
    for j in range(1, num_blocks + 1):
        b = f"b{resolution // 2 ** (j - 1)}"
        names += [
            (f"{b}.conv0.weight", f"convs.{j}.conv1.0.weight", "same"),
            (f"{b}.conv0.bias", f"convs.{j}.conv1.1.bias", "same"),
            (f"{b}.conv1.weight", f"convs.{j}.conv2.1.weight", "same"),
            (f"{b}.conv1.bias", f"convs.{j}.conv2.2.bias", "same"),
            (f"{b}.skip.weight", f"convs.{j}.skip.1.weight", "same"),
        ]
    names += [
        ("b4.conv.weight", "final_conv.0.weight", "same"),
        ("b4.conv.bias", "final_conv.1.bias", "same"),
        ("b4.fc.weight", "final_linear.0.weight", "same"),
        ("b4.fc.bias", "final_linear.0.bias", "same"),
        ("b4.out.weight", "final_linear.1.weight", "same"),
        ("b4.out.bias", "final_linear.1.bias", "same"),
    ]
    return names


def discriminator_kernel_names(resolution: int) -> list[tuple[str, str]]:
    """(rosinality buffer, kind) of the blur kernels of a ``Discriminator``: ``down`` = make_kernel(k)."""
    num_blocks = int(math.log2(resolution)) - 2
    return [(f"convs.{j}.{n}.0.kernel", "down") for j in range(1, num_blocks + 1) for n in ("conv2", "skip")]


def _take_all(
    st: Entries, names: list[tuple[str, str, str]], own: Mapping[str, torch.Tensor], out: dict[str, torch.Tensor]
) -> None:
    for ours, theirs, layout in names:
        tensor = st.take(theirs)
        want = rosinality_shape(layout, tuple(own[ours].shape))
        if tuple(tensor.shape) != want:
            raise CheckpointError(f"{st.what}: {theirs} has shape {tuple(tensor.shape)}, expected {want}")
        out[ours] = tensor.reshape(own[ours].shape)


def convert_generator(
    sd: Mapping[str, torch.Tensor],
    what: str = "rosinality generator",
    lr_mlp: float = 0.01,
    latent_avg: torch.Tensor | None = None,
) -> StyleGAN2Generator:
    """Our StyleGAN2 generator with the weights of a rosinality ``Generator`` state dict."""
    st = _state_entries(what, sd)
    n_mlp = 0
    while f"style.{n_mlp + 1}.weight" in st:
        n_mlp += 1
    if n_mlp == 0 or "input.input" not in st:
        raise CheckpointError(f"{what}: not a rosinality StyleGAN2 generator (no style.1 / input.input)")
    style_dim = st.entries["style.1.weight"].shape[1]
    num_up = 0
    while f"convs.{2 * num_up}.conv.weight" in st:
        num_up += 1
    resolution = 4 * 2**num_up
    channels = {4: st.entries["input.input"].shape[1]}
    for k in range(num_up):
        channels[8 * 2**k] = st.entries[f"convs.{2 * k}.conv.weight"].shape[1]
    channel_base, channel_max = _channel_config(what, channels)
    resample_filter = _resample_filter(st, [n for n, _ in generator_kernel_names(num_up) if n in st])
    img_channels = st.entries["to_rgb1.conv.weight"].shape[1] if "to_rgb1.conv.weight" in st else 3
    cfg = StyleGAN2GeneratorConfig(
        z_dim=style_dim,
        c_dim=0,
        w_dim=style_dim,
        img_resolution=resolution,
        img_channels=img_channels,
        mapping=MappingConfig(num_layers=n_mlp, lr_multiplier=lr_mlp, w_avg_beta=0.995),
        channel_base=channel_base,
        channel_max=channel_max,
        num_fp16_res=0,
        conv_clamp=None,
        architecture="skip",
        resample_filter=resample_filter,
    )
    G = StyleGAN2Generator(cfg)
    own = G.state_dict()
    out: dict[str, torch.Tensor] = {}
    names = generator_names(n_mlp, num_up)
    noise = [entry for entry in names if entry[2] == "noise"]
    _take_all(st, [entry for entry in names if entry[2] != "noise"], own, out)
    if "noises.noise_0" in st:
        _take_all(st, noise, own, out)
    else:  # older versions stored no noise maps: fixed ones from seed 0
        fixed_noise = torch.Generator().manual_seed(0)
        for ours, _, _ in noise:
            out[ours] = torch.randn(own[ours].shape, generator=fixed_noise)
    st.finish()
    for name, tensor in own.items():
        if name.endswith("resample_filter"):
            out[name] = tensor
    out["mapping.w_avg"] = torch.zeros(style_dim)
    load_state_strict(G, out, what)
    with torch.no_grad():
        if latent_avg is not None:
            if latent_avg.numel() != style_dim:
                raise CheckpointError(f"{what}: latent_avg has {latent_avg.numel()} values, expected {style_dim}")
            G.mapping.w_avg.copy_(latent_avg.reshape([-1]).to(torch.float32))
        else:
            G.mapping.w_avg.copy_(estimate_w_avg(G))
    return G.eval()


@torch.no_grad()
def estimate_w_avg(G: nn.Module, num: int = W_AVG_SAMPLES, seed: int = 0, batch: int = 2000) -> torch.Tensor:
    """Mean of the mapping output over ``num`` z ~ N(0, I) drawn with ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros(G.w_dim, dtype=torch.float64)
    done = 0
    while done < num:
        n = min(batch, num - done)
        z = torch.randn([n, G.z_dim], generator=gen)
        total += G.mapping(z, None)[:, 0].sum(0).double()
        done += n
    return (total / num).to(torch.float32)


def convert_discriminator(
    sd: Mapping[str, torch.Tensor], what: str = "rosinality discriminator", stddev_group: int = 4
) -> StyleGAN2Discriminator:
    """Our StyleGAN2 (resnet) discriminator with the weights of a rosinality ``Discriminator``."""
    st = _state_entries(what, sd)
    if "convs.0.0.weight" not in st or "final_linear.1.weight" not in st:
        raise CheckpointError(f"{what}: not a rosinality StyleGAN2 discriminator (no convs.0 / final_linear)")
    num_blocks = 0
    while f"convs.{num_blocks + 1}.conv1.0.weight" in st:
        num_blocks += 1
    resolution = 4 * 2**num_blocks
    channels = {resolution: st.entries["convs.0.0.weight"].shape[0]}
    for j in range(1, num_blocks + 1):
        channels[resolution // 2**j] = st.entries[f"convs.{j}.conv2.1.weight"].shape[0]
    channel_base, channel_max = _channel_config(what, channels)
    resample_filter = _resample_filter(st, [n for n, _ in discriminator_kernel_names(resolution) if n in st])
    cfg = StyleGAN2DiscriminatorConfig(
        c_dim=0,
        img_resolution=resolution,
        img_channels=st.entries["convs.0.0.weight"].shape[1],
        architecture="resnet",
        channel_base=channel_base,
        channel_max=channel_max,
        num_fp16_res=0,
        conv_clamp=None,
        resample_filter=resample_filter,
        mbstd_group_size=stddev_group,
        mbstd_num_channels=1,
    )
    D = StyleGAN2Discriminator(cfg)
    out: dict[str, torch.Tensor] = {}
    _take_all(st, discriminator_names(resolution), D.state_dict(), out)
    st.finish()
    for name, tensor in D.state_dict().items():
        if name.endswith("resample_filter"):
            out[name] = tensor
    load_state_strict(D, out, what)
    return D.eval()


def rosinality_networks(path: str | Path, ckpt: Mapping[str, Any]) -> dict[str, Callable[[], nn.Module]]:
    """Builders of the networks in a rosinality checkpoint, by our names ``G``, ``G_ema``, ``D``."""
    if not is_rosinality(ckpt):
        raise CheckpointError(
            f"{path} is a torch checkpoint but not a rosinality/stylegan2-pytorch one "
            f"(keys: {', '.join(sorted(map(str, ckpt)))[:200]})"
        )
    args = ckpt.get("args")
    _arch_check(str(path), args)
    lr_mlp = float(getattr(args, "lr_mlp", 0.01))
    latent_avg = ckpt.get("latent_avg")
    if latent_avg is not None and not isinstance(latent_avg, torch.Tensor):
        raise CheckpointError(f"{path}: latent_avg is not a tensor")
    builders: dict[str, Callable[[], nn.Module]] = {}
    for key, name in NETWORK_KEYS.items():
        sd = ckpt.get(key)
        if sd is None:
            continue
        what = f"{path} [{key}]"
        if name == "D":
            builders[name] = lambda sd=sd, what=what: convert_discriminator(sd, what)
        else:
            # latent_avg (from convert_weight.py) is the official dlatent_avg of the EMA generator.
            avg = latent_avg if name == "G_ema" or "g_ema" not in ckpt else None
            builders[name] = lambda sd=sd, what=what, avg=avg: convert_generator(sd, what, lr_mlp, avg)
    return builders
