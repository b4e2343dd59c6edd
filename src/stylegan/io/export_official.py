"""Our networks -> an official ``network-snapshot``-style pickle (StyleGAN2-ADA-PyTorch, StyleGAN3).

An official snapshot is a pickled dict ``{G, D, G_ema, training_set_kwargs, augment_pipe}`` whose
networks are ``torch_utils.persistence`` objects: each is rebuilt by
``torch_utils.persistence._reconstruct_persistent_obj(meta)``, which executes ``meta["module_src"]``
(normally the source of the official module) and gives ``meta["state"]`` to the class
``meta["class_name"]`` of that module.

Written here without the official code: each network's ``module_src`` is ``SHIM_SOURCE``, a short
module of ours. Its class builds the official network with the official code the loader already
has (``training.networks_stylegan2`` / ``networks_stylegan3``, or StyleGAN2-ADA-PyTorch's
``training.networks``) from the constructor kwargs in ``state``, loads the weights of ``state``
into it, and becomes it (``__class__`` and ``__dict__``), so ``legacy.load_network_pkl`` returns
genuine official networks; pickled again (a training snapshot) they are ordinary official pickles.
Loading thus needs the official ``training/`` package on the Python path, as the official tools
(``gen_images.py``, ``train.py --resume``) have; pickles the official code wrote carry that source.

The kwargs are the inverse of ``stylegan.io.official``'s translators, checked by translating them
back: a network the official classes cannot express is refused by name (StyleGAN1). A file without
a discriminator gets an empty placeholder ``D`` (``legacy.load_network_pkl`` requires one; it has
no weights, ``train.py --resume`` starts a fresh D, and calling it raises an error that says so).
"""

from __future__ import annotations

import dataclasses
import io
import pickle
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stylegan.errors import CheckpointError
from stylegan.io.official import translate_official

EXPORT_VERSION = 1
PERSISTENCE_VERSION = 6  # torch_utils.persistence._version of every official release
PLACEHOLDER_CLASS = "MissingNetwork"

# Our kind -> official class (stylegan.io.official.TRANSLATORS name) and modules to try, in order.
OFFICIAL_CLASSES = {
    "stylegan2.generator": ("networks_stylegan2.Generator", ("training.networks_stylegan2", "training.networks")),
    "stylegan2.discriminator": (
        "networks_stylegan2.Discriminator",
        ("training.networks_stylegan2", "training.networks"),
    ),
    "stylegan3.generator": ("networks_stylegan3.Generator", ("training.networks_stylegan3",)),
}

# Kwargs written even at their default value (train.py writes them; defaults differ between releases).
ALWAYS = {
    "channel_base",
    "channel_max",
    "num_fp16_res",
    "conv_clamp",
    "architecture",
    "mapping.num_layers",
    "mbstd_group_size",
}
# Where a config field goes in the official kwargs, where it is not a top-level kwarg of the same name.
D_LOCATIONS = {
    "activation": ("block_kwargs", "epilogue_kwargs"),
    "resample_filter": ("block_kwargs",),
    "fp16_channels_last": ("block_kwargs",),
    "freeze_layers": ("block_kwargs",),
    "mbstd_group_size": ("epilogue_kwargs",),
    "mbstd_num_channels": ("epilogue_kwargs",),
}
REQUIRED = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")

SHIM_SOURCE = '''\
"""Written by the stylegan package (`stylegan export --format official-pytorch`).

Each network of this pickle is built with the official StyleGAN code on the Python path from its
constructor kwargs, then given its weights; the unpickled objects are the official classes.
"""
import importlib

import dnnlib
import torch


def _easy(value):
    if isinstance(value, dict):
        return dnnlib.EasyDict({k: _easy(v) for k, v in value.items()})
    return value


def _official_class(modules, name):
    for module_name in modules:
        try:
            return importlib.import_module(module_name), getattr(importlib.import_module(module_name), name)
        except ImportError:
            continue
    raise ImportError(f"this network pickle was written by stylegan; loading it needs the official StyleGAN code "
                      f"(one of {', '.join(modules)}) on the Python path")


class Network(torch.nn.Module):
    def __setstate__(self, state):
        module, cls = _official_class(state["modules"], state["class"])
        kwargs = _easy(state["init_kwargs"])
        if module.__name__ == "training.networks" and state["class"] == "Generator":  # StyleGAN2-ADA-PyTorch
            kwargs.pop("fused_modconv_default", None)  # its own choice, fused in eval mode: the same function
            base = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs")
            kwargs = dnnlib.EasyDict({k: v for k, v in kwargs.items() if k in base},
                                     synthesis_kwargs=dnnlib.EasyDict({k: v for k, v in kwargs.items()
                                                                       if k not in base}))
        net = cls(**kwargs)
        net.load_state_dict(state["state_dict"])
        net.eval().requires_grad_(False)
        self.__class__ = net.__class__
        self.__dict__.update(net.__dict__)


class MissingNetwork(torch.nn.Module):
    def __init__(self, reason="this network is a placeholder", **kwargs):
        super().__init__()
        self.reason = reason

    def __setstate__(self, state):
        self.__init__(state["reason"])
        self._init_args, self._init_kwargs = (), dnnlib.EasyDict(reason=state["reason"])

    def forward(self, *args, **kwargs):
        raise RuntimeError(self.reason)
'''


