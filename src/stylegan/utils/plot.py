"""Small figures drawn with numpy and Pillow: banded heatmaps and line plots, returned as uint8
[H, W, 3] pictures (save them with ``stylegan.utils.images.save_png``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# matplotlib's "Blues" colour map, light to dark, and a qualitative palette for lines.
BLUES = np.array(
    [
        (247, 251, 255),
        (222, 235, 247),
        (198, 219, 239),
        (158, 202, 225),
        (107, 174, 214),
        (66, 146, 198),
        (33, 113, 181),
        (8, 81, 156),
        (8, 48, 107),
    ],
    dtype=np.float64,
)
LINE_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
INK = (30, 30, 30)
GRID_INK = (215, 215, 215)


def blues(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB uint8 along the Blues colour map."""
    x = np.clip(np.asarray(values, dtype=np.float64), 0, 1) * (len(BLUES) - 1)
    lo = np.floor(x).astype(int).clip(0, len(BLUES) - 2)
    frac = (x - lo)[..., None]
    return np.rint(BLUES[lo] * (1 - frac) + BLUES[lo + 1] * frac).astype(np.uint8)


def font(size: int = 13):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 or no FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _label(value: float) -> str:
    return f"{0.0 if abs(value) < 1e-9 else value:.4g}"


@dataclass
class Axes:
    """A plotting area ``box`` = (left, top, right, bottom) in pixels showing ``xlim`` x ``ylim``."""

    draw: ImageDraw.ImageDraw
    box: tuple[int, int, int, int]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    text_font: object = field(default_factory=font)

    def px(self, x, y):
        left, top, right, bottom = self.box
        fx = (np.asarray(x, dtype=np.float64) - self.xlim[0]) / (self.xlim[1] - self.xlim[0])
        fy = (np.asarray(y, dtype=np.float64) - self.ylim[0]) / (self.ylim[1] - self.ylim[0])
        return left + fx * (right - left), bottom - fy * (bottom - top)

    def decorate(
        self,
        xticks: Sequence[float],
        yticks: Sequence[float],
        title: str = "",
        xlabel: str = "",
        ylabel: str = "",
        grid: bool = False,
    ) -> None:
        left, top, right, bottom = self.box
        d, f = self.draw, self.text_font
        for x in xticks:
            px, _ = self.px(x, self.ylim[0])
            if grid:
                d.line([(px, top), (px, bottom)], fill=GRID_INK)
            d.line([(px, bottom), (px, bottom + 4)], fill=INK)
            d.text((px, bottom + 6), _label(x), fill=INK, font=f, anchor="ma")
        for y in yticks:
            _, py = self.px(self.xlim[0], y)
            if grid:
                d.line([(left, py), (right, py)], fill=GRID_INK)
            d.line([(left - 4, py), (left, py)], fill=INK)
            d.text((left - 6, py), _label(y), fill=INK, font=f, anchor="rm")
        d.rectangle(self.box, outline=INK)
        if title:
            d.text(((left + right) / 2, top - 8), title, fill=INK, font=f, anchor="md")
        if xlabel:
            d.text(((left + right) / 2, bottom + 24), xlabel, fill=INK, font=f, anchor="ma")
        if ylabel:
            d.text((left - 44, top - 8), ylabel, fill=INK, font=f, anchor="ld")

    def lines(self, xs, ys, color, width: int = 2) -> None:
        """A polyline clipped to the plotting area (points outside are clamped to its border)."""
        x, y = self.px(xs, ys)
        left, top, right, bottom = self.box
        points = list(zip(np.clip(x, left, right).tolist(), np.clip(y, top, bottom).tolist()))
        if len(points) > 1:
            self.draw.line(points, fill=color, width=width, joint="curve")

    def legend(self, labels: Sequence[str], colors: Sequence[tuple[int, int, int]]) -> None:
        _, top, right, _ = self.box
        for i, (label, color) in enumerate(zip(labels, colors)):
            y = top + 12 + 18 * i
            self.draw.line([(right - 150, y), (right - 126, y)], fill=color, width=3)
            self.draw.text((right - 120, y), label, fill=INK, font=self.text_font, anchor="lm")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values spanning [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count - 1)
    magnitude = 10 ** np.floor(np.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=raw)
    first = np.ceil(lo / step - 1e-9) * step
    return [float(v) for v in np.arange(first, hi + step * 1e-6, step)]


