"""Generate images for seeds: the library side of ``stylegan generate``."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stylegan.errors import UserError
from stylegan.layers.modulated import NOISE_MODES
from stylegan.models.interface import Generator, Transformable
from stylegan.utils.images import grid, save_png, to_uint8
from stylegan.utils.seeds import z_from_seeds

PSI_RANGE = (-2.0, 2.0)


def check_truncation(psi: float, cutoff: int | None, num_ws: int | None = None) -> None:
    if not PSI_RANGE[0] <= psi <= PSI_RANGE[1]:
        raise UserError(f"truncation psi must be within [{PSI_RANGE[0]:g}, {PSI_RANGE[1]:g}], got {psi:g}")
    if cutoff is not None and (cutoff < 0 or (num_ws is not None and cutoff > num_ws)):
        raise UserError(f"truncation cutoff must be within [0, {num_ws}], got {cutoff}")


def labels_for(G: Generator, class_idx: int | None, batch: int, device) -> torch.Tensor:
    """One-hot labels for conditional networks; a clear error for a missing or stray class."""
    try:
        return G.one_hot(class_idx, batch, device)
    except ValueError as e:
        raise UserError(str(e)) from None


@contextlib.contextmanager
def user_transform(G: Generator, translate: tuple[float, float] | None = None, rotate: float | None = None):
    """Within the block, a StyleGAN3 generator's images are moved by ``translate`` = (x, y) image
    sizes (x right, y down) and rotated by ``rotate`` degrees counter-clockwise (the official
    gen_images.py convention, see ``stylegan.models.stylegan3.make_transform``). No-op when both
    are None; a ``UserError`` for networks without a transformable input."""
    if translate is None and rotate is None:
        yield
        return
    if not all(math.isfinite(v) for v in (*(translate or ()), rotate or 0.0)):
        raise UserError("--translate and --rotate must be finite numbers")
    if not isinstance(G, Transformable):
        kind = getattr(G, "kind", type(G).__name__)
        raise UserError(f"--translate and --rotate need a StyleGAN3 network; this one is a {kind}")
    with G.transformed(translate or (0.0, 0.0), rotate or 0.0):
        yield


def noise_buffers(synthesis: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The per-pixel noise maps of a synthesis network (buffers named ``*noise*`` holding one [H, W] map), by name."""
    found = {}
    for name, buf in synthesis.named_buffers():
        if "noise" not in name.rsplit(".", 1)[-1] or not buf.is_floating_point() or buf.ndim < 2:
            continue
        h, w = buf.shape[-2:]
        if buf.numel() == h * w:
            found[name] = buf
    return found


def noise_inputs(G: Generator) -> dict[str, torch.Tensor]:
    """The stored noise map [H, W] of every per-pixel noise input of ``G.synthesis``, by layer name
    (``b16.conv0`` for StyleGAN2, ``b16.conv0.epilogue.noise`` for StyleGAN1), in running order.
    Empty for networks without noise inputs (StyleGAN3)."""
    return {name.rsplit(".", 1)[0]: buf for name, buf in noise_buffers(G.synthesis).items()}


def draw_noise_maps(G: Generator, seed: int, count: int = 1) -> list[dict[str, torch.Tensor]]:
    """``count`` independent draws of N(0, 1) maps for every noise input of ``G`` (on the CPU), the
    same for the same ``seed`` whatever the device or batch; a ``UserError`` for networks without
    noise inputs."""
    shapes = {name: buf.shape for name, buf in noise_inputs(G).items()}
    if not shapes:
        kind = getattr(G, "kind", type(G).__name__)
        raise UserError(f"this network ({kind}) has no noise inputs; StyleGAN3 networks have none")
    gen = torch.Generator().manual_seed(int(seed))
    return [{name: torch.randn(shape, generator=gen) for name, shape in shapes.items()} for _ in range(count)]


@contextlib.contextmanager
def replaced_noise(G: Generator, maps: dict[str, torch.Tensor | None]):
    """Within the block, the stored noise map of each input named in ``maps`` is that map (zeros
    where None), so that ``noise_mode='const'`` renders with it; the stored maps are restored after."""
    buffers = noise_inputs(G)
    unknown = sorted(set(maps) - set(buffers))
    if unknown:
        raise UserError(f"no noise input named {', '.join(unknown)}; the network has {', '.join(buffers) or 'none'}")
    saved = {name: buffers[name].detach().clone() for name in maps}
    try:
        with torch.no_grad():
            for name, value in maps.items():
                buf = buffers[name]
                buf.copy_(torch.zeros_like(buf) if value is None else value.to(buf.device, buf.dtype))
        yield
    finally:
        with torch.no_grad():
            for name, value in saved.items():
                buffers[name].copy_(value)


