"""Circular ("blob", "droplet") artifacts of StyleGAN: detection, scores and the experiments of
Tan, Wen, Yang, "Systematic Analysis and Removal of Circular Artifacts for StyleGAN" (2021).

- ``energy_map``: per-pixel magnitude across channels, RMS_c(x) (Section 3: most energy lies on the
  object; the artifact is a spot whose magnitude stands about an order of magnitude above it).
- ``detect_artifact``: the artifact region is the connected spot around the energy peak where the
  energy stays above half the peak; its score is peak energy / the object's energy level (a high
  quantile of the energy outside the spot). A spot counts as an artifact when it is small, its score
  is high and it stands out in many channels (the spot "repeats across channels").
- ``artifact_rate``: the fraction of images with an artifact.
- ``intensity_profiles``: the values across channels at chosen pixels (object, background, artifact),
  as the paper plots them.
- ``noise_resampling_experiment``: Claim 1, same latent and new noise: how far the artifact moves.
- ``ablate_units``: Claim 2, GAN-Dissection-style: zero the units most active in the artifact region
  (or all but one), regenerate and locate the artifact again.
- ``instance_norm_amplification``: Claim 3: after instance norm, a fraction a of high pixels takes the
  value sqrt((1 - a) / a) (about 10 for a = 0.01).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from scipy import ndimage

from stylegan.analysis.features import (
    FeatureRecorder,
    final_feature_layer,
    first_tensor,
    replace_first_tensor,
    resolve_layer,
)
from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.ops.norm import instance_norm
from stylegan.tools.generate import synthesize

# --------------------------------------------------------------------------------------------
# Energy map and detection


def energy_map(features: torch.Tensor | np.ndarray, center: bool = False) -> np.ndarray:
    """Per-pixel magnitude across channels, sqrt(mean_c x_c^2): [C, H, W] -> [H, W] or
    [N, C, H, W] -> [N, H, W]. ``center`` first subtracts each channel's spatial median (so that a
    constant style offset does not count as energy)."""
    x = _as_numpy(features)
    if center:
        x = x - np.median(x, axis=(-2, -1), keepdims=True)
    return np.sqrt(np.mean(np.square(x), axis=-3))


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (3, 4):
        raise ValueError(f"feature maps must be [C, H, W] or [N, C, H, W], got shape {list(x.shape)}")
    return x


@dataclass(frozen=True)
class ArtifactCriteria:
    """What counts as an artifact region. Defaults follow the paper's description: a small spot
    (<= 5% of the map) whose magnitude is several times the object's (>= 4x) and that shows in at
    least a quarter of the channels."""

    region_threshold: float = 0.5  # the region: connected pixels with energy >= this * peak energy
    reference_quantile: float = 0.9  # the object's level: this quantile of the map's energy (a spot of
    # at most max_area_fraction of the pixels does not move it)
    score_threshold: float = 4.0  # peak / object level needed to count as an artifact
    max_area_fraction: float = 0.05  # larger regions are objects, not artifact spots
    channel_ratio: float = 2.0  # a channel shows the spot if its mean |x| there >= this * its own
    # level (the same quantile of |x| in that channel)
    min_channel_consistency: float = 0.25  # fraction of channels that must show the spot
    center: bool = False  # subtract each channel's spatial median before measuring magnitudes

    def __post_init__(self):
        if not 0 < self.region_threshold < 1:
            raise UserError(f"region threshold must be in (0, 1), got {self.region_threshold}")
        if not 0 < self.reference_quantile < 1:
            raise UserError(f"reference quantile must be in (0, 1), got {self.reference_quantile}")
        if self.score_threshold <= 0:
            raise UserError(f"score threshold must be positive, got {self.score_threshold}")
        if not 0 < self.max_area_fraction <= 1:
            raise UserError(f"max area fraction must be in (0, 1], got {self.max_area_fraction}")
        if not 0 <= self.min_channel_consistency <= 1:
            raise UserError(f"channel consistency must be in [0, 1], got {self.min_channel_consistency}")


@dataclass
class ArtifactRegion:
    """The artifact candidate of one feature map (coordinates in feature-map pixels, (y, x))."""

    peak: tuple[int, int]
    center: tuple[float, float]
    area: int
    area_fraction: float
    peak_energy: float
    region_energy: float
    reference_energy: float
    score: float
    channel_consistency: float
    is_artifact: bool
    size: tuple[int, int]
    mask: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("mask")
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _outside(mask: np.ndarray) -> np.ndarray:
    """Pixels away from the region (the region grown by one pixel, inverted); when the region covers
    the whole map, every pixel (there is no outside to compare with)."""
    grown = ndimage.binary_dilation(mask, structure=np.ones((3, 3), bool))
    for outside in (~grown, ~mask):
        if outside.any():
            return outside
    return np.ones_like(mask, dtype=bool)


def detect_artifact(features, criteria: ArtifactCriteria = ArtifactCriteria()) -> ArtifactRegion:
    """Locate and score the artifact region of one feature map [C, H, W]."""
    x = _as_numpy(features)
    if x.ndim != 3:
        raise ValueError("detect_artifact takes one feature map [C, H, W]; use detect_artifacts for a batch")
    if criteria.center:
        x = x - np.median(x, axis=(-2, -1), keepdims=True)
    energy = np.sqrt(np.mean(np.square(x), axis=0))
    h, w = energy.shape
    peak = np.unravel_index(int(np.argmax(energy)), energy.shape)
    peak_energy = float(energy[peak])
    labels, _ = ndimage.label(energy >= criteria.region_threshold * peak_energy, structure=np.ones((3, 3), bool))
    mask = labels == labels[peak]
    reference = float(np.quantile(energy, criteria.reference_quantile))
    score = peak_energy / reference if reference > 0 else (math.inf if peak_energy > 0 else 1.0)

    magnitude = np.abs(x)
    in_region = magnitude[:, mask].mean(axis=1)
    channel_level = np.quantile(magnitude.reshape(len(x), -1), criteria.reference_quantile, axis=1)
    shows = in_region >= criteria.channel_ratio * np.maximum(channel_level, 1e-12)
    consistency = float(shows.mean())

    weights = energy * mask
    total = weights.sum()
    ys, xs = np.mgrid[0:h, 0:w]
    center = (
        (float((weights * ys).sum() / total), float((weights * xs).sum() / total))
        if total > 0
        else (float(peak[0]), float(peak[1]))
    )
    area = int(mask.sum())
    is_artifact = (
        score >= criteria.score_threshold
        and area / (h * w) <= criteria.max_area_fraction
        and consistency >= criteria.min_channel_consistency
    )
    return ArtifactRegion(
        peak=(int(peak[0]), int(peak[1])),
        center=center,
        area=area,
        area_fraction=area / (h * w),
        peak_energy=peak_energy,
        region_energy=float(energy[mask].mean()),
        reference_energy=reference,
        score=float(score),
        channel_consistency=consistency,
        is_artifact=bool(is_artifact),
        size=(h, w),
        mask=mask,
    )


def detect_artifacts(features, criteria: ArtifactCriteria = ArtifactCriteria()) -> list[ArtifactRegion]:
    """``detect_artifact`` for every map of a batch [N, C, H, W]."""
    x = _as_numpy(features)
    if x.ndim == 3:
        x = x[None]
    return [detect_artifact(m, criteria) for m in x]


def artifact_rate(regions: Sequence[ArtifactRegion]) -> float:
    """Fraction of images whose feature map holds an artifact region."""
    if not regions:
        raise ValueError("artifact rate of an empty set of samples")
    return sum(r.is_artifact for r in regions) / len(regions)


def summarize(regions: Sequence[ArtifactRegion]) -> dict:
    """Rate, count and score statistics of a set of detections."""
    scores = np.array([r.score for r in regions])
    return {
        "samples": len(regions),
        "artifacts": int(sum(r.is_artifact for r in regions)),
        "rate": artifact_rate(regions),
        "mean_score": float(scores.mean()),
        "median_score": float(np.median(scores)),
        "max_score": float(scores.max()),
    }


# --------------------------------------------------------------------------------------------
# Intensity profiles


def probe_pixels(
    features, region: ArtifactRegion | None = None, criteria: ArtifactCriteria = ArtifactCriteria()
) -> dict[str, tuple[int, int]]:
    """Three pixels to compare, as in the paper's intensity plots: ``artifact`` (the energy peak),
    ``object`` (outside the spot, the pixel whose energy is closest to the object's level) and
    ``background`` (the pixel closest to the 10% energy quantile)."""
    x = _as_numpy(features)
    region = region or detect_artifact(x, criteria)
    energy = energy_map(x, center=criteria.center)
    outside = _outside(region.mask)
    candidates = np.argwhere(outside)
    values = energy[outside]

    def closest(level: float) -> tuple[int, int]:
        y, xx = candidates[int(np.argmin(np.abs(values - level)))]
        return int(y), int(xx)

    return {
        "object": closest(region.reference_energy),
        "background": closest(float(np.quantile(values, 0.1))),
        "artifact": region.peak,
    }


def intensity_profiles(features, pixels: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """The feature values across all channels at each named pixel (y, x): {name: [C]}."""
    x = _as_numpy(features)
    if x.ndim != 3:
        raise ValueError("intensity profiles take one feature map [C, H, W]")
    out = {}
    for name, (y, xx) in pixels.items():
        if not (0 <= y < x.shape[1] and 0 <= xx < x.shape[2]):
            raise UserError(f"pixel {name} ({y}, {xx}) lies outside the {x.shape[1]}x{x.shape[2]} feature map")
        out[name] = x[:, y, xx].copy()
    return out


# --------------------------------------------------------------------------------------------
# Experiments on a generator


@contextlib.contextmanager
def _seeded_rng(seed: int, device: torch.device):
    """Fork the global RNG (CPU and the network's device), seed it, and restore it afterwards."""
    if device.type == "cuda":
        scope = torch.random.fork_rng(
            devices=[device.index if device.index is not None else torch.cuda.current_device()]
        )
    elif device.type == "cpu":
        scope = torch.random.fork_rng(devices=[])
    else:
        scope = torch.random.fork_rng(devices=[], device_type=device.type)
    with scope:
        torch.manual_seed(seed)
        yield


@torch.no_grad()
def _features_of(G: Generator, layer: str, ws: torch.Tensor, noise_mode: str, hooks=()) -> torch.Tensor:
    """Feature map [C, H, W] of ``layer`` for one ws [1, num_ws, w_dim] (``hooks``: (module, fn) pairs
    registered before the recorder, so that they change what it sees)."""
    handles = [module.register_forward_hook(fn) for module, fn in hooks]
    try:
        with FeatureRecorder(G, [layer], to_cpu=True) as rec:
            synthesize(G, ws, noise_mode=noise_mode)
    finally:
        for handle in handles:
            handle.remove()
    return rec.features[rec.names[0]][0]


def _distance(a: ArtifactRegion, b: ArtifactRegion) -> float:
    return math.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1])


