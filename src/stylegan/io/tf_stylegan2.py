"""Official TensorFlow StyleGAN2 networks (NVlabs/stylegan2, pickle version 4; StyleGAN2-ADA
TensorFlow, version 5) -> our StyleGAN2 networks.

The conversion is the one NVIDIA's PyTorch port applies to these files: static kwargs become the
constructor kwargs of the official PyTorch classes, TF variables become their state dict
(conv weights [kh, kw, in, out] -> [out, in, kh, kw], the up-sampling convs spatially flipped,
dense weights transposed, style biases + 1, per-layer noise maps and strengths). Every TF
variable must be used and every kwarg understood; anything else is an error naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from stylegan.errors import CheckpointError
from stylegan.io.official import translate_official
from stylegan.io.translate import Entries, KwargReader, load_state_strict
from stylegan.io.unpickle import TFNetwork
from stylegan.models.registry import build

GENERATOR_FUNCS = {"G_main"}
SYNTHESIS_FUNCS = {"G_synthesis_stylegan2", "G_synthesis"}  # v4, v5 (StyleGAN2-ADA)
MAPPING_FUNCS = {"G_mapping"}
DISCRIMINATOR_FUNCS = {"D_stylegan2", "D_main"}

# Kwargs that only steer training or sampling defaults: read and dropped.
_G_RUNTIME_KWARGS = {
    "truncation_psi",
    "truncation_cutoff",
    "truncation_psi_val",
    "truncation_cutoff_val",
    "style_mixing_prob",
    "structure",
    "conditioning",
    "fused_modconv",
    "randomize_noise",
}
_D_RUNTIME_KWARGS = {"structure", "conditioning"}


def _kwargs(what: str, kwargs: Mapping[str, Any]) -> KwargReader:
    return KwargReader(what, kwargs, source="TensorFlow")


def _variables(what: str, variables: dict[str, np.ndarray]) -> Entries:
    return Entries(what, variables, noun="TensorFlow variable", nouns="TensorFlow variable(s)")


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float32, order="C", copy=True))


def _conv(w: np.ndarray, flip: bool = False) -> torch.Tensor:
    """TF conv weight [kh, kw, in, out] -> [out, in, kh, kw]; ``flip`` mirrors it spatially (the
    TF up-sampling convolution runs a transposed conv with the flipped kernel)."""
    if flip:
        w = w[::-1, ::-1]
    return _tensor(w.transpose(3, 2, 0, 1))


def _dense(w: np.ndarray) -> torch.Tensor:
    """TF dense weight [in, out] -> [out, in]."""
    return _tensor(w.transpose())


def _check_func(net: TFNetwork, allowed: set[str], what: str) -> None:
    if net.build_func_name not in allowed:
        raise CheckpointError(
            f"{what}: unsupported TensorFlow network {net.build_func_name!r} (supported: {', '.join(sorted(allowed))})"
        )


def _check_version(net: TFNetwork, what: str) -> None:
    if net.version not in (4, 5):
        raise CheckpointError(f"{what}: a StyleGAN2 TensorFlow network has pickle version 4 or 5, not {net.version}")


# --------------------------------------------------------------------------------------------
# Generator


def generator_kwargs(tf: TFNetwork) -> dict[str, Any]:
    """Constructor kwargs of the official PyTorch ``networks_stylegan2.Generator`` for a TF ``G_main``."""
    k = _kwargs(f"TensorFlow generator {tf.name!r}", tf.static_kwargs)
    kwargs = dict(
        z_dim=k.get("latent_size", 512),
        c_dim=k.get("label_size", 0),
        w_dim=k.get("dlatent_size", 512),
        img_resolution=k.get("resolution", 1024),
        img_channels=k.get("num_channels", 3),
        channel_base=k.get("fmap_base", 16384) * 2,
        channel_max=k.get("fmap_max", 512),
        num_fp16_res=k.get("num_fp16_res", 0),
        conv_clamp=k.get("conv_clamp", None),
        architecture=k.get("architecture", "skip"),
        resample_filter=k.get("resample_kernel", [1, 3, 3, 1]),
        use_noise=k.get("use_noise", True),
        activation=k.get("nonlinearity", "lrelu"),
        mapping_kwargs=dict(
            num_layers=k.get("mapping_layers", 8),
            embed_features=k.get("label_fmaps", None),
            layer_features=k.get("mapping_fmaps", None),
            activation=k.get("mapping_nonlinearity", "lrelu"),
            lr_multiplier=k.get("mapping_lrmul", 0.01),
            w_avg_beta=k.get("w_avg_beta", k.get("dlatent_avg_beta", 0.995), none=1),
        ),
    )
    for name, allowed in (("mapping_func", MAPPING_FUNCS), ("synthesis_func", SYNTHESIS_FUNCS)):
        value = k.get(name, None)
        if value is not None and value not in allowed:
            raise CheckpointError(f"TensorFlow generator {tf.name!r}: unsupported {name} {value!r}")
    k.finish(ignore=_G_RUNTIME_KWARGS)
    return kwargs


def _tf_resolutions(img_resolution: int) -> list[int]:
    log2 = int(np.log2(img_resolution))
    if 2**log2 != img_resolution or log2 < 2:
        raise CheckpointError(f"unsupported resolution {img_resolution} (a power of two >= 4)")
    return [2**i for i in range(2, log2 + 1)]


def generator_state(tf: TFNetwork, kwargs: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The TF generator's weights under the official PyTorch names (buffers made by the
    constructor, i.e. the resampling filters, are not included)."""
    what = f"TensorFlow generator {tf.name!r}"
    v = _variables(what, tf.all_variables())
    # Renamed ToRGB of the original progressive-growing layout: means the 'orig' architecture.
    for name in list(v.entries):
        m = re.fullmatch(r"synthesis/ToRGB_lod(\d+)/(.*)", name)
        if m:
            r = kwargs["img_resolution"] // 2 ** int(m.group(1))
            v.entries[f"synthesis/{r}x{r}/ToRGB/{m.group(2)}"] = v.entries.pop(name)
            kwargs["architecture"] = "orig"
    v.ignore(r"(.*/)?lod")
    mk = kwargs["mapping_kwargs"]
    sd: dict[str, torch.Tensor] = {}
    if "dlatent_avg" in v:
        sd["mapping.w_avg"] = _tensor(v.take("dlatent_avg"))
    if kwargs["c_dim"] > 0:
        sd["mapping.embed.weight"] = _dense(v.take("mapping/LabelEmbed/weight"))
        sd["mapping.embed.bias"] = _tensor(v.take("mapping/LabelEmbed/bias"))
    for i in range(mk["num_layers"]):
        sd[f"mapping.fc{i}.weight"] = _dense(v.take(f"mapping/Dense{i}/weight"))
        sd[f"mapping.fc{i}.bias"] = _tensor(v.take(f"mapping/Dense{i}/bias"))

    def modulated(torch_name: str, tf_name: str, flip: bool, noise_index: int | None):
        sd[f"{torch_name}.weight"] = _conv(v.take(f"{tf_name}/weight"), flip)
        sd[f"{torch_name}.bias"] = _tensor(v.take(f"{tf_name}/bias"))
        sd[f"{torch_name}.affine.weight"] = _dense(v.take(f"{tf_name}/mod_weight"))
        # TF adds 1 to the style at run time; the PyTorch layer initialises its bias to 1 instead.
        sd[f"{torch_name}.affine.bias"] = _tensor(v.take(f"{tf_name}/mod_bias") + np.float32(1))
        if noise_index is not None:
            sd[f"{torch_name}.noise_strength"] = _tensor(v.take(f"{tf_name}/noise_strength"))
            sd[f"{torch_name}.noise_const"] = _tensor(v.take(f"synthesis/noise{noise_index}")[0, 0])

    use_noise = bool(kwargs["use_noise"])
    if not use_noise:
        v.ignore(r"synthesis/noise\d+")
    for res in _tf_resolutions(kwargs["img_resolution"]):
        tf_block, block = f"synthesis/{res}x{res}", f"synthesis.b{res}"
        log2 = int(np.log2(res))
        if res == 4:
            sd[f"{block}.const"] = _tensor(v.take(f"{tf_block}/Const/const")[0])
            modulated(f"{block}.conv1", f"{tf_block}/Conv", False, 0 if use_noise else None)
        else:
            modulated(f"{block}.conv0", f"{tf_block}/Conv0_up", True, 2 * log2 - 5 if use_noise else None)
            modulated(f"{block}.conv1", f"{tf_block}/Conv1", False, 2 * log2 - 4 if use_noise else None)
            if kwargs["architecture"] == "resnet":
                sd[f"{block}.skip.weight"] = _conv(v.take(f"{tf_block}/Skip/weight"), flip=True)
        if kwargs["architecture"] == "skip" or res == kwargs["img_resolution"]:
            sd[f"{block}.torgb.weight"] = _conv(v.take(f"{tf_block}/ToRGB/weight"))
            sd[f"{block}.torgb.bias"] = _tensor(v.take(f"{tf_block}/ToRGB/bias"))
            sd[f"{block}.torgb.affine.weight"] = _dense(v.take(f"{tf_block}/ToRGB/mod_weight"))
            sd[f"{block}.torgb.affine.bias"] = _tensor(v.take(f"{tf_block}/ToRGB/mod_bias") + np.float32(1))
    v.finish()
    return sd