def seeded_noise(
    G: Generator, noise_seed: int | None, noise_mode: str = "const"
) -> Callable[[], contextlib.AbstractContextManager]:
    """A context factory: with ``noise_seed``, within the context every noise input of ``G`` takes the
    map drawn from that seed (``draw_noise_maps``), so that 'const' noise is reproducible per seed and
    the same for every image; a no-op for None. Options are checked (and the maps drawn) at once."""
    if noise_seed is None:
        return contextlib.nullcontext
    if noise_mode != "const":
        raise UserError(f"a noise seed fixes the noise; it needs noise mode 'const', got {noise_mode!r}")
    maps = draw_noise_maps(G, noise_seed)[0]
    return lambda: replaced_noise(G, maps)


@torch.no_grad()
def generate_images(
    G: Generator,
    seeds: list[int],
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    class_idx: int | None = None,
    noise_mode: str = "const",
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    translate: tuple[float, float] | None = None,
    rotate: float | None = None,
    noise_seed: int | None = None,
    **synthesis_kwargs,
) -> torch.Tensor:
    """Images [N, C, H, W] in [-1, 1] for ``seeds`` (z drawn as the official tools do);
    ``translate``/``rotate``: StyleGAN3 user transform (see ``user_transform``); ``noise_seed``: the
    noise maps drawn from this seed for every image (see ``seeded_noise``; noise mode 'const')."""
    out = list(
        iter_generated_images(
            G,
            seeds,
            truncation_psi,
            truncation_cutoff,
            class_idx,
            noise_mode,
            batch_size,
            device,
            translate,
            rotate,
            noise_seed,
            **synthesis_kwargs,
        )
    )
    return torch.cat(out) if out else torch.zeros(0, G.img_channels, G.img_resolution, G.img_resolution)


@torch.no_grad()
def iter_generated_images(
    G: Generator,
    seeds: list[int],
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    class_idx: int | None = None,
    noise_mode: str = "const",
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    translate: tuple[float, float] | None = None,
    rotate: float | None = None,
    noise_seed: int | None = None,
    **synthesis_kwargs,
) -> Iterator[torch.Tensor]:
    """``generate_images`` batch by batch: [<= batch_size, C, H, W] on the CPU, in the order of ``seeds``.
    Options are checked before the first batch is made."""
    if noise_mode not in NOISE_MODES:
        raise UserError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
    check_truncation(truncation_psi, truncation_cutoff, G.num_ws)
    G = G.to(device).eval()
    labels_for(G, class_idx, 1, device)  # a missing or stray class fails here, before anything is written
    noise = seeded_noise(G, noise_seed, noise_mode)

    def batches():
        with user_transform(G, translate, rotate), noise():
            for start in range(0, len(seeds), batch_size):
                z = z_from_seeds(seeds[start : start + batch_size], G.z_dim).to(device)
                c = labels_for(G, class_idx, z.shape[0], device)
                ws = G.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
                yield synthesize(G, ws, noise_mode=noise_mode, **synthesis_kwargs).cpu()

    return batches()


def truncation_sweep(G: Generator, seeds: list[int], psis: list[float], **kwargs) -> torch.Tensor:
    """Images [len(seeds), len(psis), C, H, W] in [-1, 1]: each seed at every truncation psi,
    w' = w_avg + psi (w - w_avg) (StyleGAN, Eq. 3); psi = 0 is the average image, psi < 0 its
    "opposite". Other options as for ``generate_images``."""
    if not psis:
        raise UserError("give at least one truncation psi")
    rows = [generate_images(G, seeds, truncation_psi=psi, **kwargs) for psi in psis]
    return torch.stack(rows, dim=1)


def synthesize(G: Generator, ws: torch.Tensor, noise_mode: str = "const", **synthesis_kwargs) -> torch.Tensor:
    """G.synthesis(ws) for any generation (StyleGAN3 networks ignore noise_mode)."""
    return G.synthesis(ws, noise_mode=noise_mode, **synthesis_kwargs)


