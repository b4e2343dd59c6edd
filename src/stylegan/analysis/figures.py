"""PNG figures of the artifact analysis, drawn with Pillow and NumPy alone (no plotting library):
feature-map grids, energy heatmaps over the image with the artifact region marked, and the
intensity-across-channels plots of the PIN paper."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from stylegan.analysis.artifacts import ArtifactRegion

# Anchor colours of a perceptually ordered dark-to-bright colormap (black -> purple -> orange -> yellow).
_ANCHORS = np.array(
    [
        [0, 0, 4],
        [40, 11, 84],
        [101, 21, 110],
        [159, 42, 99],
        [212, 72, 66],
        [245, 125, 21],
        [250, 193, 39],
        [252, 255, 164],
    ],
    dtype=np.float64,
)
LINE_COLORS = [(31, 119, 180), (44, 160, 44), (214, 39, 40), (148, 103, 189), (255, 127, 14), (23, 190, 207)]
_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)
_GREY = (200, 200, 200)


def colorize(values: np.ndarray, vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """Map a 2-D array to RGB uint8 [H, W, 3] with the dark-to-bright colormap (vmin..vmax)."""
    v = np.asarray(values, dtype=np.float64)
    lo = float(v.min()) if vmin is None else vmin
    hi = float(v.max()) if vmax is None else vmax
    t = np.clip((v - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(v)
    pos = t * (len(_ANCHORS) - 1)
    idx = np.minimum(pos.astype(int), len(_ANCHORS) - 2)
    frac = (pos - idx)[..., None]
    rgb = _ANCHORS[idx] * (1 - frac) + _ANCHORS[idx + 1] * frac
    return np.round(rgb).astype(np.uint8)


def _image_to_uint8(image) -> np.ndarray:
    x = torch.as_tensor(image).detach().to("cpu", torch.float32)
    if x.ndim != 3:
        raise ValueError("give one image [C, H, W]")
    x = (x * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    return np.repeat(x, 3, axis=2) if x.shape[2] == 1 else x[:, :, :3]


def _resize(rgb: np.ndarray, size: int) -> Image.Image:
    return Image.fromarray(rgb).resize((size, size), Image.NEAREST)


def feature_grid(
    features,
    channels: list[int] | None = None,
    max_channels: int = 16,
    cols: int | None = None,
    tile: int = 96,
    pad: int = 2,
) -> Image.Image:
    """Tiles of |x| per channel of a feature map [C, H, W], each scaled to its own maximum
    (``channels``: which ones, default the first ``max_channels``)."""
    x = np.abs(torch.as_tensor(features).detach().to("cpu", torch.float64).numpy())
    if x.ndim != 3:
        raise ValueError("give one feature map [C, H, W]")
    channels = list(range(min(max_channels, x.shape[0]))) if channels is None else list(channels)[:max_channels]
    cols = cols or max(1, math.ceil(math.sqrt(len(channels))))
    rows = math.ceil(len(channels) / cols)
    canvas = Image.new("RGB", (cols * (tile + pad) + pad, rows * (tile + pad) + pad), _WHITE)
    for i, c in enumerate(channels):
        r, k = divmod(i, cols)
        canvas.paste(_resize(colorize(x[c], 0.0), tile), (pad + k * (tile + pad), pad + r * (tile + pad)))
    return canvas


def _mark_region(draw: ImageDraw.ImageDraw, region: ArtifactRegion, scale: float, offset: int) -> None:
    cy, cx = (region.center[0] + 0.5) * scale, (region.center[1] + 0.5) * scale
    radius = (math.sqrt(region.area / math.pi) + 1.5) * scale
    color = (0, 255, 0) if region.is_artifact else (0, 160, 255)
    draw.ellipse([offset + cx - radius, cy - radius, offset + cx + radius, cy + radius], outline=color, width=2)
    py, px = (region.peak[0] + 0.5) * scale, (region.peak[1] + 0.5) * scale
    draw.line([offset + px - 4, py, offset + px + 4, py], fill=color, width=1)
    draw.line([offset + px, py - 4, offset + px, py + 4], fill=color, width=1)


def energy_figure(
    image, energy: np.ndarray, region: ArtifactRegion | None = None, size: int = 256, caption: str | None = None
) -> Image.Image:
    """Three panels: the image, the energy heatmap, and the heatmap blended over the image; the
    artifact region (green when it counts as an artifact, blue otherwise) and its peak are marked."""
    img = np.asarray(_resize(_image_to_uint8(image), size), dtype=np.float64)
    heat = np.asarray(Image.fromarray(colorize(energy, 0.0)).resize((size, size), Image.BILINEAR), dtype=np.float64)
    blend = 0.45 * img + 0.55 * heat
    text_h = 16 if caption else 0
    canvas = Image.new("RGB", (3 * size + 4 * 4, size + 8 + text_h), _WHITE)
    for i, panel in enumerate([img, heat, blend]):
        canvas.paste(Image.fromarray(np.round(panel).astype(np.uint8)), (4 + i * (size + 4), 4))
    draw = ImageDraw.Draw(canvas)
    if region is not None:
        scale = size / energy.shape[0]
        for i in (1, 2):
            _mark_region(draw, region, scale, 4 + i * (size + 4))
    if caption:
        draw.text((4, size + 6), caption, fill=_BLACK, font=ImageFont.load_default())
    return canvas


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def intensity_plot(profiles: dict[str, np.ndarray], title: str = "", size: tuple[int, int] = (720, 400)) -> Image.Image:
    """Line plot of feature values (y) against channel index (x), one line per probed pixel."""
    width, height = size
    left, right, top, bottom = 60, 130, 30, 40
    canvas = Image.new("RGB", size, _WHITE)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    values = [np.asarray(v, dtype=np.float64) for v in profiles.values()]
    if not values:
        raise ValueError("nothing to plot")
    channels = max(len(v) for v in values)
    lo = min(float(v.min()) for v in values)
    hi = max(float(v.max()) for v in values)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def to_xy(i: float, v: float) -> tuple[float, float]:
        x = left + (i / max(channels - 1, 1)) * plot_w
        y = top + (1 - (v - lo) / (hi - lo)) * plot_h
        return x, y

    for tick in _nice_ticks(lo, hi):
        _, y = to_xy(0, tick)
        draw.line([left, y, left + plot_w, y], fill=(235, 235, 235))
        draw.text((4, y - 6), f"{tick:g}", fill=_BLACK, font=font)
    for tick in _nice_ticks(0, channels - 1):
        x, _ = to_xy(tick, lo)
        draw.line([x, top + plot_h, x, top + plot_h + 4], fill=_BLACK)
        draw.text((x - 6, top + plot_h + 6), f"{int(tick)}", fill=_BLACK, font=font)
    if lo < 0 < hi:
        _, y0 = to_xy(0, 0)
        draw.line([left, y0, left + plot_w, y0], fill=_GREY)
    draw.rectangle([left, top, left + plot_w, top + plot_h], outline=_BLACK)
    for k, (name, v) in enumerate(zip(profiles, values)):
        color = LINE_COLORS[k % len(LINE_COLORS)]
        points = [to_xy(i, float(val)) for i, val in enumerate(v)]
        if len(points) > 1:
            draw.line(points, fill=color, width=2)
        else:
            draw.ellipse([points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2], fill=color)
        ly = top + 8 + 16 * k
        draw.line([left + plot_w + 10, ly + 6, left + plot_w + 30, ly + 6], fill=color, width=3)
        draw.text((left + plot_w + 36, ly), name, fill=_BLACK, font=font)
    draw.text((left, 8), title, fill=_BLACK, font=font)
    draw.text((left + plot_w // 2 - 20, height - 16), "channel", fill=_BLACK, font=font)
    return canvas


def save_figure(figure: Image.Image, path: str | Path) -> Path:
    """Write a figure as PNG atomically, creating folders as needed."""
    from stylegan.utils.files import atomic_write

    return atomic_write(path, lambda tmp: figure.save(tmp, format="PNG"))


def image_to_rgb(image) -> np.ndarray:
    """One image [C, H, W] in [-1, 1] as RGB uint8 [H, W, 3] (grey images repeated)."""
    return _image_to_uint8(image)


def labelled_grid(
    cells: list[list[np.ndarray]],
    row_labels: list[str] | None = None,
    col_labels: list[str] | None = None,
    tile: int = 96,
    pad: int = 4,
    highlight: set[tuple[int, int]] = frozenset(),
) -> Image.Image:
    """Rows of RGB pictures [h, w, 3] (uint8, each scaled to ``tile`` pixels high with nearest
    neighbours), with optional labels to the left of rows and above columns; the cells (row, col)
    in ``highlight`` get a red frame."""
    font = ImageFont.load_default()
    rows = len(cells)
    cols = max((len(r) for r in cells), default=0)
    if not rows or not cols:
        raise ValueError("nothing to draw")
    widths = [0] * cols
    for r in cells:
        for k, pic in enumerate(r):
            widths[k] = max(widths[k], round(tile * pic.shape[1] / pic.shape[0]))
    left = 8 + 6 * max((len(s) for s in row_labels or []), default=0) if row_labels else 0
    top = 16 if col_labels else 0
    width = left + sum(widths) + pad * (cols + 1)
    height = top + rows * (tile + pad) + pad
    canvas = Image.new("RGB", (width, height), _WHITE)
    draw = ImageDraw.Draw(canvas)
    xs = [left + pad + sum(widths[:k]) + pad * k for k in range(cols)]
    for k, label in enumerate(col_labels or []):
        draw.text((xs[k], 2), label, fill=_BLACK, font=font)
    for i, r in enumerate(cells):
        y = top + pad + i * (tile + pad)
        if row_labels:
            draw.text((4, y + tile // 2 - 6), row_labels[i], fill=_BLACK, font=font)
        for k, pic in enumerate(r):
            w = round(tile * pic.shape[1] / pic.shape[0])
            canvas.paste(Image.fromarray(np.ascontiguousarray(pic)).resize((w, tile), Image.NEAREST), (xs[k], y))
            if (i, k) in highlight:
                draw.rectangle([xs[k] - 2, y - 2, xs[k] + w + 1, y + tile + 1], outline=(220, 30, 30), width=2)
    return canvas


def channels_as_rgb(
    features, channels: tuple[int, int, int] = (0, 1, 2), lo_q: float = 0.01, hi_q: float = 0.99
) -> np.ndarray:
    """Three channels of a feature map [C, H, W] as the R, G, B of a picture [H, W, 3] uint8, each
    channel stretched from its ``lo_q`` to its ``hi_q`` quantile (the StyleGAN3 paper's view of
    internal representations)."""
    x = torch.as_tensor(features).detach().to("cpu", torch.float64).numpy()
    if x.ndim != 3:
        raise ValueError("give one feature map [C, H, W]")
    planes = []
    for c in channels:
        v = x[c]
        lo, hi = np.quantile(v, lo_q), np.quantile(v, hi_q)
        planes.append(np.clip((v - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(v))
    return np.round(np.stack(planes, axis=-1) * 255).astype(np.uint8)
