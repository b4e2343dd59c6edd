"""The artifact study as one call: figures and a JSON summary for a set of seeds
(``stylegan analyze artifacts``), and the artifact rates of several networks side by side
(``stylegan analyze compare``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from stylegan.analysis.artifacts import (
    ArtifactCriteria,
    ArtifactRegion,
    ablate_units,
    detect_artifacts,
    energy_map,
    instance_norm_amplification,
    intensity_profiles,
    noise_resampling_experiment,
    probe_pixels,
    rank_units,
    summarize,
)
from stylegan.analysis.features import capture_features, default_analysis_layer, resolve_layer, ws_for_seeds
from stylegan.analysis.figures import energy_figure, feature_grid, intensity_plot, save_figure
from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.utils.files import atomic_write, make_folder


def _network_info(G: Generator) -> dict:
    info = {"kind": getattr(G, "kind", type(G).__name__), "img_resolution": G.img_resolution, "num_ws": G.num_ws}
    if hasattr(G, "lod"):
        info["lod"] = float(G.lod)
    return info


def _layer_output(features: dict[str, torch.Tensor], layer: str) -> torch.Tensor:
    if layer not in features:
        raise UserError(f"layer {layer} did not run (is it above the network's current level of detail?)")
    if features[layer].ndim != 4:
        raise UserError(f"layer {layer} does not output feature maps [N, C, H, W]")
    return features[layer]


def write_json(data: dict, path: str | Path) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return Path(path)


ARTIFACT_FIGURES = ("features", "energy", "intensity")


def artifact_report_paths(outdir: str | Path, seeds: Sequence[int]) -> list[Path]:
    """Every file ``artifact_report`` writes into ``outdir``."""
    outdir = Path(outdir)
    return [
        *(outdir / f"seed{seed:04d}_{kind}.png" for seed in seeds for kind in ARTIFACT_FIGURES),
        outdir / "summary.json",
    ]


@torch.no_grad()
def artifact_report(
    G: Generator,
    seeds: Sequence[int],
    outdir: str | Path,
    layer: str | None = None,
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    class_idx: int | None = None,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
    noise_seeds: Sequence[int] = (),
    ablate: int = 0,
    ablation_mode: str = "top",
    measure_layer: str | None = None,
    channels: int = 16,
    batch_size: int = 8,
) -> dict:
    """Analyse the artifacts of ``G`` at ``layer`` (default: the first AdaIN layer at 128x128) for
    ``seeds``; write per seed a feature-map grid, an energy heatmap over the image and an intensity
    plot, and ``summary.json``. Optional experiments per seed: noise resampling with ``noise_seeds``,
    unit ablation of ``ablate`` units (``ablation_mode`` 'top' or 'all-but-one'). Returns the summary."""
    if not seeds:
        raise UserError("give at least one seed")
    G = G.eval()
    device = next(G.parameters()).device
    layer = resolve_layer(G, layer)[0] if layer else default_analysis_layer(G)
    outdir = make_folder(outdir)
    ws = ws_for_seeds(G, list(seeds), truncation_psi, truncation_cutoff, class_idx, device)
    capture = capture_features(G, [layer], ws, noise_mode=noise_mode, batch_size=batch_size)
    feats = _layer_output(capture.features, layer)
    regions = detect_artifacts(feats, criteria)

    per_seed = []
    for i, (seed, region) in enumerate(zip(seeds, regions)):
        stem = f"seed{seed:04d}"
        fmap = feats[i]
        pixels = probe_pixels(fmap, region, criteria)
        top_units = rank_units(fmap, region)
        verdict = "artifact" if region.is_artifact else "no artifact"
        grid = feature_grid(fmap, top_units, max_channels=channels)
        heat = energy_figure(
            capture.images[i],
            energy_map(fmap, criteria.center),
            region,
            caption=f"seed {seed}  {layer}  score {region.score:.2f}  {verdict}",
        )
        profiles = intensity_profiles(fmap, pixels)
        plot = intensity_plot(
            {f"{name} {pixels[name]}": values for name, values in profiles.items()},
            title=f"seed {seed}: feature values across channels at {layer}",
        )
        files = {
            "features": save_figure(grid, outdir / f"{stem}_features.png"),
            "energy": save_figure(heat, outdir / f"{stem}_energy.png"),
            "intensity": save_figure(plot, outdir / f"{stem}_intensity.png"),
        }
        entry = {
            "seed": int(seed),
            **region.to_dict(),
            "probe_pixels": {k: list(v) for k, v in pixels.items()},
            "top_units": top_units[:channels],
            "files": {k: v.name for k, v in files.items()},
        }
        if noise_seeds:
            entry["noise_resampling"] = noise_resampling_experiment(
                G, ws[i : i + 1], layer, noise_seeds, criteria
            ).to_dict()
        if ablate or ablation_mode == "all-but-one":
            entry["ablation"] = ablate_units(
                G,
                ws[i : i + 1],
                layer,
                k=max(ablate, 1),
                mode=ablation_mode,
                measure_layer=measure_layer,
                noise_mode=noise_mode,
                criteria=criteria,
            ).to_dict()
        per_seed.append(entry)

    summary = {
        "network": _network_info(G),
        "layer": layer,
        "feature_shape": list(feats.shape[1:]),
        "noise_mode": noise_mode,
        "truncation_psi": truncation_psi,
        "truncation_cutoff": truncation_cutoff,
        "criteria": asdict(criteria),
        **summarize(regions),
        "seeds": per_seed,
        "instance_norm_amplification": instance_norm_amplification(),
    }
    write_json(summary, outdir / "summary.json")
    return summary


@torch.no_grad()
def artifact_statistics(
    G: Generator,
    seeds: Sequence[int],
    layer: str | None = None,
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
    batch_size: int = 8,
) -> dict:
    """Artifact rate and score statistics of ``G`` at ``layer`` over ``seeds``."""
    layer, regions = artifact_regions(
        G, seeds, layer, truncation_psi, truncation_cutoff, noise_mode, criteria, batch_size
    )
    return {"layer": layer, **summarize(regions)}


@torch.no_grad()
def artifact_regions(
    G: Generator,
    seeds: Sequence[int],
    layer: str | None = None,
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
    batch_size: int = 8,
) -> tuple[str, list[ArtifactRegion]]:
    """(layer, the detected region of every seed's image) of ``G`` at ``layer`` (default: the first
    AdaIN layer at 128x128)."""
    if not seeds:
        raise UserError("give at least one seed")
    G = G.eval()
    device = next(G.parameters()).device
    layer = resolve_layer(G, layer)[0] if layer else default_analysis_layer(G)
    regions = []
    for start in range(0, len(seeds), batch_size):
        chunk = list(seeds[start : start + batch_size])
        ws = ws_for_seeds(G, chunk, truncation_psi, truncation_cutoff, None, device)
        feats = _layer_output(
            capture_features(G, [layer], ws, noise_mode=noise_mode, batch_size=batch_size).features, layer
        )
        regions.extend(detect_artifacts(feats, criteria))
    return layer, regions


def comparison_figure_paths(outdir: str | Path, seeds: Sequence[int]) -> list[Path]:
    """Every file ``comparison_figures`` writes into ``outdir``."""
    return [Path(outdir) / f"seed{seed:04d}_compare.png" for seed in seeds]


@torch.no_grad()
def comparison_figures(
    networks: dict[str, object],
    seeds: Sequence[int],
    outdir: str | Path,
    layer: str | None = None,
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
) -> list[Path]:
    """Per seed, the energy figures (image, energy map at ``layer``, overlay, detected region) of
    every network (label -> G) stacked top to bottom: the same measurement side by side, e.g. the
    droplets of a StyleGAN and a StyleGAN2 trained alike (StyleGAN2, Figure 1)."""
    from PIL import Image

    if not seeds:
        raise UserError("give at least one seed")
    panels: dict[int, list] = {int(seed): [] for seed in seeds}
    for label, G in networks.items():
        G = G.eval()
        device = next(G.parameters()).device
        name = resolve_layer(G, layer)[0] if layer else default_analysis_layer(G)
        ws = ws_for_seeds(G, list(seeds), truncation_psi, truncation_cutoff, None, device)
        capture = capture_features(G, [name], ws, noise_mode=noise_mode)
        feats = _layer_output(capture.features, name)
        for i, (seed, region) in enumerate(zip(seeds, detect_artifacts(feats, criteria))):
            verdict = "artifact" if region.is_artifact else "no artifact"
            panels[int(seed)].append(
                energy_figure(
                    capture.images[i],
                    energy_map(feats[i], criteria.center),
                    region,
                    caption=f"{label}  {name}  score {region.score:.2f}  {verdict}",
                )
            )
    outdir = make_folder(outdir)
    paths = []
    for seed, figures in panels.items():
        width = max(f.width for f in figures)
        canvas = Image.new("RGB", (width, sum(f.height for f in figures)), (255, 255, 255))
        y = 0
        for f in figures:
            canvas.paste(f, (0, y))
            y += f.height
        paths.append(save_figure(canvas, outdir / f"seed{seed:04d}_compare.png"))
    return paths
