"""Apply a direction: x' = x + a * scale * n (InterFaceGAN Eq. 3; GANSpace w' = w + a s_i v_i on a
layer range; StyleSpace s' = s + a sigma_c e_c), render strips of strengths, write them.

A Z direction edits z before the mapping network (so it needs seeds, not projected ws); W and W+
directions edit the ws of the chosen layers; S directions shift the style coordinates of the style
layers that read the chosen ws.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stylegan.editing.directions import Direction
from stylegan.editing.styles import offset_styles, style_layers
from stylegan.errors import UserError
from stylegan.tools.generate import labels_for, synthesize
from stylegan.utils.images import grid, save_png, to_uint8

MAX_STRENGTH = 100.0


def parse_strengths(text: str, steps: int) -> list[float]:
    """``"-3..3"`` with ``steps`` = 7 -> [-3, -2, ..., 3]; ``"2"`` -> [-2, ..., 2]; ``"0.5,1,2"`` -> as listed."""
    import math

    text = str(text).strip()
    try:
        if ".." in text:
            lo, hi = (float(p) for p in text.split(".."))
            if steps < 1:
                raise UserError(f"--steps must be at least 1, got {steps}")
            values = [lo] if steps == 1 else [lo + (hi - lo) * i / (steps - 1) for i in range(steps)]
        elif "," in text:
            values = [float(p) for p in text.split(",")]
        else:
            a = abs(float(text))
            values = parse_strengths(f"{-a}..{a}", steps)
    except ValueError:
        raise UserError(f"strength must be A..B, A (meaning -A..A) or a list A,B,C; got {text!r}") from None
    if not all(math.isfinite(v) and abs(v) <= MAX_STRENGTH for v in values):
        raise UserError(f"strengths must be finite numbers within +-{MAX_STRENGTH:g}, got {text!r}")
    return values


@dataclass
class EditInputs:
    """What to edit: ws [N, num_ws, w_dim], with their z [N, z_dim] when they come from seeds."""

    ws: torch.Tensor
    z: torch.Tensor | None = None
    c: torch.Tensor | None = None
    truncation_psi: float = 1.0
    truncation_cutoff: int | None = None


@torch.no_grad()
def inputs_from_seeds(
    G,
    seeds: list[int],
    class_idx: int | None = None,
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    device="cpu",
) -> EditInputs:
    from stylegan.utils.seeds import z_from_seeds

    z = z_from_seeds(seeds, G.z_dim).to(device)
    c = labels_for(G, class_idx, len(seeds), device)
    ws = G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
    return EditInputs(ws, z, c, truncation_psi, truncation_cutoff)


def _layers(G, direction: Direction, layers: list[int] | None) -> list[int]:
    chosen = layers if layers is not None else direction.layers
    chosen = list(range(G.num_ws)) if chosen is None else chosen
    if not chosen or any(not 0 <= i < G.num_ws for i in chosen):
        raise UserError(f"layers must be within [0, {G.num_ws}), got {chosen}")
    return chosen


def edited_ws(
    G, inputs: EditInputs, direction: Direction, index: int, strength: float, layers: list[int] | None = None
) -> torch.Tensor:
    """The ws of ``inputs`` moved by ``strength`` along vector ``index`` (z, w and w+ spaces)."""
    v = direction.vectors[index] * direction.scales[index] * strength
    chosen = _layers(G, direction, layers)
    if direction.space == "z":
        if inputs.z is None:
            raise UserError("a Z direction edits z, so it needs seeds; projected ws have no z (use a W direction)")
        ws = G.mapping(
            inputs.z + v.to(inputs.z),
            inputs.c,
            truncation_psi=inputs.truncation_psi,
            truncation_cutoff=inputs.truncation_cutoff,
        )
        keep = torch.ones(G.num_ws, dtype=torch.bool)
        keep[chosen] = False
        ws[:, keep] = inputs.ws[:, keep]  # a layer range limits a Z edit too
        return ws
    ws = inputs.ws.clone()
    if direction.space == "w":
        ws[:, chosen] += v.to(ws)
    elif direction.space == "w+":
        delta = v.reshape(G.num_ws, G.w_dim).to(ws)
        ws[:, chosen] += delta[chosen]
    else:
        raise ValueError(f"edited_ws does not apply to {direction.space} directions")
    return ws


def style_offset(
    G, direction: Direction, index: int, strength: float, layers: list[int] | None = None, slayers=None
) -> torch.Tensor:
    """The S offset of an S direction, zero outside the style layers that read the chosen ws."""
    slayers = style_layers(G) if slayers is None else slayers
    chosen = set(_layers(G, direction, layers)) if layers is not None else None
    delta = direction.vectors[index] * direction.scales[index] * strength
    if chosen is not None:
        mask = torch.zeros_like(delta)
        for s in slayers:
            if s.ws_index in chosen:
                mask[s.offset : s.offset + s.channels] = 1
        delta = delta * mask
    return delta


@torch.no_grad()
def render_edits(
    G,
    inputs: EditInputs,
    direction: Direction,
    index: int,
    strengths: list[float],
    layers: list[int] | None = None,
    noise_mode: str = "const",
    batch_size: int = 16,
    progress=None,
    origins: tuple[str, ...] = (),
) -> torch.Tensor:
    """Images [N, len(strengths), C, H, W] in [-1, 1] on the CPU: each input edited at each strength.
    ``origins``: fingerprints of networks ``G`` derives from (see ``Direction.check_network``)."""
    index = direction.index(index)
    slayers = style_layers(G) if direction.space == "s" else None
    direction.check_network(G, slayers, origins)
    device = next(G.synthesis.parameters()).device
    columns = []
    for k, a in enumerate(strengths):
        images = []
        for i in range(0, inputs.ws.shape[0], batch_size):
            part = EditInputs(
                inputs.ws[i : i + batch_size].to(device),
                None if inputs.z is None else inputs.z[i : i + batch_size].to(device),
                None if inputs.c is None else inputs.c[i : i + batch_size].to(device),
                inputs.truncation_psi,
                inputs.truncation_cutoff,
            )
            if direction.space == "s":
                with offset_styles(G, style_offset(G, direction, index, a, layers, slayers).to(device), slayers):
                    images.append(synthesize(G, part.ws, noise_mode=noise_mode).cpu())
            else:
                images.append(
                    synthesize(G, edited_ws(G, part, direction, index, a, layers), noise_mode=noise_mode).cpu()
                )
        columns.append(torch.cat(images))
        if progress is not None:
            progress(k + 1, len(strengths))
    return torch.stack(columns, dim=1)


# ------------------------------------------------------------------------------------------------
# Files


@dataclass
class EditFiles:
    strips: list[Path]
    grid: Path
    summary: Path
    video: Path | None = None


def edit_paths(outdir: str | Path, names: list[str], video: bool = False) -> list[Path]:
    outdir = Path(outdir)
    paths = [outdir / f"{n}.png" for n in names] + [outdir / "grid.png", outdir / "edit.json"]
    return paths + ([outdir / "edit.mp4", outdir / "edit.gif"] if video else [])


def write_edits(
    images: torch.Tensor,
    names: list[str],
    strengths: list[float],
    outdir: str | Path,
    info: dict,
    video_images: torch.Tensor | None = None,
    fps: float = 15,
    notice=print,
) -> EditFiles:
    """One strip per input (``<name>.png``: the strengths left to right), ``grid.png`` (every strip,
    one per row), ``edit.json`` and, given ``video_images`` ([N, F, C, H, W]: the inputs rendered at
    F strengths), ``edit.mp4``: a grid of the inputs swept through the F strengths and back."""
    from stylegan.tools.media import save_json, write_video
    from stylegan.utils.files import make_folder

    outdir = make_folder(outdir)
    n, k = images.shape[:2]
    pictures = to_uint8(images.flatten(0, 1))
    pictures = pictures.reshape(n, k, *pictures.shape[1:])
    strips = [save_png(grid(pictures[i], cols=k), outdir / f"{names[i]}.png") for i in range(n)]
    grid_path = save_png(grid(pictures.reshape(n * k, *pictures.shape[2:]), cols=k), outdir / "grid.png")
    files = EditFiles(strips, grid_path, outdir / "edit.json")
    if video_images is not None:
        cols = max(1, int(np.ceil(np.sqrt(n))))
        num_frames = video_images.shape[1]
        order = list(range(num_frames)) + list(range(num_frames - 2, 0, -1))

        def frames():
            for j in order:
                yield grid(to_uint8(video_images[:, j]), cols=cols)

        files.video = write_video(frames(), outdir / "edit.mp4", fps=fps, notice=notice)
    save_json(files.summary, json.dumps({**info, "strengths": strengths, "inputs": names}, indent=1) + "\n")
    return files