def heatmap_figure(
    values: np.ndarray,
    extent: tuple[float, float],
    levels: Sequence[float],
    title: str = "",
    label: str = "",
    size: int = 420,
) -> np.ndarray:
    """A banded heatmap (filled contours at ``levels``, values beyond them take the end colours) of
    ``values`` [rows = y upward, cols = x], both axes spanning ``extent``, with a colour bar."""
    levels = np.asarray(levels, dtype=np.float64)
    left, top = 70, 40
    width, height = left + size + 130, top + size + 60
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    field_image = Image.fromarray(np.asarray(values, dtype=np.float32)[::-1].copy(), mode="F")
    resized = np.asarray(field_image.resize((size, size), Image.BILINEAR))
    bands = np.digitize(resized, levels)  # 0 .. len(levels)
    canvas.paste(Image.fromarray(blues(bands / len(levels))), (left, top))
    axes = Axes(draw, (left, top, left + size, top + size), extent, extent)
    ticks = np.linspace(extent[0], extent[1], 5)
    axes.decorate(ticks, ticks, title=title)
    # Colour bar: one band per interval between levels.
    bar_left, bar_width = left + size + 30, 18
    bar = Axes(draw, (bar_left, top, bar_left + bar_width, top + size), (0, 1), (levels[0], levels[-1]))
    for i in range(len(levels) - 1):
        _, y0 = bar.px(0, levels[i])
        _, y1 = bar.px(0, levels[i + 1])
        draw.rectangle([bar_left, y1, bar_left + bar_width, y0], fill=tuple(blues((i + 1) / len(levels)).tolist()))
    draw.rectangle(bar.box, outline=INK)
    for level in levels:
        _, y = bar.px(0, level)
        draw.text((bar_left + bar_width + 6, y), _label(level), fill=INK, font=axes.text_font, anchor="lm")
    if label:
        draw.text((bar_left, top - 8), label, fill=INK, font=axes.text_font, anchor="ld")
    return np.asarray(canvas)


@dataclass
class Panel:
    """One line plot: curves ``series`` {label: (x, y)} in a panel titled ``title``; ``colors``
    {label: (r, g, b)} for some or all curves (the others take the palette in turn); curves named in
    ``unlisted`` are left out of the legend."""

    title: str
    series: dict[str, tuple[np.ndarray, np.ndarray]]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xlabel: str = ""
    ylabel: str = ""
    colors: dict[str, tuple[int, int, int]] | None = None
    unlisted: frozenset[str] = frozenset()


def line_figure(panels: Sequence[Panel], panel_size: tuple[int, int] = (460, 320)) -> np.ndarray:
    """Panels side by side, each with grid, ticks and a legend."""
    pw, ph = panel_size
    left, top, gap = 70, 40, 90
    width = left + len(panels) * pw + (len(panels) - 1) * gap + 30
    height = top + ph + 60
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for i, panel in enumerate(panels):
        x0 = left + i * (pw + gap)
        axes = Axes(draw, (x0, top, x0 + pw, top + ph), panel.xlim, panel.ylim)
        axes.decorate(
            nice_ticks(*panel.xlim, 9),
            nice_ticks(*panel.ylim, 9),
            title=panel.title,
            xlabel=panel.xlabel,
            ylabel=panel.ylabel,
            grid=True,
        )
        chosen = panel.colors or {}
        colors = [chosen.get(label, LINE_COLORS[k % len(LINE_COLORS)]) for k, label in enumerate(panel.series)]
        for (x, y), color in zip(panel.series.values(), colors):
            axes.lines(x, y, color)
        listed = [(label, color) for label, color in zip(panel.series, colors) if label not in panel.unlisted]
        axes.legend([label for label, _ in listed], [color for _, color in listed])
    return np.asarray(canvas)
