"""One entry point for every metric: ``compute_metrics(G, ["fid50k_full", "ppl_wend", ...], data=...)``.

Metric names, sample counts and options are those of the official StyleGAN tools:

===============  =============================================================================
fid50k_full      FID, 50k generated vs the whole dataset            (Inception pool features)
fid50k           FID, 50k generated vs 50k dataset images
kid50k_full      KID, 50k generated vs up to 1M dataset images, 100 subsets of 1000
kid50k           KID, 50k vs 50k
pr50k3_full      precision and recall, k = 3, 50k generated vs up to 200k dataset images
                 (official detector: the VGG16 fc features)
pr50k3           the same vs 50k dataset images
ppl_zfull ...    PPL in Z or W, t ~ U(0, 1) ("full") or t = 0 ("end"), 50k samples, LPIPS-VGG16,
ppl_wend         the official face crop (see ``ppl_crop``)
ppl2_wend        StyleGAN2's PPL: W, end, no crop
ls               linear separability in Z and W, 200k samples, 100k kept per attribute
eqt50k_int       equivariance to integer translation (StyleGAN3), 50k samples
eqt50k_frac      ... fractional translation; eqr50k: rotation. Also as ``eqt``, ``eqt_frac``, ``eqr``.
===============  =============================================================================

``detector="inception"`` measures with the official networks (Inception-v3 for FID/KID, VGG16
for PR and PPL); ``detector="probe"`` measures everything with the toyfaces probe shipped in the
package (offline, but its numbers are on another scale: never compare them with Inception
numbers). Linear separability always uses the probe's attribute classifiers (the official
CelebA-HQ classifiers are TensorFlow networks this package does not load). Each result records
the network that produced it.

``num`` overrides every metric's sample count (small runs), ``max_real`` the number of dataset
images. Dataset features are cached (``stylegan.metrics.stats``).
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from stylegan.errors import UserError
from stylegan.metrics import sampling
from stylegan.metrics.detectors import Detector, get_distance, load_detector
from stylegan.models.interface import Generator


@dataclass(frozen=True)
class MetricDef:
    """What one named metric computes, with the official settings."""

    name: str
    kind: str  # fid | kid | pr | ppl | ls | eq
    num: int  # generated samples (PPL/LS/EQ: samples)
    max_real: int | None = None  # dataset images (None: all)
    space: str = ""  # ppl: z | w
    sampling: str = ""  # ppl: full | end
    crop: bool = False  # ppl: the official default face crop
    eq: str = ""  # eq: eqt | eqt_frac | eqr


def _registry() -> dict[str, MetricDef]:
    defs = [
        MetricDef("fid50k_full", "fid", 50000, None),
        MetricDef("fid50k", "fid", 50000, 50000),
        MetricDef("kid50k_full", "kid", 50000, 1000000),
        MetricDef("kid50k", "kid", 50000, 50000),
        MetricDef("pr50k3_full", "pr", 50000, 200000),
        MetricDef("pr50k3", "pr", 50000, 50000),
        MetricDef("ppl2_wend", "ppl", 50000, space="w", sampling="end", crop=False),
        MetricDef("ls", "ls", 200000),
        MetricDef("eqt50k_int", "eq", 50000, eq="eqt"),
        MetricDef("eqt50k_frac", "eq", 50000, eq="eqt_frac"),
        MetricDef("eqr50k", "eq", 50000, eq="eqr"),
        MetricDef("eqt", "eq", 50000, eq="eqt"),
        MetricDef("eqt_frac", "eq", 50000, eq="eqt_frac"),
        MetricDef("eqr", "eq", 50000, eq="eqr"),
    ]
    for space in ("z", "w"):
        for samp in ("full", "end"):
            defs.append(MetricDef(f"ppl_{space}{samp}", "ppl", 50000, space=space, sampling=samp, crop=True))
    return {d.name: d for d in defs}


METRICS: dict[str, MetricDef] = _registry()
DETECTORS = ("inception", "probe")
KID_SUBSETS, KID_SUBSET_SIZE, PR_K, PPL_EPSILON = 100, 1000, 3, 1e-4


@dataclass
class MetricResult:
    """One metric's outcome: its result values and what produced them."""

    metric: str
    results: dict[str, float]
    detector: str
    num: int
    seconds: float
    extra: dict = field(default_factory=dict)

    @property
    def value(self):
        return next(iter(self.results.values())) if len(self.results) == 1 else dict(self.results)

    def record(self, network: str | None = None, **more) -> dict:
        """The JSON line written to a results file."""
        line = dict(
            metric=self.metric,
            value=self.value,
            results=self.results,
            detector=self.detector,
            num=self.num,
            network=network,
            time=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            seconds=round(self.seconds, 3),
        )
        line.update(self.extra)
        line.update(more)
        return line


