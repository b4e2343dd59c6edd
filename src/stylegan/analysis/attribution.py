"""Attribution by projection (StyleGAN2, Section 5 and Figure 10): an image the network made can
be projected back into its latent space almost exactly, a real image only approximately, so the
distance between an image and its reprojection tells which images come from the network.

- ``reprojection_distance``: project one image (``stylegan.tools.project``), render the projected w
  with the optimised noise maps, and measure the distance to the image.
- ``roc``: the ROC curve of "distance <= threshold means generated" over two labelled sets, and its
  AUC (the probability that a generated image projects closer than a real one).
- ``attribution_report``: the network's own images (seeds) and the images of a folder, projected;
  the distance histograms, the ROC curve, a threshold (the one maximising TPR - FPR, or given) and
  the decision for every image (``stylegan analyze attribute``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stylegan.analysis.report import _network_info, write_json
from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.tools.generate import generate_images, replaced_noise, synthesize
from stylegan.tools.project import Distance, for_distance, load_target, mse_distance, project
from stylegan.utils.files import make_folder
from stylegan.utils.images import from_uint8, save_png
from stylegan.utils.plot import Panel, line_figure

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def reprojection_distance(
    G: Generator,
    image: torch.Tensor,
    distance: Distance = mse_distance,
    num_steps: int = 200,
    w_avg_samples: int = 2000,
    seed: int = 303,
    device="cpu",
) -> float:
    """Distance between ``image`` [C, H, W] in [-1, 1] and the network's image of its projection."""
    result = project(
        G, image, distance=distance, num_steps=num_steps, w_avg_samples=w_avg_samples, seed=seed, device=device
    )
    maps = {name.rsplit(".", 1)[0]: value for name, value in result.noise.items()}
    with torch.no_grad(), replaced_noise(G, maps):
        rendered = synthesize(G.to(device).eval(), result.ws().to(device), noise_mode="const").float()
        target = image[None].to(device, torch.float32)
        return float(distance(for_distance(rendered), for_distance(target))[0])


@dataclass
class Roc:
    """False and true positive rates at each threshold (a distance at or below it counts as generated)."""

    thresholds: np.ndarray
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float

    def best_threshold(self) -> float:
        """The threshold that maximises TPR - FPR (Youden's J)."""
        return float(self.thresholds[int(np.argmax(self.tpr - self.fpr))])


def roc(generated: Sequence[float], real: Sequence[float]) -> Roc:
    """ROC of the rule "distance <= t means generated" over every threshold t, from (0, 0) to (1, 1);
    AUC = P(d_generated < d_real) + P(equal) / 2 (the Mann-Whitney statistic)."""
    gen, rea = np.asarray(generated, np.float64), np.asarray(real, np.float64)
    if gen.size == 0 or rea.size == 0:
        raise UserError("the ROC needs at least one generated and one real image")
    thresholds = np.unique(np.concatenate([gen, rea]))
    tpr = np.array([0.0, *((gen <= t).mean() for t in thresholds)])
    fpr = np.array([0.0, *((rea <= t).mean() for t in thresholds)])
    less = (gen[:, None] < rea[None, :]).mean()
    equal = (gen[:, None] == rea[None, :]).mean()
    return Roc(np.concatenate([[-np.inf], thresholds]), fpr, tpr, float(less + 0.5 * equal))


