"""Stochastic variation and the truncation trick of StyleGAN (Karras, Laine, Aila 2019).

- ``stochastic_variation``: one w, many draws of the per-pixel noise inputs; the images and the
  per-pixel standard deviation over the draws (the paper's Figure 4), with the noise restricted to
  chosen layers (Figure 5: all, coarse, fine or no layers; the other layers get no noise).
- ``noise_report``: both figures and a JSON summary (``stylegan analyze noise``).
- ``truncation_report``: a row of images per seed for psi from -1 to 1 with the w_avg image
  (psi = 0) framed in the middle (the paper's Figure 8; Eq. 3), and a JSON summary
  (``stylegan analyze truncation``).

Noise inputs are named by layer (``b16.conv0``); the paper's split (at 1024 px: coarse 4-32,
fine 64-1024) is applied to any resolution as: coarse = the lower half of the resolutions that
have noise inputs, fine = the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stylegan.analysis.features import ws_for_seeds
from stylegan.analysis.figures import colorize, image_to_rgb, labelled_grid, save_figure
from stylegan.analysis.report import _network_info, write_json
from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.tools.generate import (
    check_truncation,
    draw_noise_maps,
    noise_inputs,
    replaced_noise,
    synthesize,
    truncation_sweep,
)
from stylegan.utils.files import make_folder

NOISE_GROUPS = ("all", "coarse", "fine", "none")


def _require_noise(G: Generator) -> dict[str, torch.Tensor]:
    inputs = noise_inputs(G)
    if not inputs:
        kind = getattr(G, "kind", type(G).__name__)
        raise UserError(
            f"this network ({kind}) has no noise inputs, so there is no stochastic variation to "
            "show; StyleGAN3 networks have none"
        )
    return inputs


def select_noise_inputs(G: Generator, spec: str) -> list[str]:
    """The noise inputs named by ``spec``: 'all', 'none', 'coarse', 'fine', or a comma list of
    resolutions (``4,8``) and layer names (``b16.conv0``, ``b16``)."""
    inputs = _require_noise(G)
    resolution = {name: int(buf.shape[-1]) for name, buf in inputs.items()}
    levels = sorted(set(resolution.values()))
    coarse = set(levels[: len(levels) // 2])
    spec = spec.strip()
    if spec == "all":
        return list(inputs)
    if spec == "none":
        return []
    if spec in ("coarse", "fine"):
        return [n for n, r in resolution.items() if (r in coarse) == (spec == "coarse")]
    chosen: list[str] = []
    for item in (p.strip() for p in spec.split(",")):
        if item.isdigit():
            found = [n for n, r in resolution.items() if r == int(item)]
        else:
            item = item.removeprefix("synthesis.")
            found = [n for n in inputs if n == item or n.startswith(item + ".")]
        if not found:
            raise UserError(
                f"no noise input matches {item!r}; give all, none, coarse, fine, resolutions "
                f"({', '.join(map(str, levels))}) or layers ({', '.join(inputs)})"
            )
        chosen += [n for n in found if n not in chosen]
    return [n for n in inputs if n in chosen]


@dataclass
class Variation:
    """Images [draws, N, C, H, W] in [-1, 1] and the per-pixel standard deviation over the draws,
    averaged over colour channels, [N, H, W] in 8-bit levels (0-255)."""

    layers: list[str]
    images: torch.Tensor
    std: np.ndarray

    @property
    def mean_std(self) -> list[float]:
        return [float(s.mean()) for s in self.std]


@torch.no_grad()
def stochastic_variation(
    G: Generator,
    ws: torch.Tensor,
    layers: Sequence[str],
    draws: int = 16,
    noise_seed: int = 0,
    noise_maps: list[dict[str, torch.Tensor]] | None = None,
) -> Variation:
    """Render ws [N, num_ws, w_dim] ``draws`` times, each time with new N(0, 1) noise maps in
    ``layers`` and no noise elsewhere (StyleGAN, Figures 4-5). The draws come from ``noise_seed``
    (or ``noise_maps``, one dict per draw, so that several restrictions can share them)."""
    inputs = _require_noise(G)
    if draws < 2:
        raise UserError(f"give at least 2 noise draws, got {draws}")
    noise_maps = noise_maps if noise_maps is not None else draw_noise_maps(G, noise_seed, draws)
    chosen = set(layers)
    images = []
    for maps in noise_maps[:draws]:
        override = {name: (maps[name] if name in chosen else None) for name in inputs}
        with replaced_noise(G, override):
            images.append(synthesize(G, ws, noise_mode="const").float().cpu())
    stack = torch.stack(images)
    std = (stack * 127.5).std(dim=0, unbiased=False).mean(dim=1).numpy()
    return Variation([n for n in inputs if n in chosen], stack, std)


def noise_report_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "variation.png", outdir / "noise_layers.png", outdir / "summary.json"]


@torch.no_grad()
def noise_report(
    G: Generator,
    seeds: Sequence[int],
    outdir: str | Path,
    layers: str = "all",
    draws: int = 16,
    noise_seed: int = 0,
    samples: int = 4,
    truncation_psi: float = 1.0,
    class_idx: int | None = None,
    tile: int = 96,
) -> dict:
    """``variation.png``: per seed, ``samples`` noise draws (at most ``draws``) with the noise in ``layers`` and the map
    of the per-pixel standard deviation over ``draws`` draws (Figure 4); ``noise_layers.png``: per
    seed, the same draw with noise in all / coarse / fine / no layers (Figure 5) and their std maps;
    ``summary.json``: the mean standard deviation of every restriction per seed."""
    if not seeds:
        raise UserError("give at least one seed")
    if samples < 1:
        raise UserError(f"show at least one sample, got {samples}")
    samples = min(samples, draws)
    G = G.eval()
    device = next(G.parameters()).device
    ws = ws_for_seeds(G, list(seeds), truncation_psi, None, class_idx, device)
    maps = draw_noise_maps(G, noise_seed, draws)
    chosen = select_noise_inputs(G, layers)
    groups = {name: select_noise_inputs(G, name) for name in NOISE_GROUPS}
    results = {name: stochastic_variation(G, ws, sel, draws, noise_maps=maps) for name, sel in groups.items()}
    same = [r for r in results.values() if r.layers == [n for n in noise_inputs(G) if n in chosen]]
    main = same[0] if same else stochastic_variation(G, ws, chosen, draws, noise_maps=maps)
    vmax = max(float(main.std.max()), 1e-6)
    outdir = make_folder(outdir)

    rows = []
    for i in range(len(seeds)):
        rows.append([image_to_rgb(main.images[k, i]) for k in range(samples)] + [colorize(main.std[i], 0.0, vmax)])
    fig = labelled_grid(
        rows,
        [f"seed {s}" for s in seeds],
        [f"noise draw {k}" for k in range(samples)] + [f"std ({draws} draws)"],
        tile=tile,
    )
    save_figure(fig, outdir / "variation.png")

    vmax_all = max(max(float(r.std.max()) for r in results.values()), 1e-6)
    rows = []
    for i in range(len(seeds)):
        rows.append(
            [image_to_rgb(results[n].images[0, i]) for n in NOISE_GROUPS]
            + [colorize(results[n].std[i], 0.0, vmax_all) for n in NOISE_GROUPS]
        )
    fig = labelled_grid(
        rows,
        [f"seed {s}" for s in seeds],
        [f"noise: {n}" for n in NOISE_GROUPS] + [f"std: {n}" for n in NOISE_GROUPS],
        tile=tile,
    )
    save_figure(fig, outdir / "noise_layers.png")

    summary = {
        "network": _network_info(G),
        "seeds": list(map(int, seeds)),
        "draws": draws,
        "noise_seed": noise_seed,
        "truncation_psi": truncation_psi,
        "std_units": "8-bit levels (0-255), per pixel over the draws, mean over colour channels",
        "layers": {
            "spec": layers,
            "inputs": main.layers,
            "mean_std": main.mean_std,
            "max_std": [float(s.max()) for s in main.std],
        },
        "groups": {n: {"inputs": r.layers, "mean_std": r.mean_std} for n, r in results.items()},
        "files": ["variation.png", "noise_layers.png"],
    }
    write_json(summary, outdir / "summary.json")
    return summary


DEFAULT_PSIS = (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0)


def truncation_report_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "truncation.png", outdir / "summary.json"]


@torch.no_grad()
def truncation_report(
    G: Generator,
    seeds: Sequence[int],
    outdir: str | Path,
    psis: Sequence[float] = DEFAULT_PSIS,
    class_idx: int | None = None,
    noise_mode: str = "const",
    tile: int = 96,
) -> dict:
    """``truncation.png``: one row per seed, one column per psi (w' = w_avg + psi (w - w_avg),
    StyleGAN Eq. 3 and Figure 8), the psi = 0 images (the w_avg image) framed; ``summary.json``: per
    psi, the mean absolute difference (8-bit levels) of the images from the w_avg image, which
    grows with |psi|."""
    psis = [float(p) for p in psis]
    if not seeds:
        raise UserError("give at least one seed")
    for psi in psis:
        check_truncation(psi, None)
    G = G.eval()
    device = next(G.parameters()).device
    sweep = truncation_sweep(G, list(seeds), psis, class_idx=class_idx, noise_mode=noise_mode, device=device)
    ws_avg = G.mapping.w_avg.reshape(1, 1, -1).expand(1, G.num_ws, -1).to(device)
    average = synthesize(G, ws_avg, noise_mode=noise_mode).float().cpu()[0]
    distance = [float(((sweep[:, k] - average) * 127.5).abs().mean()) for k in range(len(psis))]
    rows = [[image_to_rgb(sweep[i, k]) for k in range(len(psis))] for i in range(len(seeds))]
    framed = {(i, k) for i in range(len(seeds)) for k, p in enumerate(psis) if p == 0.0}
    fig = labelled_grid(rows, [f"seed {s}" for s in seeds], [f"psi {p:g}" for p in psis], tile=tile, highlight=framed)
    outdir = make_folder(outdir)
    save_figure(fig, outdir / "truncation.png")
    summary = {
        "network": _network_info(G),
        "seeds": list(map(int, seeds)),
        "psis": psis,
        "noise_mode": noise_mode,
        "mean_abs_difference_from_w_avg_image": dict(zip([f"{p:g}" for p in psis], distance)),
        "files": ["truncation.png"],
    }
    write_json(summary, outdir / "summary.json")
    return summary
