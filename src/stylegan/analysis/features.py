"""Capture the feature maps of named layers with forward hooks, without changing the model.

Layer names are module names inside the generator (``synthesis.b128.conv0``); the ``synthesis.``
prefix may be left out. A module that returns a tuple (the StyleGAN2 blocks return ``(x, img)``)
is recorded by its first tensor. ``list_feature_layers(G)`` runs the generator once and lists
every module that outputs a feature map [N, C, H, W], in the order they run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.tools.generate import labels_for, synthesize
from stylegan.utils.seeds import z_from_seeds


def first_tensor(output) -> torch.Tensor | None:
    """The tensor a module returned (the first one of a tuple or list)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


def replace_first_tensor(output, tensor: torch.Tensor):
    """``output`` with its (first) tensor replaced by ``tensor``."""
    if isinstance(output, torch.Tensor):
        return tensor
    return type(output)([tensor, *output[1:]])


def resolve_layer(model: nn.Module | Generator, name: str) -> tuple[str, nn.Module]:
    """(full name, module) of layer ``name`` in ``model``; a clear error listing close names if absent."""
    modules = dict(model.named_modules())
    for candidate in (name, f"synthesis.{name}"):
        if candidate and candidate in modules:
            return candidate, modules[candidate]
    tail = name.split(".")[-1]
    close = [n for n in modules if n and (n.endswith(name) or n.split(".")[-1] == tail)][:8]
    hint = f"; did you mean {', '.join(close)}?" if close else "; list them with `stylegan analyze layers`"
    raise UserError(f"the network has no layer named {name!r}{hint}")


class FeatureRecorder:
    """Context manager: records the output of the named submodules of ``model`` at every forward.

    with FeatureRecorder(G, ["synthesis.b64.conv0"]) as rec:
        G.synthesis(ws)
    rec.features["synthesis.b64.conv0"]   # [N, C, H, W]
    """

    def __init__(self, model: nn.Module | Generator, names: Iterable[str], to_cpu: bool = False):
        self.model = model
        self.to_cpu = to_cpu
        self.names = [resolve_layer(model, n)[0] for n in names]
        self.features: dict[str, torch.Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _hook(self, name: str):
        def hook(module, inputs, output):
            tensor = first_tensor(output)
            if tensor is not None:
                tensor = tensor.detach()
                self.features[name] = tensor.cpu() if self.to_cpu else tensor

        return hook

    def __enter__(self) -> FeatureRecorder:
        modules = dict(self.model.named_modules())
        self._handles = [modules[n].register_forward_hook(self._hook(n)) for n in self.names]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def _probe_ws(G: Generator, device) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    z = torch.randn([1, G.z_dim], generator=gen).to(device)
    c = G.one_hot(0, 1, device) if G.c_dim > 0 else G.empty_labels(1, device)
    return G.mapping(z, c)


@torch.no_grad()
def list_feature_layers(G: Generator) -> list[tuple[str, tuple[int, ...]]]:
    """(name, [C, H, W]) of every module of ``G.synthesis`` that outputs a feature map, in running order."""
    device = next(G.parameters()).device
    found: list[tuple[str, tuple[int, ...]]] = []
    handles = []

    def hook_for(name):
        def hook(module, inputs, output):
            tensor = first_tensor(output)
            if tensor is not None and tensor.ndim == 4:
                found.append((name, tuple(tensor.shape[1:])))

        return hook

    for name, module in G.synthesis.named_modules():
        if name:
            handles.append(module.register_forward_hook(hook_for(f"synthesis.{name}")))
    try:
        synthesize(G, _probe_ws(G, device), noise_mode="const")
    finally:
        for handle in handles:
            handle.remove()
    return found


def final_feature_layer(G: Generator) -> str:
    """The last feature map the synthesis network computes before its RGB output."""
    layers = [name for name, shape in list_feature_layers(G) if shape[0] != G.img_channels]
    if not layers:
        raise UserError("the network has no feature layers to analyse")
    return layers[-1]


def default_analysis_layer(G: Generator) -> str:
    """The layer the PIN paper studies: the first layer (first AdaIN) at 128x128, or at the highest
    resolution below it; else the last feature layer."""
    modules = dict(G.named_modules())
    res = min(128, G.img_resolution)
    while res >= 4:
        name = f"synthesis.b{res}.conv0"
        if name in modules:
            return name
        res //= 2
    return final_feature_layer(G)


@dataclass
class Capture:
    """Images [N, C, H, W] in [-1, 1], the ws that made them, and the recorded feature maps."""

    images: torch.Tensor
    ws: torch.Tensor
    features: dict[str, torch.Tensor] = field(default_factory=dict)


def ws_for_seeds(
    G: Generator,
    seeds: list[int],
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    class_idx: int | None = None,
    device="cpu",
) -> torch.Tensor:
    """The ws of ``seeds`` (z drawn as the official tools draw it)."""
    z = z_from_seeds(seeds, G.z_dim).to(device)
    c = labels_for(G, class_idx, z.shape[0], device)
    with torch.no_grad():
        return G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)


@torch.no_grad()
def capture_features(
    G: Generator,
    layers: Iterable[str],
    ws: torch.Tensor,
    noise_mode: str = "const",
    batch_size: int = 8,
    to_cpu: bool = True,
    **synthesis_kwargs,
) -> Capture:
    """Run ``G.synthesis`` on ``ws`` (in batches) and record the outputs of ``layers``."""
    layers = list(layers)
    images = []
    feats: dict[str, list[torch.Tensor]] = {}
    for start in range(0, ws.shape[0], batch_size):
        with FeatureRecorder(G, layers, to_cpu=to_cpu) as rec:
            img = synthesize(G, ws[start : start + batch_size], noise_mode=noise_mode, **synthesis_kwargs)
        images.append(img.cpu() if to_cpu else img)
        for name, value in rec.features.items():
            feats.setdefault(name, []).append(value)
    return Capture(torch.cat(images), ws, {name: torch.cat(parts) for name, parts in feats.items()})