def parse_metric_list(metrics: str | list[str]) -> list[str]:
    names = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics)
    names = [m for m in names if m]
    if not names:
        raise UserError("no metric given")
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise UserError(f"unknown metric {', '.join(unknown)}; choose from {', '.join(sorted(METRICS))}")
    return names


@dataclass
class _Context:
    G: Generator
    data: object
    detector: str
    device: torch.device
    batch_size: int
    seed: int
    progress: bool
    cache: bool
    cache_dir: str | Path | None
    files: dict
    allow_download: bool
    _dataset: object = None

    def dataset(self, required: bool):
        if self._dataset is None and self.data is not None:
            from stylegan.metrics.datasets import open_data

            self._dataset = open_data(self.data, self.G)
        if required and self._dataset is None:
            raise UserError("this metric compares with real images: give a dataset (a path or 'toyfaces')")
        return self._dataset

    def load(self, name: str) -> Detector:
        return load_detector(
            name,
            self.files.get(name),
            self.cache_dir,
            device=self.device,
            allow_download=self.allow_download,
            progress=self.progress,
        )

    def labels(self):
        return sampling.label_sampler(self.G, self.dataset(False), self.device, np.random.default_rng(self.seed))


def run_metrics(
    G: Generator,
    metrics: str | list[str],
    data=None,
    detector: str = "inception",
    num_gen: int | None = None,
    max_real: int | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 32,
    progress: bool = True,
    seed: int = 0,
    ppl_crop: bool | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    detector_files: dict[str, str | Path] | None = None,
    allow_download: bool = True,
) -> list[MetricResult]:
    """Compute each metric in ``metrics``; see the module docstring and ``compute_metrics``."""
    names = parse_metric_list(metrics)
    if detector not in DETECTORS:
        raise UserError(f"unknown detector {detector!r}; choose from {', '.join(DETECTORS)}")
    if num_gen is not None and num_gen < 1:
        raise UserError(f"--num must be positive, got {num_gen}")
    if max_real is not None and max_real < 1:
        raise UserError(f"max_real must be positive, got {max_real}")
    if batch_size < 1:
        raise UserError(f"batch size must be positive, got {batch_size}")
    ctx = _Context(
        G,
        data,
        detector,
        torch.device(device),
        batch_size,
        seed,
        progress,
        cache,
        cache_dir,
        dict(detector_files or {}),
        allow_download,
    )
    results = []
    for name in names:
        spec = METRICS[name]
        spec = replace(spec, num=num_gen or spec.num, max_real=max_real if max_real is not None else spec.max_real)
        start = time.time()
        with sampling.seeded(seed, ctx.device):
            result = _COMPUTE[spec.kind](ctx, spec, ppl_crop)
        result.seconds = time.time() - start
        results.append(result)
    return results