def official_kwargs(module: nn.Module, what: str = "network") -> tuple[str, dict[str, Any]]:
    """(official class name, constructor kwargs) of one of our networks; checked by translating back."""
    kind = getattr(module, "kind", None)
    if kind not in OFFICIAL_CLASSES:
        raise CheckpointError(
            f"{what}: a {kind or type(module).__name__} network has no official PyTorch "
            f"counterpart (supported: {', '.join(OFFICIAL_CLASSES)})"
        )
    class_name = OFFICIAL_CLASSES[kind][0]
    cfg = module.config
    required = {k: getattr(cfg, k) for k in REQUIRED if hasattr(cfg, k)}
    _, default = translate_official(class_name, required)
    kwargs: dict[str, Any] = dict(required)
    for f in dataclasses.fields(cfg):
        if f.name in REQUIRED:
            continue
        if f.name == "mapping":
            mapping = {
                m.name: _plain(getattr(cfg.mapping, m.name))
                for m in dataclasses.fields(cfg.mapping)
                if getattr(cfg.mapping, m.name) != getattr(default.mapping, m.name)
                or (f"mapping.{m.name}" in ALWAYS and kind.endswith("generator"))
            }
            if kind.endswith("discriminator"):
                mapping.pop("w_avg_beta", None)  # the official D's mapping never tracks w
            if mapping or kind.endswith("generator"):
                kwargs["mapping_kwargs"] = mapping
            continue
        value = getattr(cfg, f.name)
        if value == getattr(default, f.name) and f.name not in ALWAYS:
            continue
        for place in D_LOCATIONS.get(f.name, (None,)) if kind.endswith("discriminator") else (None,):
            (kwargs.setdefault(place, {}) if place else kwargs)[f.name] = _plain(value)
    _, back = translate_official(class_name, kwargs)
    if back != cfg:
        diff = [f.name for f in dataclasses.fields(cfg) if getattr(back, f.name) != getattr(cfg, f.name)]
        raise CheckpointError(f"{what}: its config cannot be written as official kwargs ({', '.join(diff)} differ)")
    return class_name, kwargs


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


class _Global:
    """A global of the official code, written into the pickle by name (never imported here)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires a callable; only its name is written
        raise TypeError("not callable here")


_RECONSTRUCT = _Global("torch_utils.persistence", "_reconstruct_persistent_obj")


class _Persistent:
    """Pickles as ``torch_utils.persistence._reconstruct_persistent_obj(meta)``."""

    def __init__(self, class_name: str, state: dict):
        self.meta = dict(
            type="class", version=PERSISTENCE_VERSION, module_src=SHIM_SOURCE, class_name=class_name, state=state
        )

    def __reduce__(self):
        return _RECONSTRUCT, (self.meta,)


class _Pickler(pickle._Pickler):  # the Python pickler: its dispatch table takes our _Global
    dispatch = dict(pickle._Pickler.dispatch)

    def _save_global(self, obj: _Global):
        self.save(obj.module)
        self.save(obj.name)
        self.write(pickle.STACK_GLOBAL)
        self.memoize(obj)

    dispatch[_Global] = _save_global


def _network_state(module: nn.Module, what: str) -> dict:
    class_name, kwargs = official_kwargs(module, what)
    modules = OFFICIAL_CLASSES[module.kind][1]
    state_dict = OrderedDict(
        (k, v.detach().to("cpu", torch.float32).contiguous().clone()) for k, v in module.state_dict().items()
    )
    return {
        "stylegan_export": EXPORT_VERSION,
        "class": class_name.split(".")[-1],
        "official_class": class_name,
        "modules": list(modules),
        "init_kwargs": kwargs,
        "state_dict": state_dict,
    }


def official_snapshot_bytes(networks: Mapping[str, nn.Module]) -> bytes:
    """The pickle of ``networks`` (names ``G``, ``G_ema``, ``D``); a missing ``G`` or ``G_ema`` is the
    other, a missing ``D`` an empty placeholder."""
    gens = {n: networks[n] for n in ("G", "G_ema") if n in networks}
    if not gens:
        raise CheckpointError("an official snapshot needs a generator; the source holds only a discriminator")
    objects = {name: _Persistent("Network", _network_state(m, name)) for name, m in gens.items()}
    objects.setdefault("G", objects.get("G_ema"))
    objects.setdefault("G_ema", objects["G"])
    if "D" in networks:
        objects["D"] = _Persistent("Network", _network_state(networks["D"], "D"))
    else:
        objects["D"] = _Persistent(
            PLACEHOLDER_CLASS,
            {
                "stylegan_export": EXPORT_VERSION,
                "reason": (
                    "this network pickle was exported by stylegan without a discriminator (its D is a placeholder)"
                ),
            },
        )
    data = {
        "G": objects["G"],
        "D": objects["D"],
        "G_ema": objects["G_ema"],
        "training_set_kwargs": None,
        "augment_pipe": None,
    }
    buf = io.BytesIO()
    _Pickler(buf, protocol=4).dump(data)
    return buf.getvalue()


def write_official_snapshot(networks: Mapping[str, nn.Module], path: str | Path) -> Path:
    """Write ``official_snapshot_bytes(networks)`` to ``path`` atomically."""
    from stylegan.utils.files import atomic_write

    payload = official_snapshot_bytes(networks)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(payload)

    return atomic_write(path, write)