def _one_ws(ws: torch.Tensor) -> torch.Tensor:
    if ws.ndim == 2:
        ws = ws[None]
    if ws.ndim != 3 or ws.shape[0] != 1:
        raise ValueError("give the ws of one sample, [1, num_ws, w_dim]")
    return ws


@dataclass
class NoiseTrial:
    noise_seed: int
    region: ArtifactRegion
    displacement: float  # distance of the region centre from the reference run, in feature-map pixels

    def to_dict(self) -> dict:
        return {"noise_seed": self.noise_seed, "displacement": self.displacement, **self.region.to_dict()}


@dataclass
class NoiseResamplingResult:
    layer: str
    reference: ArtifactRegion  # with the stored (const) noise
    trials: list[NoiseTrial]

    @property
    def mean_displacement(self) -> float:
        return float(np.mean([t.displacement for t in self.trials])) if self.trials else 0.0

    @property
    def max_displacement(self) -> float:
        return float(np.max([t.displacement for t in self.trials])) if self.trials else 0.0

    def to_dict(self) -> dict:
        size = max(self.reference.size)
        return {
            "layer": self.layer,
            "reference": self.reference.to_dict(),
            "trials": [t.to_dict() for t in self.trials],
            "mean_displacement": self.mean_displacement,
            "max_displacement": self.max_displacement,
            "mean_displacement_fraction": self.mean_displacement / size,
            "artifact_rate_with_new_noise": (
                sum(t.region.is_artifact for t in self.trials) / len(self.trials) if self.trials else None
            ),
        }