def compute_metrics(
    G: Generator,
    metrics: str | list[str],
    data=None,
    detector: str = "inception",
    num_gen: int | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 32,
    progress: bool = True,
    **kwargs,
) -> dict[str, float]:
    """All results of ``metrics`` as one flat dict, keyed like the official tools
    (``fid50k_full``, ``pr50k3_full_precision``, ``pr50k3_full_recall``, ``ls_z``, ``ls_w``, ...).
    Other options: see ``run_metrics``."""
    out: dict[str, float] = {}
    for r in run_metrics(
        G, metrics, data, detector, num_gen, device=device, batch_size=batch_size, progress=progress, **kwargs
    ):
        out.update(r.results)
    return out


def append_results(path: str | Path, results: list[MetricResult], network: str | None = None, **more) -> None:
    """Append one JSON line per result to ``path`` (created with its folder when missing), atomically:
    a failed write (a full disk) leaves the file as it was."""
    from stylegan.utils.files import atomic_append_text

    atomic_append_text(path, "".join(json.dumps(r.record(network, **more)) + "\n" for r in results))


def snapshot_metrics(
    G: Generator, metrics: str | list[str], run_dir: str | Path, snapshot: str | Path | None = None, **kwargs
) -> dict[str, float]:
    """For the trainer: compute ``metrics`` for a snapshot and append them to
    ``<run_dir>/metric-<name>.jsonl`` (one file per metric, as the official trainer does)."""
    out = {}
    for r in run_metrics(G, metrics, **kwargs):
        append_results(Path(run_dir) / f"metric-{r.metric}.jsonl", [r], str(snapshot) if snapshot else None)
        out.update(r.results)
    return out


# --------------------------------------------------------------------------------------------
# The metrics


def _feature_detector(ctx: _Context, kind: str) -> Detector:
    """FID/KID: Inception; PR: VGG16 (as the official PR); either one is the probe with detector=probe."""
    if ctx.detector == "probe":
        return ctx.load("probe")
    return ctx.load("vgg16_lpips" if kind == "pr" else "inception")


def _features(ctx: _Context, spec: MetricDef, det: Detector, capture_all: bool, capture_mean_cov: bool):
    from stylegan.metrics.stats import dataset_feature_stats, generator_feature_stats

    dataset = ctx.dataset(required=True)
    real = dataset_feature_stats(
        dataset,
        det,
        spec.max_real,
        capture_all,
        capture_mean_cov,
        ctx.batch_size,
        ctx.cache,
        ctx.cache_dir,
        ctx.progress,
    )
    G = sampling.eval_copy(ctx.G, ctx.device)
    images = sampling.generated_images(G, spec.num, ctx.batch_size, ctx.labels(), ctx.device)
    gen = generator_feature_stats(images, det, spec.num, capture_all, capture_mean_cov, ctx.progress)
    return real, gen


def _fid(ctx: _Context, spec: MetricDef, _crop) -> MetricResult:
    from stylegan.metrics.fid import frechet_distance

    det = _feature_detector(ctx, "fid")
    real, gen = _features(ctx, spec, det, capture_all=False, capture_mean_cov=True)
    value = frechet_distance(*gen.get_mean_cov(), *real.get_mean_cov())
    return MetricResult(spec.name, {spec.name: value}, det.name, spec.num, 0.0, dict(num_real=real.num_items))


def _kid(ctx: _Context, spec: MetricDef, _crop) -> MetricResult:
    from stylegan.metrics.kid import kernel_inception_distance

    det = _feature_detector(ctx, "kid")
    real, gen = _features(ctx, spec, det, capture_all=True, capture_mean_cov=False)
    if min(real.num_items, gen.num_items) < 2:
        raise UserError("KID needs at least 2 real and 2 generated images")
    value = kernel_inception_distance(gen.get_all(), real.get_all(), KID_SUBSETS, KID_SUBSET_SIZE, ctx.seed)
    return MetricResult(spec.name, {spec.name: value}, det.name, spec.num, 0.0, dict(num_real=real.num_items))


