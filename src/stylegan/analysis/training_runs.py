"""Artifacts over training: the artifact rate and score of every network snapshot of one or more
runs on the same seeds, plotted over kimg, with the first snapshot from which the rate stays at
or above an onset level, i.e. when the artifacts appear (``stylegan analyze over-training``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from stylegan.analysis.artifacts import ArtifactCriteria, summarize
from stylegan.analysis.contribution import run_snapshots
from stylegan.analysis.report import artifact_regions, write_json
from stylegan.errors import UserError
from stylegan.utils.files import make_folder
from stylegan.utils.images import save_png
from stylegan.utils.plot import Panel, line_figure


def onset_kimg(kimg: Sequence[float], rates: Sequence[float], level: float) -> float | None:
    """The first kimg from which the rate stays at or above ``level`` to the end (None if it does not)."""
    onset = None
    for k, r in zip(kimg, rates):
        if r >= level:
            onset = k if onset is None else onset
        else:
            onset = None
    return onset


def over_training_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "artifacts_over_training.png", outdir / "artifacts_over_training.json"]


@torch.no_grad()
def artifacts_over_training(
    runs: Sequence[str | Path],
    outdir: str | Path,
    seeds: Sequence[int] = tuple(range(100)),
    layer: str | None = None,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
    onset_level: float = 0.1,
    device="cpu",
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """For every snapshot of every run: the artifact rate and score statistics at ``layer`` over
    ``seeds``; the onset (``onset_kimg``) per run; the rate and mean score over kimg plotted per run."""
    from stylegan.io import load_network

    if not runs:
        raise UserError("give at least one run directory")
    if not 0 < onset_level <= 1:
        raise UserError(f"the onset level must be within (0, 1], got {onset_level}")
    listed = [(Path(r), run_snapshots(r)) for r in runs]
    total, done = sum(len(s) for _, s in listed), 0
    results = []
    for run, snapshots in listed:
        rows = []
        for nimg, path in snapshots:
            G = load_network(path, which="G", device=device, nonfinite="error")
            used, regions = artifact_regions(G, seeds, layer, 1.0, None, noise_mode, criteria)
            rows.append({"kimg": nimg / 1e3, "snapshot": path.name, "layer": used, **summarize(regions)})
            done += 1
            if progress is not None:
                progress(done, total)
        kimg = [r["kimg"] for r in rows]
        results.append(
            {"run": str(run), "onset_kimg": onset_kimg(kimg, [r["rate"] for r in rows], onset_level), "snapshots": rows}
        )
    labels = [Path(r["run"]).name[:40] or r["run"] for r in results]
    if len(set(labels)) != len(labels):
        labels = [f"{k}: {label}" for k, label in enumerate(labels)]
    lo = min(r["snapshots"][0]["kimg"] for r in results)
    hi = max(r["snapshots"][-1]["kimg"] for r in results)
    xlim = (lo, hi if hi > lo else lo + 1)
    rate_series = {
        lab: (np.array([s["kimg"] for s in r["snapshots"]]), np.array([s["rate"] for s in r["snapshots"]]))
        for lab, r in zip(labels, results)
    }
    score_series = {
        lab: (np.array([s["kimg"] for s in r["snapshots"]]), np.array([s["mean_score"] for s in r["snapshots"]]))
        for lab, r in zip(labels, results)
    }
    top = max(float(v[1].max()) for v in score_series.values()) * 1.1 or 1.0
    figure = line_figure(
        [
            Panel("artifact rate", rate_series, xlim, (0.0, 1.0), xlabel="kimg", ylabel="rate"),
            Panel("mean artifact score", score_series, xlim, (0.0, top), xlabel="kimg", ylabel="score"),
        ]
    )
    outdir = make_folder(outdir)
    paths = over_training_paths(outdir)
    save_png(figure, paths[0])
    summary = {"seeds": list(map(int, seeds)), "noise_mode": noise_mode, "onset_level": onset_level, "runs": results}
    write_json(summary, paths[1])
    return summary