def noise_resampling_experiment(
    G: Generator,
    ws: torch.Tensor,
    layer: str,
    noise_seeds: Iterable[int],
    criteria: ArtifactCriteria = ArtifactCriteria(),
) -> NoiseResamplingResult:
    """Claim 1: keep the latent, draw new noise inputs (one run per noise seed) and measure how far
    the artifact region moves from where it is with the stored noise."""
    ws = _one_ws(ws)
    name, _ = resolve_layer(G, layer)
    device = ws.device
    reference = detect_artifact(_features_of(G, name, ws, "const"), criteria)
    trials = []
    for seed in noise_seeds:
        with _seeded_rng(int(seed), device):
            region = detect_artifact(_features_of(G, name, ws, "random"), criteria)
        trials.append(NoiseTrial(int(seed), region, _distance(reference, region)))
    return NoiseResamplingResult(name, reference, trials)


ABLATION_MODES = ("top", "all-but-one")


@dataclass
class AblationResult:
    layer: str
    measure_layer: str
    mode: str
    units: list[int]  # the zeroed units (channels of ``layer``)
    before: ArtifactRegion
    after: ArtifactRegion

    @property
    def displacement(self) -> float:
        return _distance(self.before, self.after)

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "measure_layer": self.measure_layer,
            "mode": self.mode,
            "units": self.units,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "displacement": self.displacement,
            "score_change": self.after.score - self.before.score,
        }


def rank_units(features, region: ArtifactRegion) -> list[int]:
    """Channels ordered by their mean magnitude |x| inside the artifact region, highest first."""
    x = _as_numpy(features)
    activation = np.abs(x[:, region.mask]).mean(axis=1)
    return [int(i) for i in np.argsort(-activation, kind="stable")]


