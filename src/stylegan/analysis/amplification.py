"""The instance-norm amplification check (PIN paper, Claim 3) on the real feature maps of a network:
the map that enters a layer's normalisation is recorded, its strongest small spot is located (the
artifact region of ``detect_artifact``, on the pre-normalisation map), and the value instance norm
gives that spot (``instance_norm_amplification_in``: the median over the channels where the spot
stands above the map's mean) is compared with the prediction sqrt((1 - a) / a) for a spot covering
a fraction a of the map (``stylegan analyze amplification``). The synthetic version of the check is
``artifacts.instance_norm_amplification``.

For PIN layers the check still measures what instance norm alone would do to the map; PIN's gate
decides how much of that reaches the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from stylegan.analysis.artifacts import ArtifactCriteria, detect_artifacts, instance_norm_amplification_in
from stylegan.analysis.features import resolve_layer, ws_for_seeds
from stylegan.analysis.report import _network_info, write_json
from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.tools.generate import synthesize
from stylegan.utils.files import make_folder
from stylegan.utils.images import save_png
from stylegan.utils.plot import Panel, line_figure


def norm_module(G: Generator, layer: str) -> tuple[str, torch.nn.Module]:
    """(layer name, the normalisation module inside it); a ``UserError`` for layers without one."""
    name, module = resolve_layer(G, layer)
    norm = getattr(getattr(module, "epilogue", None), "norm", None)
    if norm is None:
        raise UserError(
            f"layer {name} has no normalisation to check (the instance-norm amplification check needs "
            "a StyleGAN (v1) or PIN layer, e.g. synthesis.b64.conv0)"
        )
    return name, norm


@torch.no_grad()
def pre_norm_features(
    G: Generator, layer: str, ws: torch.Tensor, noise_mode: str = "const", batch_size: int = 8
) -> torch.Tensor:
    """The maps [N, C, H, W] entering the normalisation of ``layer`` for ws [N, num_ws, w_dim]."""
    _, norm = norm_module(G, layer)
    parts = []

    def hook(module, inputs):
        parts.append(inputs[0].detach().float().cpu())

    for start in range(0, ws.shape[0], batch_size):
        handle = norm.register_forward_pre_hook(hook)
        try:
            synthesize(G, ws[start : start + batch_size], noise_mode=noise_mode)
        finally:
            handle.remove()
    if not parts:
        raise UserError(f"layer {layer} did not run (is it above the network's current level of detail?)")
    return torch.cat(parts)


@torch.no_grad()
def amplification_check(
    G: Generator,
    ws: torch.Tensor,
    layer: str,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
) -> list[dict]:
    """Per image: the spot found on the pre-normalisation map of ``layer`` (score, artifact or not)
    and its instance-norm value, measured against sqrt((1 - a) / a)."""
    name, _ = norm_module(G, layer)
    feats = pre_norm_features(G, name, ws, noise_mode)
    rows = []
    for fmap, region in zip(feats, detect_artifacts(feats, criteria)):
        check = instance_norm_amplification_in(fmap, region.mask)
        ratio = check["measured_median"] / check["predicted"]
        rows.append(
            {
                "score": region.score,
                "is_artifact": region.is_artifact,
                "peak": list(region.peak),
                **check,
                "measured_over_predicted": ratio,
            }
        )
    return rows


def amplification_report_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "amplification.png", outdir / "summary.json"]


@torch.no_grad()
def amplification_report(
    G: Generator,
    seeds: Sequence[int],
    outdir: str | Path,
    layer: str,
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
) -> dict:
    """``amplification.png``: measured and predicted instance-norm values of each image's spot,
    images ordered by the spot's area; ``summary.json``: the values per seed and the median ratio
    measured / predicted over the images whose spot counts as an artifact (and over all)."""
    if not seeds:
        raise UserError("give at least one seed")
    G = G.eval()
    ws = ws_for_seeds(G, list(seeds), truncation_psi, device=next(G.parameters()).device)
    name, _ = norm_module(G, layer)
    rows = amplification_check(G, ws, name, noise_mode, criteria)
    for seed, row in zip(seeds, rows):
        row["seed"] = int(seed)
    order = sorted(range(len(rows)), key=lambda i: rows[i]["fraction"])
    x = np.arange(len(rows), dtype=np.float64)
    measured = np.array([rows[i]["measured_median"] for i in order])
    predicted = np.array([rows[i]["predicted"] for i in order])
    finite = measured[np.isfinite(measured)]
    top = max(float(predicted.max()), float(finite.max()) if finite.size else 0.0) * 1.1
    panel = Panel(
        f"instance norm of the spot at {name.removeprefix('synthesis.')}",
        {"measured": (x, np.nan_to_num(measured)), "sqrt((1 - a) / a)": (x, predicted)},
        (0.0, max(float(x.max()), 1.0)),
        (0.0, top),
        xlabel="image, by spot area a",
        ylabel="value after IN",
        colors={"sqrt((1 - a) / a)": (150, 150, 150)},
    )
    outdir = make_folder(outdir)
    save_png(line_figure([panel]), outdir / "amplification.png")

    def median_ratio(subset):
        values = [r["measured_over_predicted"] for r in subset if np.isfinite(r["measured_over_predicted"])]
        return float(np.median(values)) if values else None

    summary = {
        "network": _network_info(G),
        "layer": name,
        "noise_mode": noise_mode,
        "median_measured_over_predicted": median_ratio(rows),
        "median_measured_over_predicted_artifacts": median_ratio([r for r in rows if r["is_artifact"]]),
        "artifacts": int(sum(r["is_artifact"] for r in rows)),
        "seeds": rows,
        "files": ["amplification.png"],
    }
    write_json(summary, outdir / "summary.json")
    return summary