def folder_images(
    folder: str | Path, resolution: int, channels: int, limit: int | None = None
) -> list[tuple[str, torch.Tensor]]:
    """(file name, image [C, H, W] in [-1, 1]) of the image files in ``folder``, sorted by name,
    centre-cropped and resized to the network's resolution as ``stylegan project`` does."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    files = files[:limit] if limit else files
    out = []
    for path in files:
        array = load_target(path, resolution, channels)
        out.append((path.name, from_uint8(torch.from_numpy(array).permute(2, 0, 1))))
    return out


def attribution_report_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "distances.png", outdir / "roc.png", outdir / "summary.json"]


def _histogram_panel(generated: np.ndarray, real: np.ndarray, name: str) -> Panel:
    edges = np.linspace(0.0, max(float(generated.max()), float(real.max())) * 1.05 + 1e-12, 21)
    centres = 0.5 * (edges[1:] + edges[:-1])
    counts = {
        label: np.histogram(values, edges)[0] / len(values)
        for label, values in (("generated", generated), ("real", real))
    }
    top = max(float(c.max()) for c in counts.values())
    return Panel(
        f"distance to the reprojection ({name})",
        {k: (centres, v) for k, v in counts.items()},
        (0.0, float(edges[-1])),
        (0.0, top * 1.1),
        xlabel=name,
        ylabel="fraction of images",
    )


def attribution_report(
    G: Generator,
    real: Sequence[tuple[str, torch.Tensor]],
    outdir: str | Path,
    seeds: Sequence[int] = tuple(range(16)),
    distance: Distance = mse_distance,
    distance_name: str = "mse",
    num_steps: int = 200,
    w_avg_samples: int = 2000,
    threshold: float | None = None,
    device="cpu",
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Project the network's images of ``seeds`` and the ``real`` images (name, [C, H, W]); write
    ``distances.png`` (the two distance distributions), ``roc.png`` and ``summary.json`` (AUC, the
    threshold: ``threshold`` or the one maximising TPR - FPR, and each image's distance and decision)."""
    if not seeds or not real:
        raise UserError("give at least one seed and one real image")
    G = G.eval()
    generated = generate_images(G, list(seeds), device=device)
    todo = [("generated", f"seed{s:04d}", img) for s, img in zip(seeds, generated)]
    todo += [("real", name, img) for name, img in real]
    rows = []
    for k, (kind, name, img) in enumerate(todo):
        d = reprojection_distance(G, img, distance, num_steps, w_avg_samples, device=device)
        rows.append({"set": kind, "image": name, "distance": d})
        if progress is not None:
            progress(k + 1, len(todo))
    gen = np.array([r["distance"] for r in rows if r["set"] == "generated"])
    rea = np.array([r["distance"] for r in rows if r["set"] == "real"])
    curve = roc(gen, rea)
    chosen = curve.best_threshold() if threshold is None else float(threshold)
    for r in rows:
        r["decision"] = "generated" if r["distance"] <= chosen else "real"
        r["correct"] = r["decision"] == r["set"]
    outdir = make_folder(outdir)
    save_png(line_figure([_histogram_panel(gen, rea, distance_name)]), outdir / "distances.png")
    diagonal = np.array([0.0, 1.0])
    save_png(
        line_figure(
            [
                Panel(
                    f"ROC, AUC {curve.auc:.3f}",
                    {"ROC": (curve.fpr, curve.tpr), "chance": (diagonal, diagonal)},
                    (0.0, 1.0),
                    (0.0, 1.0),
                    xlabel="false positive rate (real called generated)",
                    ylabel="true positive rate",
                    colors={"chance": (170, 170, 170)},
                )
            ],
            panel_size=(360, 320),
        ),
        outdir / "roc.png",
    )
    summary = {
        "network": _network_info(G),
        "distance": distance_name,
        "num_steps": num_steps,
        "auc": curve.auc,
        "threshold": chosen,
        "threshold_rule": "given" if threshold is not None else "max TPR - FPR",
        "generated": {
            "count": int(gen.size),
            "mean_distance": float(gen.mean()),
            "called_generated": float((gen <= chosen).mean()),
        },
        "real": {
            "count": int(rea.size),
            "mean_distance": float(rea.mean()),
            "called_generated": float((rea <= chosen).mean()),
        },
        "images": rows,
        "files": ["distances.png", "roc.png"],
    }
    write_json(summary, outdir / "summary.json")
    return summary
