"""Internal representations: the feature maps of chosen layers shown three channels at a time as
RGB, as the StyleGAN3 paper does to contrast StyleGAN2 (features glued to pixel coordinates) with
StyleGAN3 (features that move with the content; Karras et al. 2021, Figure 6)
(``stylegan analyze internals``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from stylegan.analysis.features import capture_features, list_feature_layers, resolve_layer, ws_for_seeds
from stylegan.analysis.figures import channels_as_rgb, image_to_rgb, labelled_grid, save_figure
from stylegan.analysis.report import _layer_output, _network_info, write_json
from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.utils.files import make_folder


def default_layers(G: Generator, count: int = 5) -> list[str]:
    """About ``count`` feature layers spread from the first to the last (tRGB outputs and the
    block outputs that repeat a layer's output left out)."""
    found = [(name, shape) for name, shape in list_feature_layers(G) if shape[0] != G.img_channels]
    names = [n for n, _ in found]
    leaves = [n for n in names if not any(other.startswith(n + ".") for other in names)]
    if not leaves:
        raise UserError("the network has no feature layers to show")
    if len(leaves) <= count:
        return leaves
    step = (len(leaves) - 1) / (count - 1)
    return list(dict.fromkeys(leaves[round(i * step)] for i in range(count)))


def internals_report_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "internals.png", outdir / "summary.json"]


@torch.no_grad()
def internals_report(
    G: Generator,
    seeds: Sequence[int],
    outdir: str | Path,
    layers: Sequence[str] | None = None,
    channels: tuple[int, int, int] = (0, 1, 2),
    truncation_psi: float = 1.0,
    tile: int = 96,
    class_idx: int | None = None,
) -> dict:
    """``internals.png``: per seed, the image and the feature maps of ``layers`` (default: a few
    spread over the network) with ``channels`` as R, G, B; ``summary.json``: layers and shapes."""
    if not seeds:
        raise UserError("give at least one seed")
    if len(channels) != 3:
        raise UserError(f"give three channels (shown as R, G, B), got {len(channels)}")
    G = G.eval()
    device = next(G.parameters()).device
    names = [resolve_layer(G, n)[0] for n in layers] if layers else default_layers(G)
    capture = capture_features(
        G, names, ws_for_seeds(G, list(seeds), truncation_psi, None, class_idx, device), noise_mode="const"
    )
    maps = {name: _layer_output(capture.features, name) for name in names}
    for name, fmap in maps.items():
        if max(channels) >= fmap.shape[1]:
            raise UserError(f"layer {name} has {fmap.shape[1]} channels; channel {max(channels)} does not exist")
    rows = [
        [image_to_rgb(capture.images[i])] + [channels_as_rgb(maps[n][i], channels) for n in names]
        for i in range(len(seeds))
    ]
    labels = ["image"] + [f"{n.removeprefix('synthesis.')} {maps[n].shape[-1]}px" for n in names]
    outdir = make_folder(outdir)
    save_figure(labelled_grid(rows, [f"seed {s}" for s in seeds], labels, tile=tile), outdir / "internals.png")
    summary = {
        "network": _network_info(G),
        "seeds": list(map(int, seeds)),
        "channels": list(channels),
        "layers": {n: list(maps[n].shape[1:]) for n in names},
        "files": ["internals.png"],
    }
    write_json(summary, outdir / "summary.json")
    return summary
