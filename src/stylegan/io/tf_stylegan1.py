"""Import official StyleGAN (v1) TensorFlow networks (NVlabs/stylegan ``G_style`` / ``D_basic``).

The input is a network record as the TensorFlow pickle reader produces it (any object with
``name``, ``version``, ``static_kwargs``, ``components``, ``build_func_name`` and ``variables``, a
name -> numpy array mapping). ``import_tf_stylegan1(Gs)`` returns a ``StyleGAN1Generator`` and
``import_tf_stylegan1_discriminator(D)`` a ``StyleGAN1Discriminator`` whose outputs match the
official ones (images to about 1e-5, checked against outputs of the official code).

Conversion rules: conv weights [kh, kw, in, out] -> [out, in, kh, kw] (no flip: both run as
correlations); dense weights [in, out] -> [out, in]; the mapping layers' biases are divided by
sqrt(2) (the official dense layer applies the He gain to the weight only, ours after the activation:
lrelu(sqrt(2) a + b) = sqrt(2) lrelu(a + b / sqrt(2))); ``noise<i>`` [1, 1, r, r] -> the layer's
``noise_const``; ``lod`` -> the ``lod`` buffer; ``dlatent_avg`` -> ``mapping.w_avg``.
``stylegan.io.tf_import`` picks the importer of any official TensorFlow network.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from stylegan.errors import CheckpointError
from stylegan.io.translate import Entries, KwargReader, load_state_strict
from stylegan.models.mapping import MappingConfig
from stylegan.models.stylegan1 import (
    StyleGAN1Discriminator,
    StyleGAN1DiscriminatorConfig,
    StyleGAN1Generator,
    StyleGAN1GeneratorConfig,
)

# Keyword arguments of the official functions that only steer a TF graph at run time or during
# training; they do not change the weights or what the network computes.
_RUNTIME_KWARGS = (
    "randomize_noise",
    "truncation_psi",
    "truncation_cutoff",
    "truncation_psi_val",
    "truncation_cutoff_val",
    "style_mixing_prob",
    "is_training",
    "is_validation",
    "is_template_graph",
    "force_clean_graph",
    "dtype",
    "dlatent_broadcast",
)


def _variables(net) -> dict[str, np.ndarray]:
    variables = net.variables
    if not isinstance(variables, Mapping):
        variables = dict(variables)
    return {str(k): np.asarray(v, dtype=np.float32) for k, v in variables.items()}


def _require(reader: KwargReader, name: str, expected: Any, default: Any) -> None:
    value = reader.pop(name, default)
    if value != expected:
        raise CheckpointError(f"{reader.class_name}: {name}={value!r} is not supported (only {expected!r})")


def _progressive(reader: KwargReader) -> bool:
    structure = reader.pop("structure", "auto")
    if structure not in ("fixed", "linear", "recursive", "auto"):
        raise CheckpointError(f"{reader.class_name}: unknown structure {structure!r}")
    return structure != "fixed"


def _blur(value) -> tuple[int, ...] | None:
    if not value:
        return None
    return tuple(int(v) if float(v).is_integer() else float(v) for v in value)


def _check_build_func(net, expected: str) -> None:
    name = str(getattr(net, "build_func_name", "")).split(".")[-1]
    if name != expected:
        raise CheckpointError(f"TensorFlow network {getattr(net, 'name', '?')!r} is a {name!r}, not a {expected!r}")


def _variables_read(what: str, variables: Mapping[str, np.ndarray]) -> Entries:
    """The TF variables of one network as ``Entries``: the importer marks what it translates."""
    return Entries(what, variables, noun="TensorFlow variable", nouns="TensorFlow variable(s)")


def _tensor(v: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(v, dtype=np.float32, order="C"))  # keeps 0-d arrays 0-d


def _conv(w: np.ndarray) -> torch.Tensor:
    return _tensor(w.transpose(3, 2, 0, 1))


def _dense(w: np.ndarray) -> torch.Tensor:
    return _tensor(w.T)


# --------------------------------------------------------------------------------------------
# Generator


def generator_config_from_tf(static_kwargs: Mapping[str, Any]) -> StyleGAN1GeneratorConfig:
    """Our generator config for the static kwargs of an official ``G_style`` network."""
    r = KwargReader("G_style", static_kwargs)
    for name in _RUNTIME_KWARGS:
        r.pop(name)
    if int(r.pop("label_size", 0)) != 0:
        raise CheckpointError("G_style: conditional StyleGAN (v1) networks (label_size > 0) are not supported")
    _require(r, "use_wscale", True, True)
    _require(r, "normalize_latents", True, True)
    _require(r, "mapping_nonlinearity", "lrelu", "lrelu")
    _require(r, "nonlinearity", "lrelu", "lrelu")
    _require(r, "use_styles", True, True)
    _require(r, "const_input_layer", True, True)
    _require(r, "use_pixel_norm", False, False)
    _require(r, "use_instance_norm", True, True)
    beta = r.pop("dlatent_avg_beta", 0.995)
    w_dim = int(r.pop("dlatent_size", 512))
    mapping = MappingConfig(
        num_layers=int(r.pop("mapping_layers", 8)),
        layer_features=int(r.pop("mapping_fmaps", 512)),
        lr_multiplier=float(r.pop("mapping_lrmul", 0.01)),
        w_avg_beta=None if beta is None or beta == 1 else float(beta),
    )
    fused = r.pop("fused_scale", "auto")
    cfg = StyleGAN1GeneratorConfig(
        z_dim=int(r.pop("latent_size", 512)),
        c_dim=0,
        w_dim=w_dim,
        img_resolution=int(r.pop("resolution", 1024)),
        img_channels=int(r.pop("num_channels", 3)),
        mapping=mapping,
        fmap_base=int(r.pop("fmap_base", 8192)),
        fmap_decay=float(r.pop("fmap_decay", 1.0)),
        fmap_max=int(r.pop("fmap_max", 512)),
        use_noise=bool(r.pop("use_noise", True)),
        fused_scale=fused if fused == "auto" else bool(fused),
        blur_filter=_blur(r.pop("blur_filter", (1, 2, 1))),
        normalization="instance",
        progressive=_progressive(r),
    )
    r.finish()
    return cfg


_SYNTH_LAYER = re.compile(r"^(\d+)x\1/(Const|Conv|Conv0_up|Conv1)/(.+)$")
_TORGB = re.compile(r"^ToRGB_lod(\d+)/(weight|bias)$")
_NOISE = re.compile(r"^noise(\d+)$")
_LAYER_SLOT = {"Const": "conv0", "Conv": "conv1", "Conv0_up": "conv0", "Conv1": "conv1"}
_EPILOGUE_PARAM = {
    "Noise/weight": ("epilogue.noise.weight", _tensor),
    "bias": ("epilogue.bias", _tensor),
    "StyleMod/weight": ("epilogue.style.affine.weight", _dense),
    "StyleMod/bias": ("epilogue.style.affine.bias", _tensor),
    "weight": ("conv.weight", _conv),
}


def _synthesis_state(variables: Mapping[str, np.ndarray], G: StyleGAN1Generator) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    read = _variables_read("G_synthesis", variables)
    res_log2 = int(math.log2(G.img_resolution))
    for name, value in variables.items():
        key = None
        if name == "lod":
            key, tensor = "lod", _tensor(value.reshape([]))
        elif name == "4x4/Const/const":
            key, tensor = "b4.const", _tensor(value[0])
        elif m := _NOISE.match(name):
            idx = int(m.group(1))
            res = 2 ** (idx // 2 + 2)
            key, tensor = f"b{res}.conv{idx % 2}.epilogue.noise.noise_const", _tensor(value[0, 0])
        elif m := _TORGB.match(name):
            lod = int(m.group(1))
            fn = _conv if m.group(2) == "weight" else _tensor
            key, tensor = f"b{2 ** (res_log2 - lod)}.torgb.{m.group(2)}", fn(value)
        elif (m := _SYNTH_LAYER.match(name)) and m.group(3) in _EPILOGUE_PARAM:
            target, fn = _EPILOGUE_PARAM[m.group(3)]
            key, tensor = f"b{m.group(1)}.{_LAYER_SLOT[m.group(2)]}.{target}", fn(value)
        if key is not None:
            state[key] = tensor
            read.use(name)
    read.finish()
    return state


def import_tf_stylegan1(gs) -> StyleGAN1Generator:
    """Build our generator from an official ``G_style`` network (use Gs, the moving average)."""
    _check_build_func(gs, "G_style")
    components = getattr(gs, "components", {}) or {}
    if "synthesis" not in components or "mapping" not in components:
        raise CheckpointError("G_style network without its G_synthesis / G_mapping components")
    cfg = generator_config_from_tf(gs.static_kwargs)
    G = StyleGAN1Generator(cfg)
    state = {f"synthesis.{k}": v for k, v in _synthesis_state(_variables(components["synthesis"]), G).items()}

    own = _variables(gs)
    own_read = _variables_read("G_style", own)
    own_read.use("lod", "dlatent_avg")
    own_read.finish()
    if "lod" in own:  # the full G copies its lod into the synthesis network before running it
        state["synthesis.lod"] = _tensor(own["lod"].reshape([]))
    if "dlatent_avg" in own:
        state["mapping.w_avg"] = _tensor(own["dlatent_avg"])

    mapping = _variables(components["mapping"])
    mapping_read = _variables_read("G_mapping", mapping)
    for idx in range(cfg.mapping.num_layers):
        w, b = f"Dense{idx}/weight", f"Dense{idx}/bias"
        if w not in mapping or b not in mapping:
            raise CheckpointError(f"G_mapping: missing variables of layer Dense{idx}")
        state[f"mapping.fc{idx}.weight"] = _dense(mapping[w])
        state[f"mapping.fc{idx}.bias"] = _tensor(mapping[b] / np.float32(math.sqrt(2)))
        mapping_read.use(w, b)
    mapping_read.finish()
    if cfg.mapping.w_avg_beta is None:
        state.pop("mapping.w_avg", None)
    load_state_strict(G, state, "G_style")
    return G.eval()


# --------------------------------------------------------------------------------------------
# Discriminator


def discriminator_config_from_tf(static_kwargs: Mapping[str, Any]) -> StyleGAN1DiscriminatorConfig:
    """Our discriminator config for the static kwargs of an official ``D_basic`` network."""
    r = KwargReader("D_basic", static_kwargs)
    for name in _RUNTIME_KWARGS:
        r.pop(name)
    _require(r, "use_wscale", True, True)
    _require(r, "nonlinearity", "lrelu", "lrelu")
    fused = r.pop("fused_scale", "auto")
    cfg = StyleGAN1DiscriminatorConfig(
        c_dim=int(r.pop("label_size", 0)),
        img_resolution=int(r.pop("resolution", 32)),
        img_channels=int(r.pop("num_channels", 1)),
        fmap_base=int(r.pop("fmap_base", 8192)),
        fmap_decay=float(r.pop("fmap_decay", 1.0)),
        fmap_max=int(r.pop("fmap_max", 512)),
        mbstd_group_size=int(r.pop("mbstd_group_size", 4)),
        mbstd_num_features=int(r.pop("mbstd_num_features", 1)),
        fused_scale=fused if fused == "auto" else bool(fused),
        blur_filter=_blur(r.pop("blur_filter", (1, 2, 1))),
        progressive=_progressive(r),
    )
    r.finish()
    return cfg


_D_LAYER = re.compile(r"^(\d+)x\1/(Conv0|Conv1_down|Conv|Dense0|Dense1)/(weight|bias)$")
_D_SLOT = {"Conv0": "conv0", "Conv1_down": "conv1", "Conv": "conv", "Dense0": "fc", "Dense1": "out"}
_FROMRGB = re.compile(r"^FromRGB_lod(\d+)/(weight|bias)$")


def import_tf_stylegan1_discriminator(d) -> StyleGAN1Discriminator:
    """Build our discriminator from an official ``D_basic`` network."""
    _check_build_func(d, "D_basic")
    cfg = discriminator_config_from_tf(d.static_kwargs)
    D = StyleGAN1Discriminator(cfg)
    res_log2 = int(math.log2(cfg.img_resolution))
    variables = _variables(d)
    state: dict[str, torch.Tensor] = {}
    read = _variables_read("D_basic", variables)
    for name, value in variables.items():
        key = None
        if name == "lod":
            key, tensor = "lod", _tensor(value.reshape([]))
        elif m := _FROMRGB.match(name):
            fn = _conv if m.group(2) == "weight" else _tensor
            key, tensor = f"b{2 ** (res_log2 - int(m.group(1)))}.fromrgb.{m.group(2)}", fn(value)
        elif m := _D_LAYER.match(name):
            dense = m.group(2).startswith("Dense")
            fn = _tensor if m.group(3) == "bias" else (_dense if dense else _conv)
            key, tensor = f"b{m.group(1)}.{_D_SLOT[m.group(2)]}.{m.group(3)}", fn(value)
        if key is not None:
            state[key] = tensor
            read.use(name)
    read.finish()
    load_state_strict(D, state, "D_basic")
    return D.eval()
