"""How much each resolution contributes to the image of a skip generator (StyleGAN2, Section 4.1
and Figure 8).

In a skip generator the image is the sum of the tRGB outputs of every resolution, each upsampled
to the output size: img = sum_r up^(R/r)(tRGB_r). The contribution of resolution r is the standard
deviation (over pixels, averaged over colour channels and images) of its upsampled tRGB output,
as a share of the sum over resolutions (the paper normalises the total to 100 %).

- ``resolution_contributions``: the upsampled tRGB outputs and the shares for one network.
- ``contribution_report``: a figure of the image and each resolution's part, and a JSON summary
  (``stylegan analyze contribution --network``).
- ``contribution_over_training``: the shares for every snapshot of a run, plotted over kimg
  (``stylegan analyze contribution --run``), the paper's Figure 8.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stylegan.analysis.features import ws_for_seeds
from stylegan.analysis.figures import image_to_rgb, labelled_grid, save_figure
from stylegan.analysis.report import _network_info, write_json
from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.ops.upfirdn2d import upsample2d
from stylegan.tools.generate import synthesize
from stylegan.utils.files import make_folder
from stylegan.utils.images import save_png
from stylegan.utils.plot import Panel, line_figure


def skip_blocks(G: Generator) -> list:
    """The synthesis blocks of a skip generator, lowest resolution first; a ``UserError`` otherwise."""
    blocks = G.synthesis.blocks() if hasattr(G.synthesis, "blocks") else []
    kind = getattr(G, "kind", type(G).__name__)
    if not blocks or not all(hasattr(b, "torgb") for b in blocks):
        arch = getattr(blocks[-1], "architecture", None) if blocks else None
        what = f"architecture {arch!r}" if arch else kind
        raise UserError(
            f"the per-resolution contribution needs a skip generator (StyleGAN2 with architecture "
            f"'skip', whose image is the sum of every resolution's tRGB output); this one is {what}"
        )
    return blocks


@dataclass
class Contributions:
    """``parts[r]``: resolution r's tRGB output upsampled to the output size, [N, C, R, R];
    ``shares[r]``: its standard deviation as a fraction of the sum over resolutions (sums to 1)."""

    images: torch.Tensor
    parts: dict[int, torch.Tensor]
    shares: dict[int, float]

    def to_dict(self) -> dict:
        return {"shares_percent": {str(r): 100 * s for r, s in self.shares.items()}}


@torch.no_grad()
def resolution_contributions(G: Generator, ws: torch.Tensor, noise_mode: str = "const") -> Contributions:
    """Each resolution's part of the images of ws [N, num_ws, w_dim] (StyleGAN2, Figure 8)."""
    blocks = skip_blocks(G)
    outputs: dict[int, torch.Tensor] = {}
    handles = [
        b.torgb.register_forward_hook(lambda m, i, o, r=b.resolution: outputs.__setitem__(r, o.float())) for b in blocks
    ]
    try:
        images = synthesize(G, ws, noise_mode=noise_mode).float()
    finally:
        for handle in handles:
            handle.remove()
    parts = {}
    for k, block in enumerate(blocks):
        y = outputs[block.resolution]
        for later in blocks[k + 1 :]:
            y = upsample2d(y, later.resample_filter)  # as the skip wiring upsamples the running image
        parts[block.resolution] = y.cpu()
    spread = {r: float(p.std(dim=(2, 3)).mean()) for r, p in parts.items()}
    total = sum(spread.values())
    shares = {r: (s / total if total > 0 else 0.0) for r, s in spread.items()}
    return Contributions(images.cpu(), parts, shares)


def contribution_report_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "contribution.png", outdir / "summary.json"]


@torch.no_grad()
def contribution_report(
    G: Generator,
    seeds: Sequence[int],
    outdir: str | Path,
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
    tile: int = 96,
    class_idx: int | None = None,
) -> dict:
    """``contribution.png``: per seed, the image and each resolution's upsampled tRGB output
    (shown at twice its amplitude around grey, so that small parts stay visible), the columns
    labelled with the shares; ``summary.json``: the shares in percent."""
    if not seeds:
        raise UserError("give at least one seed")
    G = G.eval()
    device = next(G.parameters()).device
    result = resolution_contributions(
        G, ws_for_seeds(G, list(seeds), truncation_psi, None, class_idx, device), noise_mode
    )
    rows = [
        [image_to_rgb(result.images[i])] + [image_to_rgb((2 * p[i]).clamp(-1, 1)) for p in result.parts.values()]
        for i in range(len(seeds))
    ]
    labels = ["image"] + [f"{r}px {100 * s:.1f}%" for r, s in result.shares.items()]
    outdir = make_folder(outdir)
    save_figure(labelled_grid(rows, [f"seed {s}" for s in seeds], labels, tile=tile), outdir / "contribution.png")
    summary = {
        "network": _network_info(G),
        "seeds": list(map(int, seeds)),
        "truncation_psi": truncation_psi,
        "noise_mode": noise_mode,
        **result.to_dict(),
        "files": ["contribution.png"],
    }
    write_json(summary, outdir / "summary.json")
    return summary


def run_snapshots(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(images seen, path) of every network snapshot of a training run, oldest first."""
    from stylegan.training.snapshot import NETWORK_PREFIX, tag_nimg

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory not found: {run_dir}")
    found = [(tag_nimg(p.name), p) for p in run_dir.iterdir() if p.name.startswith(NETWORK_PREFIX)]
    found = sorted((n, p) for n, p in found if n is not None)
    if not found:
        raise UserError(f"{run_dir} holds no network snapshots ({NETWORK_PREFIX}*.safetensors)")
    return found


def contribution_over_training_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "contribution_over_training.png", outdir / "contribution_over_training.json"]


@torch.no_grad()
def contribution_over_training(
    run_dir: str | Path,
    outdir: str | Path,
    seeds: Sequence[int] = tuple(range(16)),
    device: torch.device | str = "cpu",
    noise_mode: str = "const",
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """The shares of every resolution for each network snapshot of ``run_dir`` (the same seeds
    throughout), plotted over training in kimg (StyleGAN2, Figure 8), and written as JSON."""
    from stylegan.io import load_network

    snapshots = run_snapshots(run_dir)
    rows = []
    for k, (nimg, path) in enumerate(snapshots):
        G = load_network(path, which="G", device=device, nonfinite="error")
        ws = ws_for_seeds(G, list(seeds), device=device)
        shares = resolution_contributions(G, ws, noise_mode).shares
        rows.append(
            {"kimg": nimg / 1000, "snapshot": path.name, "shares_percent": {str(r): 100 * s for r, s in shares.items()}}
        )
        if progress is not None:
            progress(k + 1, len(snapshots))
    resolutions = list(rows[-1]["shares_percent"])
    kimg = np.array([r["kimg"] for r in rows])
    series = {f"{res}px": (kimg, np.array([r["shares_percent"].get(res, np.nan) for r in rows])) for res in resolutions}
    xlim = (float(kimg.min()), float(kimg.max()) if kimg.max() > kimg.min() else float(kimg.min()) + 1)
    figure = line_figure(
        [
            Panel(
                "contribution of each resolution (std of its tRGB output)",
                series,
                xlim,
                (0, 100),
                xlabel="kimg",
                ylabel="%",
            )
        ]
    )
    outdir = make_folder(outdir)
    paths = contribution_over_training_paths(outdir)
    save_png(figure, paths[0])
    summary = {"run": str(run_dir), "seeds": list(map(int, seeds)), "noise_mode": noise_mode, "snapshots": rows}
    write_json(summary, paths[1])
    return summary
