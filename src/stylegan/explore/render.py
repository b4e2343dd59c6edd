"""What the explorer shows, computed through the library's own functions (no web code here).

One ``Settings`` describes everything the page controls; ``render(G, settings)`` turns it into the
picture the page shows, in these steps:

- **ws** (``settings_ws``): the latent position (x, y) blends the ws of four seeds bilinearly, as the
  official visualizer does: the seeds at the corners of the unit square around (x, y) are
  ``floor(x) + dx + (floor(y) + dy) * step_y`` (``dx, dy`` in {0, 1}), with weights
  ``(1 - |x - sx|) (1 - |y - sy|)``; at whole (x, y) this is exactly the one seed ``x + y * step_y``.
  Each seed's z is drawn as ``stylegan generate`` draws it and mapped with the truncation psi and
  cutoff and the chosen class (``labels_for``). An imported w (``.npz``, the projector's format) can
  stand in for the seeds. Style mixing copies the mix seed's ws in at the checked layers (``mix_ws``).
- **edit** (``stylegan.editing``): strengths along the vectors of a direction (a direction file or
  one computed on the spot) move the latent as ``stylegan edit`` does: z, w and w+ directions through
  ``edited_ws`` (every blended seed's latent, before the style mixing), S directions through
  ``offset_styles`` during synthesis.
- **synthesis** (``synthesize``), inside the StyleGAN3 user transform (``user_transform``), with the
  noise mode (``random`` noise drawn from ``noise_seed``) and the numeric precision (``bf16``: the
  network's bfloat16 copy from ``prepare_inference``, made once per network and kept; ``fp16``:
  autocast); a chosen layer's output is recorded with ``FeatureRecorder``.
- **view** (``layer_view``): the official visualizer's layer view: 3 channels as RGB or 1 channel,
  from ``base_channel`` on, optionally normalised by the channels' maxima, times the gain
  (``10^(dB / 20)``), shown as ``x * 127.5 + 128``; statistics (mean, std, max |x|) of all channels
  and of the shown ones; the power spectrum (Kaiser window, dB relative to its mean) beside it.

With the default view of the output image the picture is exactly ``to_uint8`` of the image
``stylegan generate`` writes for the same seed, psi, class, noise and transform.
"""

from __future__ import annotations

import contextlib
import math
import time
import weakref
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from stylegan.analysis.features import FeatureRecorder, ws_for_seeds
from stylegan.analysis.figures import colorize
from stylegan.errors import UserError
from stylegan.layers.modulated import NOISE_MODES
from stylegan.models.interface import Transformable
from stylegan.tools.generate import check_truncation, labels_for, synthesize, user_transform
from stylegan.tools.mix import mix_ws, preset_layers
from stylegan.utils.seeds import MAX_SEED, z_from_seeds

PRECISIONS = ("fp32", "bf16", "fp16")
STEP_Y = 100  # seeds per row of the latent plane (the official visualizer's step)
MAX_GAIN_DB = 60.0


