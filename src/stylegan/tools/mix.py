"""Style mixing figure (StyleGAN, Section 3.1 and Figure 3).

Each row seed gives the "source" ws, each column seed the "destination" styles copied in at the
chosen layers: cell (r, c) renders the row seed's ws with the column seed's ws at ``styles``.
The figure shows the column images along the top and the row images down the left.

Preset layer ranges. The paper's 18-ws (1024 px) networks split as coarse = ws 0-3 (4-8 px),
middle = ws 4-7 (16-32 px), fine = ws 8-17 (64-1024 px). Other networks keep the same proportions:
with ``n = num_ws`` the boundaries are ``b1 = round(4 n / 18)`` and ``b2 = round(8 n / 18)``
(coarse ``[0, b1)``, middle ``[b1, b2)``, fine ``[b2, n)``), nudged so each range keeps at least one
layer. E.g. 16 ws (StyleGAN3): 0-3 / 4-6 / 7-15; 14 ws (256 px): 0-2 / 3-5 / 6-13; 6 ws (16 px): 0 / 1-2 / 3-5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from stylegan.errors import UserError
from stylegan.tools.generate import check_truncation, labels_for, synthesize
from stylegan.utils.images import grid, to_uint8
from stylegan.utils.seeds import parse_int_list, z_from_seeds

STYLE_PRESETS = ("coarse", "middle", "fine")
DEFAULT_STYLES = "0-6"  # as the official style_mixing.py
MAX_FIGURE_PIXELS = 2**27  # the figure is made in memory: 134 Mpx, e.g. 11 x 11 tiles of 1024 px


def _round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def preset_boundaries(num_ws: int) -> tuple[int, int]:
    """(b1, b2): coarse = [0, b1), middle = [b1, b2), fine = [b2, num_ws); 4 and 8 for 18 ws."""
    if num_ws < 3:
        raise UserError(f"coarse/middle/fine need a network with at least 3 ws, this one has {num_ws}")
    b1 = min(max(1, _round_half_up(num_ws * 4 / 18)), num_ws - 2)
    b2 = min(max(b1 + 1, _round_half_up(num_ws * 8 / 18)), num_ws - 1)
    return b1, b2


def preset_layers(name: str, num_ws: int) -> list[int]:
    """The ws indices of preset ``name`` (coarse, middle or fine) for a network with ``num_ws`` ws."""
    b1, b2 = preset_boundaries(num_ws)
    ranges = {"coarse": range(0, b1), "middle": range(b1, b2), "fine": range(b2, num_ws)}
    if name not in ranges:
        raise UserError(f"unknown style range {name!r}; choose from {', '.join(STYLE_PRESETS)}")
    return list(ranges[name])


def resolve_styles(num_ws: int, styles: str | None = None, presets: list[str] | tuple[str, ...] = ()) -> list[int]:
    """The ws indices to copy from the column seeds: ``styles`` ("0-6", checked against num_ws), the
    union of ``presets``, or by default 0-6 limited to the network's ws."""
    if styles is not None and presets:
        raise UserError("give either --styles or --coarse/--middle/--fine, not both")
    if presets:
        return sorted({i for name in presets for i in preset_layers(name, num_ws)})
    if styles is None:
        return [i for i in parse_int_list(DEFAULT_STYLES, "style list") if i < num_ws]
    layers = parse_int_list(styles, "style list")
    bad = [i for i in layers if i >= num_ws]
    if bad:
        raise UserError(f"style layer {bad[0]} is out of range: this network has {num_ws} ws (0-{num_ws - 1})")
    return sorted(set(layers))


def mix_ws(row_ws: torch.Tensor, col_ws: torch.Tensor, styles: list[int]) -> torch.Tensor:
    """row_ws [..., num_ws, w_dim] with the ws at ``styles`` replaced by col_ws's (shapes broadcast)."""
    row_ws, col_ws = torch.broadcast_tensors(row_ws, col_ws)
    mixed = row_ws.clone()
    mixed[..., styles, :] = col_ws[..., styles, :]
    return mixed


@dataclass
class StyleMixResult:
    row_seeds: list[int]
    col_seeds: list[int]
    styles: list[int]
    row_images: torch.Tensor  # [R, C, H, W] in [-1, 1]
    col_images: torch.Tensor  # [K, C, H, W]
    cells: torch.Tensor  # [R, K, C, H, W]: row r's ws with column k's styles


@torch.no_grad()
def style_mix(
    G,
    row_seeds: list[int],
    col_seeds: list[int],
    styles: list[int],
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    class_idx: int | None = None,
    noise_mode: str = "const",
    batch_size: int = 8,
    device: torch.device | str = "cpu",
) -> StyleMixResult:
    """Render the style-mixing grid of ``row_seeds`` x ``col_seeds`` (images stay on the CPU)."""
    if not row_seeds or not col_seeds:
        raise UserError("style mixing needs at least one row seed and one column seed")
    pixels = (len(row_seeds) + 1) * (len(col_seeds) + 1) * G.img_resolution**2
    if pixels > MAX_FIGURE_PIXELS:
        raise UserError(
            f"a figure of {len(row_seeds)} rows x {len(col_seeds)} columns of {G.img_resolution} px "
            f"images has {pixels / 1e6:,.0f} Mpx, more than the {MAX_FIGURE_PIXELS / 1e6:.0f} Mpx "
            "made in memory; use fewer seeds"
        )
    check_truncation(truncation_psi, truncation_cutoff, G.num_ws)
    if any(not 0 <= i < G.num_ws for i in styles):
        raise UserError(f"style layers must lie in [0, {G.num_ws}), got {styles}")
    G = G.to(device).eval()
    seeds = list(dict.fromkeys(row_seeds + col_seeds))
    z = z_from_seeds(seeds, G.z_dim).to(device)
    c = labels_for(G, class_idx, len(seeds), device)
    ws = G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
    ws_of = {s: ws[i] for i, s in enumerate(seeds)}
    rows = torch.stack([ws_of[s] for s in row_seeds])
    cols = torch.stack([ws_of[s] for s in col_seeds])
    cell_ws = mix_ws(rows[:, None], cols[None, :], styles).flatten(0, 1)

    def render(batch_ws):
        return torch.cat(
            [
                synthesize(G, batch_ws[i : i + batch_size], noise_mode=noise_mode).cpu()
                for i in range(0, batch_ws.shape[0], batch_size)
            ]
        )

    cells = render(cell_ws)
    return StyleMixResult(
        row_seeds=list(row_seeds),
        col_seeds=list(col_seeds),
        styles=list(styles),
        row_images=render(rows),
        col_images=render(cols),
        cells=cells.reshape(len(row_seeds), len(col_seeds), *cells.shape[1:]),
    )


def mix_figure(result: StyleMixResult, blank_value: int = 255) -> np.ndarray:
    """The figure as one uint8 [H, W, C] picture: (rows + 1) x (cols + 1) tiles, column images on
    top, row images on the left, a blank top-left corner."""
    rows, cols = result.cells.shape[:2]
    blank = torch.full_like(result.col_images[:1], (blank_value - 128) / 127.5)
    tiles = [blank, result.col_images]
    for r in range(rows):
        tiles += [result.row_images[r : r + 1], result.cells[r]]
    return grid(to_uint8(torch.cat(tiles)), cols=cols + 1)
