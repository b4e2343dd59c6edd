"""Average power spectra of generated and real images (StyleGAN3, Figures 5 and 16; the official
avg_spectra.py).

Each image (uint8 values, whitened with one shared mean and standard deviation) is multiplied by
a separable window (Kaiser, beta 8, or Hann; normalised to unit energy per axis), zero-padded to
``interp`` times its size and Fourier transformed; the power |F|^2 is averaged over channels and
images. The heatmap shows 10 log10 of it (dB) with the DC term in the centre, lightly smoothed;
the slices run from DC along the x axis (0 degrees) and along the diagonal (45 degrees).

The mean and standard deviation come from the dataset when one is given (as the official tool
whitens both sources with the training data's statistics), otherwise from the generated images;
both can be set. Whitening is applied after accumulation, by linearity of the Fourier transform,
so every source is read once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.ndimage
import torch

from stylegan.errors import UserError
from stylegan.models.interface import Generator
from stylegan.tools.media import save_npz
from stylegan.utils.files import make_folder
from stylegan.utils.images import save_png
from stylegan.utils.plot import Panel, heatmap_figure, line_figure

WINDOWS = ("kaiser", "hann")
HEATMAP_LEVELS = np.linspace(-40, 20, 13)  # dB, as the official heatmaps
SLICE_YLIM = (-50.0, 30.0)


def window_1d(size: int, kind: str = "kaiser", beta: float = 8.0, device=None) -> torch.Tensor:
    """The window along one axis (float64), scaled to unit energy (sum of squares 1)."""
    if kind == "kaiser":
        w = torch.kaiser_window(size, periodic=False, beta=beta, dtype=torch.float64, device=device)
    elif kind == "hann":
        w = torch.hann_window(size, periodic=False, dtype=torch.float64, device=device)
        if size == 1:
            w = torch.ones_like(w)
    else:
        raise UserError(f"window must be one of {', '.join(WINDOWS)}, got {kind!r}")
    return w * w.square().sum().rsqrt()


class SpectrumAccumulator:
    """Running sums for the average power spectrum of images of one size.

    ``add`` takes batches [N, C, H, W] of pixel values in [0, 255]; ``spectrum(mean, std)`` gives
    the mean over images and channels of |FFT(pad(window * (x - mean) / std))|^2, [S, S] with
    S = interp * H, DC at [0, 0]."""

    def __init__(
        self,
        image_size: int,
        window: str = "kaiser",
        beta: float = 8.0,
        interp: int = 4,
        device: torch.device | str = "cpu",
    ):
        if interp < 1:
            raise UserError(f"interp must be at least 1, got {interp}")
        self.image_size = image_size
        self.size = image_size * interp
        self.device = torch.device(device)
        if self.device.type == "mps":  # sums in float64, which MPS lacks
            self.device = torch.device("cpu")
        w = window_1d(image_size, window, beta, self.device)
        self.window = torch.outer(w, w)
        self.power = torch.zeros([self.size, self.size // 2 + 1], dtype=torch.float64, device=self.device)
        self.pixel_sum = torch.zeros([image_size, image_size], dtype=torch.float64, device=self.device)
        self.square_sum = 0.0
        self.maps = 0  # image-channel pairs
        self.images = 0

    def _fft(self, x: torch.Tensor) -> torch.Tensor:
        return torch.fft.rfft2(x * self.window, s=(self.size, self.size))

    @torch.no_grad()
    def add(self, images: torch.Tensor) -> None:
        x = torch.as_tensor(images).to(self.device, torch.float64)
        if x.ndim != 4 or x.shape[-2:] != (self.image_size, self.image_size):
            raise UserError(f"images must be [N, C, {self.image_size}, {self.image_size}], got {list(x.shape)}")
        for image in x:  # one at a time keeps the padded transforms small
            self.power += self._fft(image).abs().square().sum(dim=0)
        self.pixel_sum += x.sum(dim=(0, 1))
        self.square_sum += float(x.square().sum())
        self.maps += x.shape[0] * x.shape[1]
        self.images += x.shape[0]

    def moments(self) -> tuple[float, float]:
        """Mean and standard deviation of all pixel values added so far."""
        if self.maps == 0:
            raise UserError("no images were added")
        count = self.maps * self.image_size**2
        mean = float(self.pixel_sum.sum()) / count
        return mean, math.sqrt(max(self.square_sum / count - mean**2, 0.0))

    def spectrum(self, mean: float | None = None, std: float | None = None) -> np.ndarray:
        """The average power spectrum [S, S] (float64) of the whitened images."""
        own_mean, own_std = self.moments()
        mean = own_mean if mean is None else mean
        std = own_std if std is None else std
        if std <= 0:
            raise UserError("the images have zero standard deviation; their spectrum is undefined")
        # sum |X - m W|^2 = sum |X|^2 - 2 m Re(conj(W) sum X) + n m^2 |W|^2, with sum X = F(sum x).
        W = self._fft(torch.ones_like(self.pixel_sum))
        X_sum = self._fft(self.pixel_sum)
        half = self.power - 2 * mean * (X_sum * W.conj()).real + self.maps * mean**2 * W.abs().square()
        half = half / (self.maps * std**2)
        return _full_from_half(half.cpu().numpy(), self.size)


def _full_from_half(half: np.ndarray, size: int) -> np.ndarray:
    """Rebuild the full [S, S] power spectrum of real images from its rfft half (P[k] = P[-k])."""
    full = np.empty([size, size], dtype=half.dtype)
    cols = half.shape[1]
    full[:, :cols] = half
    rows = (-np.arange(size)) % size
    mirrored = (-np.arange(cols, size)) % size
    full[:, cols:] = half[rows][:, mirrored]
    return full


def heatmap_db(spectrum: np.ndarray, image_size: int, smooth: float = 0.0) -> np.ndarray:
    """10 log10(spectrum), DC moved to the centre, the first row/column repeated at the end (so the
    map spans -Nyquist..+Nyquist inclusive), Gaussian-smoothed by ``smooth`` image pixels."""
    hmap = np.fft.fftshift(10 * np.log10(np.maximum(spectrum, 1e-30)))
    hmap = np.concatenate([hmap, hmap[:1]], axis=0)
    hmap = np.concatenate([hmap, hmap[:, :1]], axis=1)
    if smooth > 0:
        hmap = scipy.ndimage.gaussian_filter(hmap, sigma=spectrum.shape[0] / image_size * smooth, mode="nearest")
    return hmap


def radial_slices(hmap: np.ndarray, image_size: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"0": (frequencies, dB), "45": (...)}: from DC along +x and along the diagonal; frequencies in
    cycles per image (up to size/2 at 0 degrees, size/sqrt(2) at 45)."""
    center = hmap.shape[0] // 2
    idx = np.arange(center, hmap.shape[0])
    steps = len(idx)
    return {
        "0": (np.linspace(0, image_size / 2, steps), hmap[center, idx]),
        "45": (np.linspace(0, image_size / math.sqrt(2), steps), hmap[idx, idx]),
    }