def ablate_units(
    G: Generator,
    ws: torch.Tensor,
    layer: str,
    k: int = 1,
    mode: str = "top",
    measure_layer: str | None = None,
    noise_mode: str = "const",
    criteria: ArtifactCriteria = ArtifactCriteria(),
) -> AblationResult:
    """Claim 2 (GAN Dissection style): rank the units of ``layer`` by their activation in its artifact
    region, zero the top ``k`` (``mode='top'``) or every unit but the top one (``'all-but-one'``) by a
    forward hook, regenerate, and locate the artifact at ``measure_layer`` (default: the last feature
    map before RGB) before and after."""
    if mode not in ABLATION_MODES:
        raise UserError(f"ablation mode must be one of {', '.join(ABLATION_MODES)}, got {mode!r}")
    ws = _one_ws(ws)
    name, module = resolve_layer(G, layer)
    measure = resolve_layer(G, measure_layer)[0] if measure_layer else final_feature_layer(G)
    features = _features_of(G, name, ws, noise_mode)
    order = rank_units(features, detect_artifact(features, criteria))
    if mode == "top":
        if not 1 <= k <= len(order):
            raise UserError(f"number of units to ablate must be within [1, {len(order)}], got {k}")
        units = sorted(order[:k])
    else:
        units = sorted(order[1:])
    index = torch.tensor(units, dtype=torch.long)

    def zero_units(mod, inputs, output):
        tensor = first_tensor(output).clone()
        tensor[:, index.to(tensor.device)] = 0
        return replace_first_tensor(output, tensor)

    before = detect_artifact(_features_of(G, measure, ws, noise_mode), criteria)
    after = detect_artifact(_features_of(G, measure, ws, noise_mode, hooks=[(module, zero_units)]), criteria)
    return AblationResult(name, measure, mode, units, before, after)


# --------------------------------------------------------------------------------------------
# Instance-norm amplification (Claim 3)


def predicted_amplification(a: float) -> float:
    """Post-instance-norm value of the high pixels of a two-level map with a fraction a of them."""
    return math.sqrt((1 - a) / a)


def instance_norm_amplification(
    fractions: Iterable[float] = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25),
    size: int = 128,
    high: float = 5.0,
    low: float = 1.0,
    noise: float = 0.0,
    seed: int = 0,
) -> list[dict]:
    """Claim 3: a size x size map at ``low`` (plus optional N(0, noise^2) jitter) with a compact spot
    of round(a * size^2) pixels at ``high``; returns, per fraction, the measured mean post-IN value of
    the spot and the prediction sqrt((1 - a) / a) for the exact fraction."""
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for a in fractions:
        count = max(1, round(float(a) * size * size))
        if count >= size * size:
            raise UserError(f"fraction {a} leaves no low pixels in a {size}x{size} map")
        x = torch.full([size * size], float(low), dtype=torch.float64)
        if noise > 0:
            x += noise * torch.randn(x.shape, generator=gen, dtype=torch.float64)
        # A compact spot: the `count` pixels nearest the centre.
        ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
        dist = ((ys - size / 2 + 0.5) ** 2 + (xs - size / 2 + 0.5) ** 2).flatten().to(torch.float64)
        spot = torch.argsort(dist, stable=True)[:count]
        x[spot] = float(high)
        y = instance_norm(x.reshape(1, 1, size, size)).flatten()
        exact = count / (size * size)
        measured = float(y[spot].mean())
        predicted = predicted_amplification(exact)
        rows.append(
            {
                "fraction": float(a),
                "exact_fraction": exact,
                "pixels": count,
                "measured": measured,
                "predicted": predicted,
                "relative_error": abs(measured - predicted) / predicted,
            }
        )
    return rows


def instance_norm_amplification_in(features, mask: np.ndarray) -> dict:
    """Claim 3 on a real pre-normalisation feature map [C, H, W]: the mean post-IN value inside ``mask``
    per channel (median over channels whose region mean is above their map mean) against
    sqrt((1 - a) / a) with a the mask's area fraction."""
    x = torch.as_tensor(_as_numpy(features))
    if x.ndim != 3:
        raise ValueError("give one feature map [C, H, W]")
    mask_t = torch.as_tensor(np.asarray(mask, bool))
    a = float(mask_t.double().mean())
    if not 0 < a < 1:
        raise ValueError("the mask must cover some but not all pixels")
    y = instance_norm(x[None])[0]
    region = y[:, mask_t].mean(dim=1)
    high = x[:, mask_t].mean(dim=1) > x.mean(dim=(1, 2))
    measured = float(region[high].median()) if high.any() else float("nan")
    return {
        "fraction": a,
        "predicted": predicted_amplification(a),
        "measured_median": measured,
        "channels_above_mean": int(high.sum()),
    }