def convert_generator(tf: TFNetwork) -> tuple[str, dict[str, Any], dict[str, torch.Tensor]]:
    """(official class name, official kwargs, state dict without constructor buffers) of a TF generator."""
    what = f"TensorFlow generator {tf.name!r}"
    _check_version(tf, what)
    _check_func(tf, GENERATOR_FUNCS, what)
    if set(tf.components) != {"synthesis", "mapping"}:
        raise CheckpointError(f"{what}: expected the components synthesis and mapping, found {sorted(tf.components)}")
    _check_func(tf.components["synthesis"], SYNTHESIS_FUNCS, what)
    _check_func(tf.components["mapping"], MAPPING_FUNCS, what)
    kwargs = generator_kwargs(tf)
    state = generator_state(tf, kwargs)
    return "networks_stylegan2.Generator", kwargs, state


# --------------------------------------------------------------------------------------------
# Discriminator


def discriminator_kwargs(tf: TFNetwork) -> dict[str, Any]:
    """Constructor kwargs of the official PyTorch ``networks_stylegan2.Discriminator`` for a TF D."""
    k = _kwargs(f"TensorFlow discriminator {tf.name!r}", tf.static_kwargs)
    activation = k.get("nonlinearity", "lrelu")
    kwargs = dict(
        c_dim=k.get("label_size", 0),
        img_resolution=k.get("resolution", 1024),
        img_channels=k.get("num_channels", 3),
        architecture=k.get("architecture", "resnet"),
        channel_base=k.get("fmap_base", 16384) * 2,
        channel_max=k.get("fmap_max", 512),
        num_fp16_res=k.get("num_fp16_res", 0),
        conv_clamp=k.get("conv_clamp", None),
        cmap_dim=k.get("mapping_fmaps", None),
        block_kwargs=dict(
            activation=activation,
            resample_filter=k.get("resample_kernel", [1, 3, 3, 1]),
            freeze_layers=k.get("freeze_layers", 0),
        ),
        mapping_kwargs=dict(
            num_layers=k.get("mapping_layers", 0),
            embed_features=k.get("mapping_fmaps", None),
            layer_features=k.get("mapping_fmaps", None),
            activation=activation,
            lr_multiplier=k.get("mapping_lrmul", 0.1),
        ),
        epilogue_kwargs=dict(
            mbstd_group_size=k.get("mbstd_group_size", None),
            mbstd_num_channels=k.get("mbstd_num_features", 1),
            activation=activation,
        ),
    )
    k.finish(ignore=_D_RUNTIME_KWARGS)
    return kwargs


