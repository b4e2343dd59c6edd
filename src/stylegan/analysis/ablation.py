"""Unit ablation by index, as the PIN paper runs it (Tan, Wen, Yang 2021, Claim 2; GAN Dissection):
zero chosen units (channels) of one layer by a forward hook for many images and locate the artifact
again, where it was measured before.

- ``regions_with_units_zeroed``: the artifact regions of a batch of images with given units zeroed.
- ``ablation_study``: one fixed set of units zeroed (``zero``), or every unit but a fixed set
  (``keep``), across many images: the artifact rate and scores before and after, and how far each
  artifact moved.
- ``ablation_sweep``: a sequence of one-unit ablations at one layer: for every unit, zeroed alone,
  the artifact rate and mean score over the images.
- ``ablation_report``: either, with a figure and ``summary.json`` (``stylegan analyze ablation``).

The paper trains its network without noise inputs for this experiment (``stylegan train --noise 0``),
so that the artifacts come from the units and not from the noise; with noise the inputs stay the
stored ones ('const').
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from stylegan.analysis.artifacts import (
    ArtifactCriteria,
    ArtifactRegion,
    detect_artifacts,
    summarize,
)
from stylegan.analysis.features import (
    FeatureRecorder,
    final_feature_layer,
    first_tensor,
    replace_first_tensor,
    resolve_layer,
    ws_for_seeds,
)
from stylegan.analysis.report import _layer_output, _network_info, write_json
from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.tools.generate import synthesize
from stylegan.utils.files import make_folder
from stylegan.utils.images import save_png
from stylegan.utils.plot import Panel, line_figure


def _zero_hook(units: Sequence[int]):
    index = torch.tensor(sorted(units), dtype=torch.long)

    def hook(module, inputs, output):
        tensor = first_tensor(output).clone()
        tensor[:, index.to(tensor.device)] = 0
        return replace_first_tensor(output, tensor)

    return hook


def _channels(G: Generator, layer: str, ws: torch.Tensor, noise_mode: str) -> int:
    with torch.no_grad(), FeatureRecorder(G, [layer]) as rec:
        synthesize(G, ws[:1], noise_mode=noise_mode)
    return int(_layer_output(rec.features, rec.names[0]).shape[1])


@torch.no_grad()
def regions_with_units_zeroed(
    G: Generator,
    ws: torch.Tensor,
    layer: str,
    units: Sequence[int],
    measure_layer: str,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
    batch_size: int = 8,
) -> list[ArtifactRegion]:
    """The artifact region at ``measure_layer`` of each of ws [N, num_ws, w_dim] with ``units`` of
    ``layer`` zeroed (none: the network as it is)."""
    _, module = resolve_layer(G, layer)
    measure = resolve_layer(G, measure_layer)[0]
    regions = []
    for start in range(0, ws.shape[0], batch_size):
        handle = module.register_forward_hook(_zero_hook(units)) if len(units) else None
        try:  # the ablation hook runs before the recorder's, so that the recorder sees the zeroed units
            with FeatureRecorder(G, [measure], to_cpu=True) as rec:
                synthesize(G, ws[start : start + batch_size], noise_mode=noise_mode)
        finally:
            if handle is not None:
                handle.remove()
        regions += detect_artifacts(_layer_output(rec.features, measure), criteria)
    return regions


def _check_units(units: Sequence[int], channels: int, layer: str) -> list[int]:
    units = sorted(set(int(u) for u in units))
    bad = [u for u in units if not 0 <= u < channels]
    if bad:
        raise UserError(f"layer {layer} has units 0-{channels - 1}; unit {bad[0]} does not exist")
    return units


def _moved(a: ArtifactRegion, b: ArtifactRegion) -> float:
    return math.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1])


@torch.no_grad()
def ablation_study(
    G: Generator,
    ws: torch.Tensor,
    layer: str,
    units: Sequence[int],
    mode: str = "zero",
    measure_layer: str | None = None,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
) -> dict:
    """Zero ``units`` of ``layer`` (``mode='zero'``) or every unit but them (``'keep'``) for every
    image of ws; the artifacts at ``measure_layer`` (default: the last feature map before RGB) before
    and after: rates, scores, per image the score change and how far the region moved."""
    if mode not in ("zero", "keep"):
        raise UserError(f"ablation mode must be zero or keep, got {mode!r}")
    name = resolve_layer(G, layer)[0]
    measure = resolve_layer(G, measure_layer)[0] if measure_layer else final_feature_layer(G)
    channels = _channels(G, name, ws, noise_mode)
    units = _check_units(units, channels, name)
    if not units:
        raise UserError("give at least one unit")
    zeroed = units if mode == "zero" else sorted(set(range(channels)) - set(units))
    before = regions_with_units_zeroed(G, ws, name, [], measure, noise_mode, criteria)
    after = regions_with_units_zeroed(G, ws, name, zeroed, measure, noise_mode, criteria)
    per_image = [
        {
            "before": b.score,
            "after": a.score,
            "artifact_before": b.is_artifact,
            "artifact_after": a.is_artifact,
            "moved": _moved(a, b),
        }
        for b, a in zip(before, after)
    ]
    return {
        "layer": name,
        "measure_layer": measure,
        "mode": mode,
        "units": units,
        "zeroed": len(zeroed),
        "channels": channels,
        "before": summarize(before),
        "after": summarize(after),
        "mean_moved": float(np.mean([p["moved"] for p in per_image])),
        "images": per_image,
    }


@torch.no_grad()
def ablation_sweep(
    G: Generator,
    ws: torch.Tensor,
    layer: str,
    units: Sequence[int] | None = None,
    measure_layer: str | None = None,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """One-unit ablations in sequence: for each of ``units`` (default: every unit of ``layer``),
    zeroed alone, the artifact rate and mean score at ``measure_layer`` over the images of ws;
    ``progress(done, total)`` after each unit."""
    name = resolve_layer(G, layer)[0]
    measure = resolve_layer(G, measure_layer)[0] if measure_layer else final_feature_layer(G)
    channels = _channels(G, name, ws, noise_mode)
    units = _check_units(range(channels) if units is None else units, channels, name)
    base = summarize(regions_with_units_zeroed(G, ws, name, [], measure, noise_mode, criteria))
    rows = []
    for unit in units:
        stats = summarize(regions_with_units_zeroed(G, ws, name, [unit], measure, noise_mode, criteria))
        rows.append({"unit": unit, "rate": stats["rate"], "mean_score": stats["mean_score"]})
        if progress is not None:
            progress(len(rows), len(units))
    return {"layer": name, "measure_layer": measure, "channels": channels, "baseline": base, "units": rows}


def ablation_report_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "ablation.png", outdir / "summary.json"]


@torch.no_grad()
def ablation_report(
    G: Generator,
    seeds: Sequence[int],
    outdir: str | Path,
    layer: str,
    units: Sequence[int] | None = None,
    mode: str = "sweep",
    measure_layer: str | None = None,
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """``mode`` 'sweep' (``ablation_sweep``; ``ablation.png``: rate and mean score per unit zeroed,
    against the network as it is), 'zero' or 'keep' (``ablation_study``; ``ablation.png``: each image's
    artifact score before and after); ``summary.json`` in every mode."""
    if not seeds:
        raise UserError("give at least one seed")
    G = G.eval()
    ws = ws_for_seeds(G, list(seeds), truncation_psi, device=next(G.parameters()).device)
    if mode == "sweep":
        result = ablation_sweep(G, ws, layer, units, measure_layer, noise_mode, criteria, progress)
        x = np.array([r["unit"] for r in result["units"]], dtype=np.float64)
        base = result["baseline"]
        flat = np.ones_like(x)
        xlim = (float(x.min()), float(x.max()) if x.max() > x.min() else float(x.min()) + 1)
        score_top = max(max(r["mean_score"] for r in result["units"]), base["mean_score"]) * 1.1
        panels = [
            Panel(
                "artifact rate, one unit zeroed",
                {
                    "unit zeroed": (x, np.array([r["rate"] for r in result["units"]])),
                    "none zeroed": (x, flat * base["rate"]),
                },
                xlim,
                (0.0, 1.0),
                xlabel=f"unit of {result['layer']}",
                ylabel="rate",
                colors={"none zeroed": (150, 150, 150)},
            ),
            Panel(
                "mean artifact score",
                {
                    "unit zeroed": (x, np.array([r["mean_score"] for r in result["units"]])),
                    "none zeroed": (x, flat * base["mean_score"]),
                },
                xlim,
                (0.0, score_top),
                xlabel=f"unit of {result['layer']}",
                ylabel="score",
                colors={"none zeroed": (150, 150, 150)},
            ),
        ]
    else:
        if units is None:
            raise UserError(f"mode {mode} needs the units to {'zero' if mode == 'zero' else 'keep'}")
        result = ablation_study(G, ws, layer, units, mode, measure_layer, noise_mode, criteria)
        x = np.arange(len(seeds), dtype=np.float64)
        before = np.array([p["before"] for p in result["images"]])
        after = np.array([p["after"] for p in result["images"]])
        top = max(float(before.max()), float(after.max()), criteria.score_threshold) * 1.1
        what = f"units {result['units']} zeroed" if mode == "zero" else f"all but units {result['units']} zeroed"
        panels = [
            Panel(
                f"artifact score per image, {what[:48]}",
                {
                    "before": (x, before),
                    "after": (x, after),
                    "threshold": (x, np.full_like(x, criteria.score_threshold)),
                },
                (0.0, max(float(x.max()), 1.0)),
                (0.0, top),
                xlabel="image (seed order)",
                ylabel="score",
                colors={"threshold": (150, 150, 150)},
            )
        ]
    outdir = make_folder(outdir)
    save_png(line_figure(panels), outdir / "ablation.png")
    summary = {
        "network": _network_info(G),
        "seeds": list(map(int, seeds)),
        "mode": mode,
        "noise_mode": noise_mode,
        **result,
        "files": ["ablation.png"],
    }
    write_json(summary, outdir / "summary.json")
    return summary