# --------------------------------------------------------------------------------------------
# Sources of images


def generated_batches(
    G: Generator,
    num: int,
    seed: int = 0,
    batch_size: int = 8,
    class_idx: int | None = None,
    truncation_psi: float = 1.0,
    noise_mode: str = "random",
    device: torch.device | str = "cpu",
) -> Iterator[torch.Tensor]:
    """uint8 [B, C, H, W] images of seeds seed, seed + 1, ... (as the official tool: z from
    RandomState(seed).randn; conditional networks draw a random class from the same state unless
    ``class_idx`` is given). Noise is random by default, as in the official tool."""
    from stylegan.tools.generate import check_truncation, synthesize

    check_truncation(truncation_psi, None)
    if G.c_dim == 0 and class_idx is not None:
        raise UserError("this network is unconditional: it takes no class index")
    if class_idx is not None and not 0 <= class_idx < G.c_dim:
        raise UserError(f"class index {class_idx} is outside [0, {G.c_dim})")
    G = G.to(device).eval()

    def latents(first: int, count: int):
        zs, cs = [], []
        for s in range(first, first + count):
            rnd = np.random.RandomState(s % 2**32)
            zs.append(rnd.randn(G.z_dim))
            c = np.zeros(G.c_dim, dtype=np.float32)
            if G.c_dim:
                c[class_idx if class_idx is not None else rnd.randint(G.c_dim)] = 1
            cs.append(c)
        return torch.from_numpy(np.stack(zs)).to(device, torch.float32), torch.from_numpy(np.stack(cs)).to(device)

    @torch.no_grad()
    def batches():
        for start in range(0, num, batch_size):
            z, c = latents(seed + start, min(batch_size, num - start))
            images = synthesize(G, G.mapping(z, c, truncation_psi=truncation_psi), noise_mode=noise_mode)
            yield (images * 127.5 + 128).clamp(0, 255).to(torch.uint8)

    return batches()