def discriminator_state(tf: TFNetwork, kwargs: dict[str, Any]) -> dict[str, torch.Tensor]:
    what = f"TensorFlow discriminator {tf.name!r}"
    v = _variables(what, tf.all_variables())
    for name in list(v.entries):
        m = re.fullmatch(r"FromRGB_lod(\d+)/(.*)", name)
        if m:
            r = kwargs["img_resolution"] // 2 ** int(m.group(1))
            v.entries[f"{r}x{r}/FromRGB/{m.group(2)}"] = v.entries.pop(name)
            kwargs["architecture"] = "orig"
    v.ignore(r"(.*/)?lod")
    sd: dict[str, torch.Tensor] = {}
    arch = kwargs["architecture"]
    top = kwargs["img_resolution"]
    for res in reversed(_tf_resolutions(top)[1:]):
        tf_block, block = f"{res}x{res}", f"b{res}"
        if res == top or arch == "skip":
            sd[f"{block}.fromrgb.weight"] = _conv(v.take(f"{tf_block}/FromRGB/weight"))
            sd[f"{block}.fromrgb.bias"] = _tensor(v.take(f"{tf_block}/FromRGB/bias"))
        for i, tf_layer in enumerate(("Conv0", "Conv1_down")):
            sd[f"{block}.conv{i}.weight"] = _conv(v.take(f"{tf_block}/{tf_layer}/weight"))
            sd[f"{block}.conv{i}.bias"] = _tensor(v.take(f"{tf_block}/{tf_layer}/bias"))
        if arch == "resnet":
            sd[f"{block}.skip.weight"] = _conv(v.take(f"{tf_block}/Skip/weight"))
    if kwargs["c_dim"] > 0:
        sd["mapping.embed.weight"] = _dense(v.take("LabelEmbed/weight"))
        sd["mapping.embed.bias"] = _tensor(v.take("LabelEmbed/bias"))
        for i in range(kwargs["mapping_kwargs"]["num_layers"]):
            sd[f"mapping.fc{i}.weight"] = _dense(v.take(f"Mapping{i}/weight"))
            sd[f"mapping.fc{i}.bias"] = _tensor(v.take(f"Mapping{i}/bias"))
    if arch == "skip":
        sd["b4.fromrgb.weight"] = _conv(v.take("4x4/FromRGB/weight"))
        sd["b4.fromrgb.bias"] = _tensor(v.take("4x4/FromRGB/bias"))
    sd["b4.conv.weight"] = _conv(v.take("4x4/Conv/weight"))
    sd["b4.conv.bias"] = _tensor(v.take("4x4/Conv/bias"))
    sd["b4.fc.weight"] = _dense(v.take("4x4/Dense0/weight"))
    sd["b4.fc.bias"] = _tensor(v.take("4x4/Dense0/bias"))
    sd["b4.out.weight"] = _dense(v.take("Output/weight"))
    sd["b4.out.bias"] = _tensor(v.take("Output/bias"))
    v.finish()
    return sd