@dataclass
class Settings:
    """Everything the page controls. Defaults render seed 0 as ``stylegan generate`` does."""

    # Latent
    x: float = 0.0
    y: float = 0.0
    step_y: int = STEP_Y
    w_id: str | None = None  # an imported w in place of the seeds
    psi: float = 1.0
    cutoff: int | None = None
    class_idx: int | None = None
    # Style mixing
    mix_seed: int = 0
    mix_layers: list[int] = field(default_factory=list)
    # Noise
    noise_mode: str = "const"
    noise_seed: int = 0
    # StyleGAN3 transform
    translate_x: float = 0.0
    translate_y: float = 0.0
    rotate: float = 0.0
    round_translate: bool = False  # round the translation to whole output pixels
    untransform: bool = False  # undo the input transform on the output (resampled)
    # Layer view
    layer: str | None = None  # None: the output image
    sel_channels: int = 3  # 3 (RGB) or 1
    base_channel: int = 0
    normalize: bool = False
    gain_db: float = 0.0
    fft: bool = False
    fft_all: bool = True  # spectrum of all channels (else of the shown ones)
    fft_range_db: float = 50.0
    fft_beta: float = 8.0
    # Editing: strengths along the vectors of a loaded or computed direction (stylegan.editing)
    direction_id: str | None = None
    edit_strengths: list[float] = field(default_factory=list)
    # Performance
    precision: str = "fp32"

    def check(self, G) -> None:
        """A ``UserError`` naming the first value this network cannot take."""
        for name in ("x", "y", "psi", "translate_x", "translate_y", "rotate", "gain_db", "fft_range_db", "fft_beta"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise UserError(f"{name} must be a finite number, got {value!r}")
        if not 1 <= self.step_y <= 2**16:
            raise UserError(f"step_y must be in [1, 65536], got {self.step_y}")
        check_truncation(self.psi, self.cutoff, G.num_ws)
        if not 0 <= self.mix_seed <= MAX_SEED:
            raise UserError(f"mix seed must be in [0, 2^32), got {self.mix_seed}")
        if not 0 <= self.noise_seed <= MAX_SEED:
            raise UserError(f"noise seed must be in [0, 2^32), got {self.noise_seed}")
        bad = [i for i in self.mix_layers if not 0 <= i < G.num_ws]
        if bad:
            raise UserError(
                f"style-mixing layer {bad[0]} is out of range: this network has {G.num_ws} ws (0-{G.num_ws - 1})"
            )
        if self.noise_mode not in NOISE_MODES:
            raise UserError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {self.noise_mode!r}")
        if self.sel_channels not in (1, 3):
            raise UserError(f"show 1 or 3 channels, got {self.sel_channels}")
        if self.base_channel < 0:
            raise UserError(f"channel must be >= 0, got {self.base_channel}")
        if abs(self.gain_db) > MAX_GAIN_DB:
            raise UserError(f"gain must be within +-{MAX_GAIN_DB:g} dB, got {self.gain_db:g}")
        if not 1 <= self.fft_range_db <= 200:
            raise UserError(f"FFT range must be in [1, 200] dB, got {self.fft_range_db:g}")
        if not 0 <= self.fft_beta <= 50:
            raise UserError(f"FFT Kaiser beta must be in [0, 50], got {self.fft_beta:g}")
        if self.precision not in PRECISIONS:
            raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        from stylegan.editing.edit import MAX_STRENGTH

        if not all(
            isinstance(a, (int, float)) and math.isfinite(a) and abs(a) <= MAX_STRENGTH for a in self.edit_strengths
        ):
            raise UserError(f"edit strengths must be finite numbers within +-{MAX_STRENGTH:g}")
        if self.has_transform() and not is_stylegan3(G):
            raise UserError(f"translate and rotate need a StyleGAN3 network; this one is a {network_kind(G)}")

    def has_transform(self) -> bool:
        return bool(self.translate_x or self.translate_y or self.rotate)


def network_kind(G) -> str:
    return getattr(G, "kind", type(G).__name__)


def is_stylegan3(G) -> bool:
    return isinstance(G, Transformable)


def latent_seeds(x: float, y: float, step_y: int = STEP_Y) -> list[tuple[int, float]]:
    """(seed, weight) of the up to four seeds blended at latent position (x, y), weights summing to 1."""
    out = []
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        sx, sy = math.floor(x) + dx, math.floor(y) + dy
        weight = (1 - abs(x - sx)) * (1 - abs(y - sy))
        if weight > 0:
            out.append(((int(sx) + int(sy) * step_y) & MAX_SEED, weight))
    return out


def style_presets(G) -> dict[str, list[int]]:
    """The coarse/middle/fine ws of ``G`` (as ``stylegan mix --coarse`` ...); empty under 3 ws."""
    if G.num_ws < 3:
        return {}
    return {name: preset_layers(name, G.num_ws) for name in ("coarse", "middle", "fine")}


def settings_edit(G, s: Settings, directions: dict | None = None):
    """The edit of ``s`` as one ``Direction`` of one vector (the strengths times the scaled vectors,
    summed), or None when no strength is set."""
    from stylegan.editing.directions import Direction

    if s.direction_id is None or not any(s.edit_strengths):
        return None
    if not directions or s.direction_id not in directions:
        raise UserError(f"no direction named {s.direction_id!r}; load or compute one first")
    d = directions[s.direction_id]
    if len(s.edit_strengths) > len(d):
        raise UserError(f"{len(s.edit_strengths)} strengths for a direction of {len(d)} vectors")
    v = sum(a * d.scales[i] * d.vectors[i] for i, a in enumerate(s.edit_strengths) if a)
    return Direction(v[None].float(), torch.ones(1), d.space, d.method, ["edit"], d.layers)


@torch.no_grad()
def settings_ws(
    G, s: Settings, imported: dict[str, torch.Tensor] | None = None, device="cpu", directions: dict | None = None
) -> torch.Tensor:
    """The ws [1, num_ws, w_dim] that ``s`` stands for (see the module docstring); a z, w or w+ edit
    moves every blended seed's latent (``edited_ws``) before the blend and the style mixing."""
    from stylegan.editing.edit import EditInputs, edited_ws

    edit = settings_edit(G, s, directions)
    if edit is not None and edit.space == "s":
        edit = None  # applied to the styles during synthesis
    if s.w_id is not None:
        if not imported or s.w_id not in imported:
            raise UserError(f"no imported w named {s.w_id!r}; import a .npz first")
        ws = imported[s.w_id].to(device, torch.float32).reshape(1, G.num_ws, G.w_dim)
        if edit is not None:
            ws = edited_ws(G, EditInputs(ws), edit, 0, 1.0)
    else:
        blend = latent_seeds(s.x, s.y, s.step_y)
        seeds = list(dict.fromkeys(seed for seed, _ in blend))
        z = z_from_seeds(seeds, G.z_dim).to(device)
        c = labels_for(G, s.class_idx, len(seeds), device)
        all_ws = G.mapping(z, c, truncation_psi=s.psi, truncation_cutoff=s.cutoff)
        if edit is not None:
            all_ws = edited_ws(G, EditInputs(all_ws, z, c, s.psi, s.cutoff), edit, 0, 1.0)
        by_seed = dict(zip(seeds, all_ws))
        ws = sum(by_seed[seed] * weight for seed, weight in blend)[None]
    if s.mix_layers:
        mix = ws_for_seeds(G, [s.mix_seed], s.psi, s.cutoff, s.class_idx, device)
        ws = mix_ws(ws, mix, sorted(set(s.mix_layers)))
    return ws


def translation(G, s: Settings) -> tuple[float, float] | None:
    """The StyleGAN3 translation of ``s`` in image sizes (rounded to output pixels when asked)."""
    tx, ty = s.translate_x, s.translate_y
    if s.round_translate:
        res = G.img_resolution
        tx, ty = round(tx * res) / res, round(ty * res) / res
    return (tx, ty) if (tx or ty) else None


_BF16_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def network_for(G, precision: str):
    """The network that computes in ``precision``: ``G`` itself for ``fp32`` and ``fp16`` (autocast,
    ``precision_context``); for ``bf16`` its copy with bfloat16 weights (``prepare_inference``), made on
    the first bf16 rendering of ``G`` and kept while ``G`` lives, so that no weight is cast per frame."""
    if precision != "bf16":
        return G
    copy = _BF16_COPIES.get(G)
    if copy is None:
        from stylegan.utils.precision import prepare_inference

        copy = _BF16_COPIES[G] = prepare_inference(G, "bf16")
    return copy


@contextlib.contextmanager
def precision_context(precision: str, device: torch.device):
    """Autocast for ``fp16`` on ``device`` (a ``UserError`` where this PyTorch refuses it); nothing for
    ``fp32`` and ``bf16`` (``network_for`` gives the bfloat16 network)."""
    if precision != "fp16":
        yield
        return
    try:
        scope = torch.autocast(device.type, dtype=torch.float16)
    except RuntimeError:
        raise UserError(f"{precision} is not available on {device.type} with this PyTorch") from None
    with scope:
        yield


@contextlib.contextmanager
def noise_rng(noise_mode: str, seed: int, device: torch.device):
    """``random`` noise drawn from ``seed``: the global RNG forked and seeded, restored afterwards."""
    if noise_mode != "random":
        yield
        return
    devices = (
        [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    )
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@dataclass
class Rendered:
    """One rendering: the picture the page shows (uint8 [H, W, 3]) and what the panels report."""

    picture: np.ndarray
    image: torch.Tensor  # the network's output image [1, C, H, W] in [-1, 1], float32 on the CPU
    ws: torch.Tensor  # [1, num_ws, w_dim] on the CPU
    layer: str | None
    shape: list[int]  # of the shown tensor [C, H, W]
    dtype: str
    stats: dict[str, float]
    base_channel: int
    sel_channels: int
    seconds: float
    features: torch.Tensor | None = None  # the chosen layer's output [C, H, W] (float32, CPU)

    def info(self) -> dict:
        return {
            "layer": self.layer,
            "shape": self.shape,
            "dtype": self.dtype,
            "stats": self.stats,
            "base_channel": self.base_channel,
            "sel_channels": self.sel_channels,
            "render_ms": round(self.seconds * 1000, 1),
        }


@contextlib.contextmanager
def style_edit(G, s: Settings, directions: dict | None):
    """An S-space edit of ``s`` applied to the styles within the block (``offset_styles``)."""
    edit = settings_edit(G, s, directions)
    if edit is None or edit.space != "s":
        yield
        return
    from stylegan.editing.edit import style_offset
    from stylegan.editing.styles import offset_styles, style_layers

    slayers = style_layers(G)
    device = next(G.parameters()).device
    with offset_styles(G, style_offset(G, edit, 0, 1.0, None, slayers).to(device), slayers):
        yield


VIEW_FIELDS = ("sel_channels", "base_channel", "normalize", "gain_db", "fft", "fft_all", "fft_range_db", "fft_beta")


@dataclass
class Synthesis:
    """What a rendering computes before the view: the image, the shown tensor and its dtype."""

    image: torch.Tensor  # [1, C, H, W] float32 on the CPU
    out: torch.Tensor  # the output image or the chosen layer's output [1, C, H, W], float32 (untransformed if asked)
    dtype: str  # of that tensor as the network computed it
    layer: str | None
    ws: torch.Tensor  # [1, num_ws, w_dim] on the CPU


class SynthesisCache:
    """The last synthesis, reused while only the view changes (channel, gain, normalise, FFT), so that
    scrubbing through channels of a slow network is immediate."""

    def __init__(self):
        self.key = None
        self.value: Synthesis | None = None

    @staticmethod
    def key_of(G, s: Settings) -> tuple:
        fields = asdict(s)
        for name in VIEW_FIELDS:
            fields.pop(name)
        return id(G), repr(sorted(fields.items()))


@torch.no_grad()
def synthesis(
    G, s: Settings, imported: dict[str, torch.Tensor] | None = None, directions: dict | None = None
) -> Synthesis:
    """Run the network for ``s`` (everything but the view)."""
    device = next(G.parameters()).device
    ws = settings_ws(G, s, imported, device, directions)
    G = network_for(G, s.precision)
    feats, name = None, None
    with (
        user_transform(G, translation(G, s), s.rotate or None),
        noise_rng(s.noise_mode, s.noise_seed, device),
        precision_context(s.precision, device),
        style_edit(G, s, directions),
    ):
        if s.layer is None:
            image = synthesize(G, ws, noise_mode=s.noise_mode)
        else:
            with FeatureRecorder(G, [s.layer]) as rec:
                image = synthesize(G, ws, noise_mode=s.noise_mode)
            name = rec.names[0]
            feats = rec.features.get(name)
            if feats is None:
                raise UserError(f"layer {s.layer!r} gave no feature map")
        out = image if feats is None else feats
        dtype = str(out.dtype).replace("torch.", "")
        out = out.to(torch.float32)
        if s.untransform and is_stylegan3(G) and s.has_transform():
            out = untransformed(out, G.synthesis.input.transform)
    return Synthesis(image.to(torch.float32).cpu(), out.cpu(), dtype, name, ws.cpu())


def render(
    G,
    s: Settings,
    imported: dict[str, torch.Tensor] | None = None,
    directions: dict | None = None,
    cache: SynthesisCache | None = None,
) -> Rendered:
    """Render ``s`` with ``G`` (on the device its parameters are on); with ``cache``, a change of the
    view alone reuses the last synthesis."""
    start = time.perf_counter()
    s.check(G)
    key = SynthesisCache.key_of(G, s) if cache is not None else None
    if cache is not None and cache.key == key:
        result = cache.value
    else:
        result = synthesis(G, s, imported, directions)
        if cache is not None:
            cache.key, cache.value = key, result
    picture, stats, base, sel = layer_view(result.out[0], s)
    return Rendered(
        picture=picture,
        image=result.image,
        ws=result.ws,
        layer=result.layer,
        shape=list(result.out.shape[1:]),
        dtype=result.dtype,
        stats=stats,
        base_channel=base,
        sel_channels=sel,
        seconds=time.perf_counter() - start,
        features=None if result.layer is None else result.out[0],
    )


def untransformed(x: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
    """Resample ``x`` [N, C, H, W] through the input transform, undoing the user's translation and
    rotation (band-limited, as the equivariance metrics resample; the official visualizer's untransform)."""
    from stylegan.metrics.equivariance import apply_affine_transformation

    out, _mask = apply_affine_transformation(x, transform.to(torch.float32), a=3, amax=6)
    return out


def layer_view(out: torch.Tensor, s: Settings) -> tuple[np.ndarray, dict[str, float], int, int]:
    """(picture uint8 [H, W(, x2 with the FFT), 3], statistics, base channel, channels shown) of one
    tensor [C, H, W] as the official visualizer shows a layer."""
    out = out.to(torch.float32)
    sel_channels = s.sel_channels if s.sel_channels <= out.shape[0] else 1
    base = max(min(s.base_channel, out.shape[0] - sel_channels), 0)
    sel = out[base : base + sel_channels]
    stats = {
        "mean": out.mean(),
        "sel_mean": sel.mean(),
        "std": out.std() if out.numel() > 1 else out.new_zeros(()),
        "sel_std": sel.std() if sel.numel() > 1 else sel.new_zeros(()),
        "max": out.abs().max(),
        "sel_max": sel.abs().max(),
    }
    stats = {k: float(v) for k, v in stats.items()}
    img = sel
    if s.normalize:
        img = img / img.abs().amax(dim=(1, 2), keepdim=True).clip(1e-8, 1e8)
    if s.gain_db:
        img = img * (10 ** (s.gain_db / 20))
    img = (img * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if s.fft:
        spectrum = power_spectrum_db(out if s.fft_all else sel, s.fft_beta)
        img = np.concatenate([img, colorize(spectrum, -s.fft_range_db, s.fft_range_db)], axis=1)
    return np.ascontiguousarray(img), stats, base, sel_channels


def power_spectrum_db(x: torch.Tensor, beta: float = 8.0) -> np.ndarray:
    """Power spectrum [H, W] of the channels of ``x`` [C, H, W] summed, centred, in dB relative to its
    mean: each channel's mean removed and a separable Kaiser window (``beta``) applied first."""
    from stylegan.tools.spectra import window_1d

    x = x.to(torch.float64)
    x = x - x.mean(dim=(1, 2), keepdim=True)
    x = x * window_1d(x.shape[1], "kaiser", beta, device=x.device).to(x.dtype)[None, :, None]
    x = x * window_1d(x.shape[2], "kaiser", beta, device=x.device).to(x.dtype)[None, None, :]
    power = torch.fft.fftn(x, dim=(1, 2)).abs().square().sum(dim=0)
    power = power.roll(shifts=(power.shape[0] // 2, power.shape[1] // 2), dims=(0, 1))
    return (10 * torch.log10(power / power.mean().clamp_min(1e-30) + 1e-30)).cpu().numpy()


def settings_dict(s: Settings) -> dict:
    return asdict(s)


@torch.no_grad()
def layer_table(G) -> list[dict]:
    """Every feature map the synthesis network computes, in running order: name, [C, H, W], dtype
    (one rendering of seed 0 with all of them recorded)."""
    names = [f"synthesis.{name}" for name, _ in G.synthesis.named_modules() if name]
    device = next(G.parameters()).device
    ws = ws_for_seeds(G, [0], class_idx=0 if G.c_dim else None, device=device)
    with FeatureRecorder(G, names) as rec:
        synthesize(G, ws, noise_mode="const")
    table: list[dict[str, object]] = [
        {"name": name, "shape": list(t.shape[1:]), "dtype": str(t.dtype).replace("torch.", "")}
        for name, t in rec.features.items()
        if t.ndim == 4
    ]
    table.append({"name": None, "shape": [G.img_channels, G.img_resolution, G.img_resolution], "dtype": "float32"})
    return table


# --------------------------------------------------------------------------------------------
# Circular-artifact tools on the current image


@torch.no_grad()
def artifact_tools(
    G, s: Settings, imported: dict[str, torch.Tensor] | None = None, size: int = 256, directions: dict | None = None
) -> dict:
    """The circular-artifact tools (``stylegan.analysis.artifacts``) on the image ``s`` renders, at
    ``s.layer`` (default: the layer the PIN paper studies): the energy figure (image, energy heatmap,
    overlay, with the artifact region marked), the region's numbers, the per-pixel channel profiles
    (object, background, artifact pixels) and their plot. Figures are PIL images."""
    from stylegan.analysis.artifacts import detect_artifact, energy_map, intensity_profiles, probe_pixels
    from stylegan.analysis.features import default_analysis_layer
    from stylegan.analysis.figures import energy_figure, intensity_plot

    layer = s.layer or default_analysis_layer(G)
    view = Settings(**{**asdict(s), "layer": layer, "fft": False, "untransform": False})
    result = render(G, view, imported, directions)
    feats = result.features
    energy = energy_map(feats)
    region = detect_artifact(feats)
    pixels = probe_pixels(feats, region)
    profiles = intensity_profiles(feats, pixels)
    caption = f"{result.layer}: score {region.score:.2f}, {'artifact' if region.is_artifact else 'no artifact'}"
    return {
        "layer": result.layer,
        "region": region.to_dict(),
        "pixels": {k: list(v) for k, v in pixels.items()},
        "profiles": {k: v.tolist() for k, v in profiles.items()},
        "energy_figure": energy_figure(result.image[0], energy, region, size=size, caption=caption),
        "profile_figure": intensity_plot(profiles, title=f"channel values at three pixels of {result.layer}"),
    }


def pin_gates(G) -> list[dict]:
    """The gates p of every PIN layer (a ``stylegan1-pin`` network; empty for others): name, channels,
    mean, min, max and the values (p = 1 pixel norm, p = 0 instance norm)."""
    from stylegan.layers.pin import PixelInstanceNorm

    out = []
    for name, module in G.named_modules():
        if isinstance(module, PixelInstanceNorm):
            gate = module.gate.detach().to("cpu", torch.float64)
            out.append(
                {
                    "name": name,
                    "channels": int(gate.numel()),
                    "mean": float(gate.mean()),
                    "min": float(gate.min()),
                    "max": float(gate.max()),
                    "values": gate.tolist(),
                }
            )
    return out