def load_projected_ws(path: str | Path, num_ws: int, w_dim: int) -> torch.Tensor:
    """The ws saved in ``path`` (an .npz with key ``w``, as ``stylegan project`` and the official
    projector write it) as [N, num_ws, w_dim]. Accepted shapes of ``w``: [w_dim] or [1, w_dim]
    (one w for all layers), [num_ws, w_dim] (w+), [N, num_ws, w_dim] or [N, 1, w_dim] (N images)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"projected w file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "w" not in data.files:
                raise UserError(f"{path} has no array named 'w' (found: {', '.join(data.files) or 'nothing'})")
            w = np.asarray(data["w"])
    except UserError:
        raise
    except Exception as e:
        raise UserError(f"{path} is not a readable .npz file ({e.__class__.__name__})") from None
    if not np.issubdtype(w.dtype, np.floating):
        raise UserError(f"{path}: 'w' must hold floating-point numbers, got {w.dtype}")
    shape = list(w.shape)
    if w.ndim == 1:
        w = w[None]
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3 or w.shape[0] < 1 or w.shape[2] != w_dim or w.shape[1] not in (1, num_ws):
        raise UserError(
            f"{path}: 'w' has shape {shape}; this network needs "
            f"[{num_ws}, {w_dim}] (w+), [1, {w_dim}] (w) or [N, {num_ws}, {w_dim}]"
        )
    if not np.isfinite(w).all():
        raise UserError(f"{path}: 'w' holds NaN or infinite values")
    ws = torch.from_numpy(w.astype(np.float32))
    return ws.expand(ws.shape[0], num_ws, w_dim).contiguous()


@torch.no_grad()
def render_ws(
    G: Generator,
    ws: torch.Tensor,
    noise_mode: str = "const",
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    translate: tuple[float, float] | None = None,
    rotate: float | None = None,
    noise_seed: int | None = None,
) -> torch.Tensor:
    """Images [N, C, H, W] in [-1, 1] of ws [N, num_ws, w_dim]; ``translate``/``rotate``: StyleGAN3
    user transform (see ``user_transform``); ``noise_seed``: see ``seeded_noise``."""
    return torch.cat(list(iter_rendered_ws(G, ws, noise_mode, batch_size, device, translate, rotate, noise_seed)))


def iter_rendered_ws(
    G: Generator,
    ws: torch.Tensor,
    noise_mode: str = "const",
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    translate: tuple[float, float] | None = None,
    rotate: float | None = None,
    noise_seed: int | None = None,
) -> Iterator[torch.Tensor]:
    """``render_ws`` batch by batch, on the CPU."""
    if noise_mode not in NOISE_MODES:
        raise UserError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
    G = G.to(device).eval()
    noise = seeded_noise(G, noise_seed, noise_mode)

    @torch.no_grad()
    def batches():
        with user_transform(G, translate, rotate), noise():
            for i in range(0, ws.shape[0], batch_size):
                yield synthesize(G, ws[i : i + batch_size].to(device), noise_mode=noise_mode).cpu()

    return batches()


# grid.png shows the first images, as many as fit in this many pixels (all of them for small runs).
GRID_MAX_PIXELS = 4096 * 4096


@dataclass
class GenerateResult:
    files: list[Path]
    grid: Path | None


def image_paths(outdir: str | Path, keys: Iterable[int], prefix: str = "seed") -> Iterator[Path]:
    """The files ``write_images`` writes into ``outdir``: ``<prefix><key:04d>.png`` per image, then ``grid.png``."""
    outdir = Path(outdir)
    yield from (outdir / f"{prefix}{k:04d}.png" for k in keys)
    yield outdir / "grid.png"


def write_images(
    images: torch.Tensor | Iterable[torch.Tensor],
    keys: list[int],
    outdir: str | Path,
    grid_cols: int | None = None,
    prefix: str = "seed",
    progress: Callable[[int], None] | None = None,
) -> GenerateResult:
    """One PNG per image (``seed0003.png``) written as soon as it is made, then ``grid.png`` of the
    first images (as many as fit in ``GRID_MAX_PIXELS``).

    ``images``: a tensor [N, C, H, W] in [-1, 1], or batches of them (``iter_generated_images``), so
    that a long run keeps only the grid's images in memory and can be watched or stopped without
    losing what was made. ``progress(n)`` is called after each batch with the number of images written.
    """
    if isinstance(images, torch.Tensor):
        images = [images]
    paths = image_paths(outdir, keys, prefix)
    files: list[Path] = []
    kept: list[np.ndarray] = []
    budget = GRID_MAX_PIXELS
    for batch in images:
        for pic in to_uint8(batch):
            path = next(paths)
            if path.name == "grid.png":
                raise ValueError(f"more images than keys ({len(keys)})")
            files.append(save_png(pic, path))
            if budget >= pic.shape[0] * pic.shape[1]:
                budget -= pic.shape[0] * pic.shape[1]
                kept.append(pic)
            else:
                budget = 0
        if progress is not None:
            progress(len(files))
    if len(files) != len(keys):
        raise ValueError(f"{len(files)} images for {len(keys)} keys")
    grid_path = save_png(grid(np.stack(kept), grid_cols), Path(outdir) / "grid.png") if kept else None
    return GenerateResult(files, grid_path)