def _pr(ctx: _Context, spec: MetricDef, _crop) -> MetricResult:
    from stylegan.metrics.precision_recall import precision_recall

    det = _feature_detector(ctx, "pr")
    real, gen = _features(ctx, spec, det, capture_all=True, capture_mean_cov=False)
    if min(real.num_items, gen.num_items) <= PR_K:
        raise UserError(f"precision/recall needs more than k={PR_K} real and generated images")
    precision, recall = precision_recall(real.get_all(), gen.get_all(), PR_K, device=ctx.device)
    results = {f"{spec.name}_precision": precision, f"{spec.name}_recall": recall}
    return MetricResult(spec.name, results, det.name, spec.num, 0.0, dict(num_real=real.num_items))


def _ppl(ctx: _Context, spec: MetricDef, ppl_crop: bool | None) -> MetricResult:
    from stylegan.metrics.ppl import perceptual_path_length

    crop = ppl_crop_default(spec, ctx.data) if ppl_crop is None else ppl_crop
    if ctx.detector == "probe":
        distance = get_distance("probe", ctx.files.get("probe"), device=ctx.device)
    else:
        distance = get_distance(
            "lpips",
            ctx.files.get("vgg16_lpips"),
            ctx.cache_dir,
            ctx.device,
            resize_to_256=False,
            allow_download=ctx.allow_download,
        )
    value = perceptual_path_length(
        ctx.G,
        distance,
        spec.num,
        ctx.labels(),
        epsilon=PPL_EPSILON,
        space=spec.space,
        sampling=spec.sampling,
        crop=crop,
        batch_size=ctx.batch_size,
        device=ctx.device,
        progress=ctx.progress,
    )
    return MetricResult(spec.name, {spec.name: value}, distance.name, spec.num, 0.0, dict(crop=crop))


def ppl_crop_default(spec: MetricDef, data) -> bool:
    """The official crop setting of a PPL metric, except for the built-in toyfaces, whose faces are
    not aligned like FFHQ (the crop would cut them arbitrarily)."""
    return spec.crop and not (isinstance(data, str) and data == "toyfaces")


def _ls(ctx: _Context, spec: MetricDef, _crop) -> MetricResult:
    from stylegan.metrics.linear_separability import linear_separability, ls_samples

    probe = ctx.load("probe")
    if spec.num < 4:
        raise UserError("linear separability needs at least 4 samples")
    latents, probs = ls_samples(
        ctx.G, probe.attribute_probabilities, spec.num, ctx.labels(), ctx.batch_size, ctx.device, ctx.progress
    )
    out = linear_separability(latents, probs, num_keep=spec.num // 2, device=ctx.device)
    entropies = out.pop("entropies")
    return MetricResult(spec.name, out, probe.name, spec.num, 0.0, dict(entropies=entropies))


def _eq(ctx: _Context, spec: MetricDef, _crop) -> MetricResult:
    from stylegan.metrics.equivariance import compute_equivariance

    value = compute_equivariance(
        ctx.G, spec.eq, num_samples=spec.num, batch_size=ctx.batch_size, seed=ctx.seed, device=ctx.device
    )
    return MetricResult(spec.name, {spec.name: float(value)}, "none (PSNR in dB)", spec.num, 0.0)


_COMPUTE = dict(fid=_fid, kid=_kid, pr=_pr, ppl=_ppl, ls=_ls, eq=_eq)


def describe(results: list[MetricResult]) -> str:
    lines = []
    for r in results:
        values = ", ".join(f"{k} {v:.6g}" for k, v in r.results.items())
        lines.append(f"{values}  ({r.detector}, n={r.num}, {r.seconds:.1f} s)")
    return "\n".join(lines)


__all__ = [
    "METRICS",
    "MetricDef",
    "MetricResult",
    "append_results",
    "compute_metrics",
    "describe",
    "parse_metric_list",
    "run_metrics",
    "snapshot_metrics",
]