def dataset_batches(
    source: str, num: int | None, resolution: int | None, batch_size: int = 8, grayscale: bool = False
) -> tuple[int, int, Iterator[torch.Tensor]]:
    """(count, resolution, uint8 batches [B, C, H, W]) of ``num`` images (all if None) of a dataset
    opened with ``stylegan.data.open_dataset``: a folder, a zip (a random subset of ``num``, seed 0, as
    the official tool picks them) or ``toyfaces`` (its first ``num`` faces, at ``resolution``);
    ``grayscale`` reads one channel (for grayscale networks)."""
    from stylegan.data import open_dataset

    dataset = open_dataset(source, resolution=resolution, max_size=num, grayscale=grayscale)
    count = len(dataset)
    if count == 0:
        raise UserError(f"the dataset {source} holds no images")

    def batches():
        try:
            for start in range(0, count, batch_size):
                yield torch.stack(
                    [torch.from_numpy(np.asarray(dataset[i][0])) for i in range(start, min(start + batch_size, count))]
                )
        finally:
            dataset.close()

    return count, dataset.resolution, batches()


# --------------------------------------------------------------------------------------------
# Whole analysis


@dataclass
class SpectraResult:
    image_size: int
    spectra: dict[str, np.ndarray]  # source name -> [S, S] power spectrum, DC at [0, 0]
    counts: dict[str, int]
    mean: float
    std: float


def average_spectra(
    sources: dict[str, Iterable[torch.Tensor]],
    image_size: int,
    window: str = "kaiser",
    beta: float = 8.0,
    interp: int = 4,
    mean: float | None = None,
    std: float | None = None,
    reference: str | None = None,
    device: torch.device | str = "cpu",
) -> SpectraResult:
    """Average spectra of several sources of uint8 batches, all whitened with one mean and std:
    the given ones, else those of source ``reference`` (e.g. the dataset), else of the first source."""
    if not sources:
        raise UserError("nothing to measure: give a network, a dataset, or both")
    accumulators = {}
    for name, batches in sources.items():
        acc = SpectrumAccumulator(image_size, window, beta, interp, device)
        for batch in batches:
            acc.add(batch)
        accumulators[name] = acc
    base = accumulators[reference if reference in accumulators else next(iter(accumulators))]
    base_mean, base_std = base.moments()
    mean = base_mean if mean is None else mean
    std = base_std if std is None else std
    return SpectraResult(
        image_size=image_size,
        spectra={name: acc.spectrum(mean, std) for name, acc in accumulators.items()},
        counts={name: acc.images for name, acc in accumulators.items()},
        mean=mean,
        std=std,
    )


def spectra_paths(outdir: str | Path, sources: Sequence[str] = ("generated", "dataset")) -> list[Path]:
    """Every file ``write_spectra`` writes into ``outdir`` for these sources."""
    outdir = Path(outdir)
    return [outdir / "spectra.npz", *(outdir / f"heatmap_{name}.png" for name in sources), outdir / "slices.png"]


@dataclass
class SpectraFiles:
    npz: Path
    heatmaps: dict[str, Path]
    slices: Path


def write_spectra(result: SpectraResult, outdir: str | Path, smooth: float = 1.25) -> SpectraFiles:
    """``spectra.npz`` (one [S, S] array per source, DC at [0, 0], plus image_size, mean, std),
    ``heatmap_<source>.png`` (dB, DC centred, smoothed by ``smooth``) and ``slices.png``."""
    npz_path, *heatmap_paths, slices_path = spectra_paths(outdir, list(result.spectra))
    make_folder(outdir)
    size = result.image_size
    npz = save_npz(
        npz_path, **result.spectra, image_size=np.int64(size), mean=np.float64(result.mean), std=np.float64(result.std)
    )
    heatmaps = {}
    for (name, spectrum), heatmap_path in zip(result.spectra.items(), heatmap_paths):
        figure = heatmap_figure(
            heatmap_db(spectrum, size, smooth),
            (-size / 2, size / 2),
            HEATMAP_LEVELS,
            title=f"{name} ({result.counts[name]} images)",
            label="dB",
        )
        heatmaps[name] = save_png(figure, heatmap_path)
    slices = {name: radial_slices(heatmap_db(s, size), size) for name, s in result.spectra.items()}
    values = np.concatenate([v for per in slices.values() for _, v in per.values()])
    ylim = (
        min(SLICE_YLIM[0], 10 * math.floor(values.min() / 10)),
        max(SLICE_YLIM[1], 10 * math.ceil(values.max() / 10)),
    )
    panels = [
        Panel(
            f"{angle}\u00b0 slice",
            {name: per[angle] for name, per in slices.items()},
            (0.0, float(next(iter(slices.values()))[angle][0][-1])),
            ylim,
            xlabel="cycles per image",
            ylabel="dB",
        )
        for angle in ("0", "45")
    ]
    return SpectraFiles(npz, heatmaps, save_png(line_figure(panels), slices_path))
