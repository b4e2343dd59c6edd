"""Style coordinates s: the outputs of a generator's style affine layers (StyleSpace, Wu et al. 2021).

Every generation computes, per synthesis layer, ``s = affine(w_i)`` (a ``FullyConnectedLayer``
named ``affine``) from one of the ws: StyleGAN2/3 modulation styles, the ToRGB styles, StyleGAN's
AdaIN scale and bias. ``style_layers(G)`` finds them by name and traces which w each reads, so the
same code serves StyleGAN 1, 2 and 3. StyleGAN3's Fourier-feature input (its affine predicts a
rotation and translation, not a style) is left out.

S is the concatenation of every layer's s: ``capture_styles`` records it, ``offset_styles`` adds a
vector to it while the network runs (forward hooks; the network itself is not changed).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from stylegan.layers.equalized import FullyConnectedLayer
from stylegan.layers.fourier import FourierFeatureInput


@dataclass(frozen=True)
class StyleLayer:
    name: str  # the affine module's name in G.synthesis
    ws_index: int  # which of the ws it reads
    channels: int  # its number of outputs
    offset: int  # where its channels start in S


def _affine_modules(synthesis: nn.Module) -> list[tuple[str, FullyConnectedLayer]]:
    skip = {
        f"{name}.affine" if name else "affine"
        for name, m in synthesis.named_modules()
        if isinstance(m, FourierFeatureInput)
    }
    return [
        (name, m)
        for name, m in synthesis.named_modules()
        if isinstance(m, FullyConnectedLayer) and name.rsplit(".", 1)[-1] == "affine" and name not in skip
    ]


@torch.no_grad()
def style_layers(G) -> list[StyleLayer]:
    """The style affine layers of ``G.synthesis`` in the order the network runs them, each with the
    index of the w it reads (traced by running the network once on distinct ws)."""
    modules = _affine_modules(G.synthesis)
    seen: dict[str, torch.Tensor] = {}

    def record(name, w):
        seen.setdefault(name, w[0].clone())  # a hook that returns a value would replace the output

    handles = [m.register_forward_hook(lambda mod, args, out, name=name: record(name, args[0])) for name, m in modules]
    param = next(G.synthesis.parameters())
    ws = torch.randn([1, G.num_ws, G.w_dim], generator=torch.Generator().manual_seed(0))
    ws = ws.to(param.device)
    try:
        from stylegan.tools.generate import synthesize

        synthesize(G, ws, noise_mode="const")
    finally:
        for h in handles:
            h.remove()
    layers, offset = [], 0
    by_name = dict(modules)
    for name, w in seen.items():  # dict order = run order
        match = (ws[0] - w.to(ws.dtype)).abs().amax(dim=1).argmin()
        if not torch.allclose(ws[0, match], w.to(ws.dtype), atol=1e-5):
            continue  # an affine layer fed by something else than one of the ws
        channels = by_name[name].out_features
        layers.append(StyleLayer(name, int(match), channels, offset))
        offset += channels
    return layers


def style_dim(layers: list[StyleLayer]) -> int:
    return sum(layer.channels for layer in layers)


@contextlib.contextmanager
def capture_styles(G, layers: list[StyleLayer] | None = None):
    """Within the block, every synthesis run appends its S ([N, style_dim]) to the yielded list."""
    layers = style_layers(G) if layers is None else layers
    modules = dict(G.synthesis.named_modules())
    current: dict[str, torch.Tensor] = {}
    captured: list[torch.Tensor] = []

    def hook(mod, args, out, name):
        current[name] = out.detach().float()
        if len(current) == len(layers):
            captured.append(torch.cat([current[layer.name] for layer in layers], dim=1).cpu())
            current.clear()

    handles = [
        modules[layer.name].register_forward_hook(lambda m, a, o, n=layer.name: hook(m, a, o, n)) for layer in layers
    ]
    try:
        yield captured
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def offset_styles(G, delta: torch.Tensor, layers: list[StyleLayer] | None = None):
    """Within the block, the network's S is shifted by ``delta`` ([style_dim] or [N, style_dim])."""
    layers = style_layers(G) if layers is None else layers
    if delta.shape[-1] != style_dim(layers):
        raise ValueError(f"a style offset needs {style_dim(layers)} channels, got {delta.shape[-1]}")
    modules = dict(G.synthesis.named_modules())

    def hook(mod, args, out, layer):
        d = delta[..., layer.offset : layer.offset + layer.channels].to(out.device, out.dtype)
        return out + d

    handles = [
        modules[layer.name].register_forward_hook(lambda m, a, o, lay=layer: hook(m, a, o, lay)) for layer in layers
    ]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def affine_weights(G, layers: list[StyleLayer]) -> list[torch.Tensor]:
    """The effective weight [channels, w_dim] of each layer's affine (weight x its equalised-lr gain)."""
    modules = dict(G.synthesis.named_modules())
    return [modules[layer.name].weight.detach().float().cpu() * modules[layer.name].weight_gain for layer in layers]
