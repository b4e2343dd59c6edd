"""Artifact rates of two groups of networks (e.g. ``stylegan1`` and ``stylegan1-pin`` trained with
several seeds each) with confidence intervals from a two-level bootstrap: training runs are
resampled with replacement, then the images of each drawn run, so that the interval reflects both
the variation between runs and the finite number of images (``stylegan analyze rates``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stylegan.analysis.artifacts import ArtifactCriteria
from stylegan.analysis.report import artifact_regions, write_json
from stylegan.errors import UserError
from stylegan.utils.files import make_folder
from stylegan.utils.images import save_png
from stylegan.utils.plot import Panel, line_figure


def bootstrap_rates(groups: Sequence[np.ndarray], samples: int = 2000, seed: int = 0) -> np.ndarray:
    """``samples`` bootstrap replicates of the pooled rate of ``groups`` (one 0/1 array per run):
    runs drawn with replacement, then images within each drawn run; the rate of a replicate is the
    mean over its drawn runs of their resampled rates."""
    groups = [np.asarray(g, dtype=np.float64).ravel() for g in groups]
    if not groups or any(g.size == 0 for g in groups):
        raise UserError("every run needs at least one image")
    rng = np.random.default_rng(seed)
    out = np.empty(samples)
    for k in range(samples):
        runs = rng.integers(0, len(groups), len(groups))
        out[k] = np.mean([groups[r][rng.integers(0, groups[r].size, groups[r].size)].mean() for r in runs])
    return out


@dataclass
class RateEstimate:
    rate: float  # mean over runs of each run's rate
    low: float
    high: float
    per_run: list[float]

    def to_dict(self) -> dict:
        return {"rate": self.rate, "ci_low": self.low, "ci_high": self.high, "per_run": self.per_run}


def rate_with_ci(
    groups: Sequence[np.ndarray], level: float = 0.95, samples: int = 2000, seed: int = 0
) -> tuple[RateEstimate, np.ndarray]:
    """The pooled rate of ``groups``, its ``level`` percentile interval, and the replicates."""
    if not 0 < level < 1:
        raise UserError(f"the confidence level must be within (0, 1), got {level}")
    reps = bootstrap_rates(groups, samples, seed)
    tail = (1 - level) / 2 * 100
    per_run = [float(np.mean(g)) for g in groups]
    return RateEstimate(
        float(np.mean(per_run)), float(np.percentile(reps, tail)), float(np.percentile(reps, 100 - tail)), per_run
    ), reps


def compare_rates(
    a: Sequence[np.ndarray], b: Sequence[np.ndarray], level: float = 0.95, samples: int = 2000, seed: int = 0
) -> dict:
    """Rates of groups ``a`` and ``b`` with intervals, and the difference b - a with its interval
    (independent bootstraps of the two groups)."""
    est_a, reps_a = rate_with_ci(a, level, samples, seed)
    est_b, reps_b = rate_with_ci(b, level, samples, seed + 1)
    diff = reps_b - reps_a
    tail = (1 - level) / 2 * 100
    return {
        "level": level,
        "samples": samples,
        "a": est_a.to_dict(),
        "b": est_b.to_dict(),
        "difference_b_minus_a": {
            "value": est_b.rate - est_a.rate,
            "ci_low": float(np.percentile(diff, tail)),
            "ci_high": float(np.percentile(diff, 100 - tail)),
        },
    }


def rates_report_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "rates.png", outdir / "summary.json"]


def rates_report(
    group_a: dict[str, object],
    group_b: dict[str, object],
    seeds: Sequence[int],
    outdir: str | Path,
    labels: tuple[str, str] = ("A", "B"),
    layer: str | None = None,
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
    level: float = 0.95,
    samples: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """The artifact rate of every network of two groups (name -> G) on the same seeds, the pooled
    rates with two-level bootstrap intervals and their difference; ``rates.png``: each run's rate
    and each group's interval; ``summary.json``."""
    if not group_a or not group_b:
        raise UserError("give at least one network in each group")
    flags: dict[str, list[np.ndarray]] = {labels[0]: [], labels[1]: []}
    runs = []
    total = len(group_a) + len(group_b)
    for label, group in zip(labels, (group_a, group_b)):
        for name, G in group.items():
            used, regions = artifact_regions(G, seeds, layer, truncation_psi, None, noise_mode, criteria)
            flags[label].append(np.array([r.is_artifact for r in regions], dtype=np.float64))
            runs.append(
                {
                    "group": label,
                    "network": name,
                    "layer": used,
                    "rate": float(flags[label][-1].mean()),
                    "mean_score": float(np.mean([r.score for r in regions])),
                }
            )
            if progress is not None:
                progress(len(runs), total)
    result = compare_rates(flags[labels[0]], flags[labels[1]], level, samples)
    # Figure: each run's rate (dots as short lines), each group's pooled rate and interval.
    series, colors, unlisted = {}, {}, set()
    for k, label in enumerate(labels):
        est = result["a" if k == 0 else "b"]
        x = np.array([k - 0.15, k + 0.15])
        series[f"{label} {est['rate']:.3f} [{est['ci_low']:.3f}, {est['ci_high']:.3f}]"] = (
            np.array([k, k]),
            np.array([est["ci_low"], est["ci_high"]]),
        )
        for j, rate in enumerate(est["per_run"]):
            series[f"{label} run {j}"] = (x, np.array([rate, rate]))
            colors[f"{label} run {j}"] = (150, 150, 150)
            unlisted.add(f"{label} run {j}")
    top = max(max(r["rate"] for r in runs), result["a"]["ci_high"], result["b"]["ci_high"])
    panel = Panel(
        f"artifact rate per run (grey) and {int(level * 100)}% interval",
        series,
        (-0.5, 1.5),
        (0.0, min(1.0, top * 1.2 + 0.02)),
        xlabel=f"0 = {labels[0]}, 1 = {labels[1]}",
        ylabel="rate",
        colors=colors,
        unlisted=frozenset(unlisted),
    )
    outdir = make_folder(outdir)
    save_png(line_figure([panel], panel_size=(420, 320)), outdir / "rates.png")
    summary = {
        "seeds": list(map(int, seeds)),
        "labels": list(labels),
        "noise_mode": noise_mode,
        **result,
        "runs": runs,
        "files": ["rates.png"],
    }
    write_json(summary, outdir / "summary.json")
    return summary
