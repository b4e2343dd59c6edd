"""Feature detectors for the metrics: find, download, verify and load them.

The official tools measure with two networks that NVIDIA publishes as TorchScript files:

- ``inception``: Inception-v3 with the 2015-12-05 TensorFlow weights (FID, KID). Called on uint8
  images [N, 3, H, W] with ``return_features=True`` it gives the 2048 pool features.
- ``vgg16_lpips``: VGG16 with the LPIPS linear weights (PPL, the projector, and the VGG16 fc
  features that the official precision/recall uses). ``return_lpips=True`` gives the LPIPS
  feature vector of images in [0, 255]; the squared L2 distance of two such vectors is LPIPS.

and the project's own ``probe`` (``stylegan.metrics.probe``), whose small weights ship inside the
package so every metric also runs offline on the built-in ``toyfaces`` data.

A file is looked for, in order: the ``path`` given; the cache directory (see
``stylegan.utils.download``); then it is downloaded into the cache, checked against a sha256 when
one is known. Official ``.pkl`` forms (``inception-2015-12-05.pkl``, ``vgg16.pkl``, as the StyleGAN3
tools fetch them) are accepted too, read without running any of their code
(``stylegan.io.torchscript_pickle``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F

from stylegan.errors import UserError
from stylegan.io.torchscript_pickle import load_torchscript
from stylegan.utils.download import default_cache_dir, download, sha256_of

__all__ = [
    "DETECTOR_NAMES",
    "OFFICIAL_FILES",
    "Detector",
    "DetectorFile",
    "PerceptualDistance",
    "TorchScriptDetector",
    "default_cache_dir",
    "get_distance",
    "load_detector",
    "load_torchscript",
    "resolve_detector_file",
]


@dataclass(frozen=True)
class DetectorFile:
    """Where an official detector comes from. ``sha256`` None: not pinned (see ``download``)."""

    name: str
    filename: str
    url: str
    sha256: str | None = None
    alternate_filenames: tuple[str, ...] = ()


# The TorchScript files of the official StyleGAN2-ADA-PyTorch tools; the StyleGAN3 tools fetch the
# same networks wrapped in a pickle from the NGC catalog (the alternate file names, also accepted).
OFFICIAL_FILES: dict[str, DetectorFile] = {
    "inception": DetectorFile(
        name="inception-2015-12-05",
        filename="inception-2015-12-05.pt",
        url="https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt",
        alternate_filenames=("inception-2015-12-05.pkl",),
    ),
    "vgg16_lpips": DetectorFile(
        name="vgg16",
        filename="vgg16.pt",
        url="https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/vgg16.pt",
        alternate_filenames=("vgg16.pkl",),
    ),
}
NGC_PKL_URLS = {
    "inception": "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/files/metrics/"
    "inception-2015-12-05.pkl",
    "vgg16_lpips": "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/files/metrics/vgg16.pkl",
}
DETECTOR_NAMES = ("inception", "vgg16_lpips", "probe")


def resolve_detector_file(
    name: str,
    path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    url: str | None = None,
    sha256: str | None = None,
    allow_download: bool = True,
    progress: bool = False,
) -> Path:
    """The local file of official detector ``name``: ``path``, else the cache, else a download."""
    if name not in OFFICIAL_FILES:
        raise UserError(f"unknown detector {name!r}; choose from {', '.join(OFFICIAL_FILES)}")
    spec = OFFICIAL_FILES[name]
    expected = sha256 if sha256 is not None else spec.sha256
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise UserError(f"detector file not found: {path}")
        _verify(path, expected)
        return path
    cache = default_cache_dir(cache_dir)
    for filename in (spec.filename, *spec.alternate_filenames):
        candidate = cache / filename
        if candidate.is_file():
            _verify(candidate, expected)
            return candidate
    dest = cache / (Path(url).name if url else spec.filename)
    if not allow_download:
        raise UserError(
            f"detector {name!r} not found in {cache}: put {spec.filename} (from {spec.url}) there, or pass its path"
        )
    return download(url or spec.url, dest, expected, progress=progress)


def _verify(path: Path, sha256: str | None) -> None:
    if sha256 is None:
        return
    got = sha256_of(path)
    if got.lower() != sha256.lower():
        raise UserError(f"{path}: sha256 is {got}, expected {sha256}; the file is corrupt or a different version")


# --------------------------------------------------------------------------------------------
# Detectors: one interface over the official networks and the probe


@runtime_checkable
class Detector(Protocol):
    """A feature network: ``features(uint8 images [N, C, H, W]) -> float32 [N, D]``, with a
    ``fingerprint`` that identifies the exact weights (part of the dataset-statistics cache key;
    classes that subclass this protocol get ``name`` as theirs)."""

    name: str
    device: torch.device

    def features(self, images: torch.Tensor) -> torch.Tensor: ...

    @property
    def fingerprint(self) -> str:
        return self.name


class TorchScriptDetector:
    """An official TorchScript detector; ``feature_kwargs`` are passed on every call."""

    def __init__(self, name: str, net: torch.jit.ScriptModule, file_sha256: str, device: torch.device):
        self.name = name
        self.net = net
        self.device = device
        self._sha = file_sha256

    @property
    def fingerprint(self) -> str:
        return f"{self.name}-{self._sha[:16]}"

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        images = _three_channels(images).to(self.device)
        return self.net(images, return_features=True).to(torch.float32)

    def lpips_features(self, images_0_255: torch.Tensor) -> torch.Tensor:
        """LPIPS feature vectors of float images in [0, 255] at their given size (VGG16 file)."""
        return self.net(_three_channels(images_0_255).to(self.device), resize_images=False, return_lpips=True)


def _three_channels(images: torch.Tensor) -> torch.Tensor:
    return images.repeat([1, 3, 1, 1]) if images.shape[1] == 1 else images


_loaded: dict[tuple, Detector] = {}


def load_detector(
    name: str,
    path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    url: str | None = None,
    sha256: str | None = None,
    device: str | torch.device = "cpu",
    allow_download: bool = True,
    progress: bool = False,
) -> Detector:
    """Load detector ``"inception"``, ``"vgg16_lpips"`` or ``"probe"`` (see the module docstring).

    ``path`` names the file explicitly; otherwise it is looked up in the cache directory and
    downloaded there (from ``url``, default the official one) when missing. ``sha256`` checks it.
    Loaded detectors are kept per (file, device), so repeated calls are cheap.
    """
    device = torch.device(device)
    if name == "probe":
        from stylegan.metrics.probe import load_probe

        key = ("probe", str(path), str(device))
        if key not in _loaded:
            _loaded[key] = load_probe(path, device=device)
        return _loaded[key]
    if name not in OFFICIAL_FILES:
        raise UserError(f"unknown detector {name!r}; choose from {', '.join(DETECTOR_NAMES)}")
    file = resolve_detector_file(name, path, cache_dir, url, sha256, allow_download, progress)
    key = (name, str(file.resolve()), str(device))
    if key not in _loaded:
        net = load_torchscript(file, device)
        _loaded[key] = TorchScriptDetector(OFFICIAL_FILES[name].name, net, sha256_of(file), device)
    return _loaded[key]


# --------------------------------------------------------------------------------------------
# Perceptual distances for PPL and the projector


class PerceptualDistance:
    """``distance(img_a, img_b) -> [N]``: per-sample perceptual distance of images in [-1, 1]."""

    def __init__(self, name: str, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], fingerprint: str):
        self.name = name
        self._fn = fn
        self.fingerprint = fingerprint

    def __call__(self, img_a: torch.Tensor, img_b: torch.Tensor) -> torch.Tensor:
        if img_a.shape != img_b.shape:
            raise ValueError(f"images must have the same shape, got {list(img_a.shape)} and {list(img_b.shape)}")
        return self._fn(img_a, img_b)


def get_distance(
    name: str,
    path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    resize_to_256: bool = True,
    allow_download: bool = True,
) -> PerceptualDistance:
    """A perceptual distance on images in [-1, 1].

    ``"lpips"``: the official VGG16 LPIPS file, with the semantics of the official PPL and
    projector code: images mapped to [0, 255], area-downsampled to 256x256 when larger (unless
    ``resize_to_256`` is False, as PPL does its own downsampling), distance = squared L2 of the
    LPIPS feature vectors. ``"probe"``: the toyfaces probe's normalised multi-layer feature
    distance in the LPIPS style (see ``stylegan.metrics.probe``).
    """
    if name == "lpips":
        vgg = load_detector("vgg16_lpips", path, cache_dir, device=device, allow_download=allow_download)

        def lpips(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            x = torch.cat([a, b]).to(vgg.device, torch.float32)
            if resize_to_256 and x.shape[2] > 256:
                x = F.interpolate(x, size=(256, 256), mode="area")
            fa, fb = vgg.lpips_features((x + 1) * (255 / 2)).chunk(2)
            return (fa - fb).square().flatten(1).sum(1)

        return PerceptualDistance("lpips-vgg16", lpips, vgg.fingerprint)
    if name == "probe":
        probe = load_detector("probe", path, device=device)
        return PerceptualDistance("toyfaces-probe-distance", probe.distance, probe.fingerprint)
    raise UserError(f"unknown distance {name!r}; choose 'lpips' or 'probe'")