def convert_discriminator(tf: TFNetwork) -> tuple[str, dict[str, Any], dict[str, torch.Tensor]]:
    """(official class name, official kwargs, state dict without constructor buffers) of a TF D."""
    what = f"TensorFlow discriminator {tf.name!r}"
    _check_version(tf, what)
    _check_func(tf, DISCRIMINATOR_FUNCS, what)
    if tf.components:
        raise CheckpointError(f"{what}: unexpected components {sorted(tf.components)}")
    kwargs = discriminator_kwargs(tf)
    state = discriminator_state(tf, kwargs)
    return "networks_stylegan2.Discriminator", kwargs, state


# --------------------------------------------------------------------------------------------
# Build our networks

CONSTRUCTOR_BUFFERS = ("resample_filter",)  # made by the constructor, not stored in TF files


def build_with_state(class_name: str, kwargs: dict[str, Any], state: dict[str, torch.Tensor], what: str) -> nn.Module:
    """Build our network for official ``class_name``/``kwargs`` and load ``state``; the resampling
    filter buffers come from the constructor, everything else must be in ``state``."""
    kind, config = translate_official(class_name, kwargs)
    module = build(kind, config)
    full = dict(state)
    for name, tensor in module.state_dict().items():
        if name not in full and name.rsplit(".", 1)[-1] in CONSTRUCTOR_BUFFERS:
            full[name] = tensor
    load_state_strict(module, full, what)
    return module.eval()


def import_tf_stylegan2(tf: TFNetwork) -> nn.Module:
    """Our ``StyleGAN2Generator`` for a TF StyleGAN2 generator (``G`` or ``Gs``)."""
    class_name, kwargs, state = convert_generator(tf)
    return build_with_state(class_name, kwargs, state, f"TensorFlow generator {tf.name!r}")


def import_tf_stylegan2_discriminator(tf: TFNetwork) -> nn.Module:
    """Our ``StyleGAN2Discriminator`` for a TF StyleGAN2 discriminator."""
    class_name, kwargs, state = convert_discriminator(tf)
    return build_with_state(class_name, kwargs, state, f"TensorFlow discriminator {tf.name!r}")
