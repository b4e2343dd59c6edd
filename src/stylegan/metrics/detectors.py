"""Feature detectors for the metrics: find, download, verify and load them.

The official tools measure with two networks that NVIDIA publishes as TorchScript files:

- ``inception``: Inception-v3 with the 2015-12-05 TensorFlow weights (FID, KID). Called on uint8
  images [N, 3, H, W] with ``return_features=True`` it gives the 2048 pool features.
- ``vgg16_lpips``: VGG16 with the LPIPS linear weights (PPL, the projector, and the VGG16 fc
  features that the official precision/recall uses). ``return_lpips=True`` gives the LPIPS
  feature vector of images in [0, 255]; the squared L2 distance of two such vectors is LPIPS.

and the project's own ``probe`` (``stylegan.metrics.probe``), whose small weights ship inside the
package so every metric also runs offline on the built-in ``toyfaces`` data.

A file is looked for, in order: the ``path`` given; the cache directory (``cache_dir``, else
``$STYLEGAN_CACHE``, else ``~/.cache/stylegan``); then it is downloaded into the cache (to a
temporary file, checked against a sha256 when one is known, renamed atomically). Offline, the
error says where to put the file.

Official ``.pkl`` forms (``inception-2015-12-05.pkl``, ``vgg16.pkl``, as the StyleGAN3 tools
fetch them) are accepted too. They are pickles, and a pickle can run arbitrary code when loaded
with ``pickle.load``. So they are read by an unpickler that resolves **no** global at all: every
class or function the pickle names becomes an inert record, and the TorchScript archive the
pickle carries (a zip of TorchScript code and tensors, stored as bytes) is found in the record
tree and loaded with ``torch.jit.load``, which runs TorchScript, never Python. A pickle that
holds no TorchScript archive is refused with a message pointing to the ``.pt`` file.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from stylegan.errors import UserError
from stylegan.utils.files import atomic_write

CACHE_ENV = "STYLEGAN_CACHE"


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


def default_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir`` if given, else ``$STYLEGAN_CACHE``, else ``~/.cache/stylegan``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "stylegan"


# --------------------------------------------------------------------------------------------
# Files: checksum, download


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, dest: str | Path, sha256: str | None = None, timeout: float = 60.0,
             progress: bool = False) -> Path:
    """Download ``url`` to ``dest``: stream into a temporary file beside it, check the sha256 (when
    given), then rename atomically, so ``dest`` is either absent or complete and verified.

    Failures raise ``UserError`` naming the url and where to put the file by hand.
    """
    dest = Path(dest)

    def fetch(tmp):
        digest = hashlib.sha256()
        try:
            with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0)
                bar = _progress_bar(total, dest.name) if progress else None
                while block := response.read(1 << 20):
                    out.write(block)
                    digest.update(block)
                    if bar is not None:
                        bar.update(len(block))
                if bar is not None:
                    bar.close()
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            raise UserError(
                f"could not download {url} ({reason}). If this machine is offline, fetch the file elsewhere and "
                f"put it at {dest}, or pass its path explicitly"
            ) from None
        got = digest.hexdigest()
        if sha256 is not None and got.lower() != sha256.lower():
            raise UserError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, got {got}; the file was not saved. "
                f"Put a verified copy at {dest}"
            )

    atomic_write(dest, fetch)
    return dest


def _progress_bar(total: int, name: str):
    from tqdm import tqdm

    return tqdm(total=total or None, unit="B", unit_scale=True, desc=f"downloading {name}", leave=False)


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
            f"detector {name!r} not found in {cache}: put {spec.filename} (from {spec.url}) there, "
            f"or pass its path"
        )
    return download(url or spec.url, dest, expected, progress=progress)


def _verify(path: Path, sha256: str | None) -> None:
    if sha256 is None:
        return
    got = sha256_of(path)
    if got.lower() != sha256.lower():
        raise UserError(f"{path}: sha256 is {got}, expected {sha256}; the file is corrupt or a different version")


# --------------------------------------------------------------------------------------------
# Reading TorchScript, from a .pt archive or an official pickle


def load_torchscript(path: str | Path, device: str | torch.device = "cpu") -> torch.jit.ScriptModule:
    """Load a TorchScript network from a ``.pt`` archive or from a pickle that carries one."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data.startswith(b"PK\x03\x04"):  # a zip archive: what torch.jit.save writes
            return torch.jit.load(io.BytesIO(data), map_location=device).eval()
    except (RuntimeError, OSError) as e:
        raise UserError(f"{path} is not a readable TorchScript file ({e})") from None
    archive = torchscript_archive_from_pickle(data, source=str(path))
    try:
        return torch.jit.load(io.BytesIO(archive), map_location=device).eval()
    except RuntimeError as e:
        raise UserError(f"{path}: the TorchScript archive inside the pickle did not load ({e})") from None


class PickledCall:
    """What a pickle asked for, without doing it: ``module.name(*args)`` plus its state.

    The unpickler makes one subclass per global it meets (``module`` and ``name`` as class
    attributes), so both call forms of the pickle protocol (REDUCE: ``cls(*args)``, NEWOBJ:
    ``cls.__new__(cls, *args)``) only build a record.
    """

    module = "<none>"
    name = "<none>"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.args, obj.state, obj.items = args, None, None
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):  # BUILD: keep the state, run nothing
        self.state = state

    def append(self, item):
        self.items = (self.items or []) + [item]

    def extend(self, items):
        self.items = (self.items or []) + list(items)

    def __setitem__(self, key, value):
        self.items = (self.items or []) + [(key, value)]

    def __repr__(self):
        return f"<pickled {self.module}.{self.name}>"


class _InertUnpickler(pickle.Unpickler):
    """Resolves no globals and loads no persistent ids: nothing in the pickle can run."""

    def find_class(self, module, name):
        return type(f"Pickled_{name}", (PickledCall,), {"module": str(module), "name": str(name)})

    def persistent_load(self, pid):
        record = type("PickledPersistentId", (PickledCall,), {"module": "<persistent>", "name": "id"})
        return record(pid)


def torchscript_archive_from_pickle(data: bytes, source: str = "pickle") -> bytes:
    """The TorchScript zip archive stored (as bytes) somewhere inside a pickle, found without
    executing anything from the pickle."""
    try:
        tree = _InertUnpickler(io.BytesIO(data)).load()
    except Exception as e:  # any malformed pickle: report, never trust
        raise UserError(f"{source} is neither a TorchScript archive nor a readable pickle ({e})") from None
    for blob in _iter_bytes(tree):
        if _is_torchscript_archive(blob):
            return blob
    raise UserError(
        f"{source} holds no TorchScript network; download the TorchScript (.pt) form of the detector instead"
    )


def _iter_bytes(node, depth: int = 0):
    if depth > 64:
        return
    if isinstance(node, (bytes, bytearray)):
        yield bytes(node)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _iter_bytes(key, depth + 1)
            yield from _iter_bytes(value, depth + 1)
    elif isinstance(node, (list, tuple, set, frozenset)):
        for item in node:
            yield from _iter_bytes(item, depth + 1)
    elif isinstance(node, PickledCall):
        yield from _iter_bytes(node.args, depth + 1)
        yield from _iter_bytes(node.state, depth + 1)
        yield from _iter_bytes(node.items, depth + 1)


def _is_torchscript_archive(blob: bytes) -> bool:
    if not blob.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            names = z.namelist()
    except zipfile.BadZipFile:
        return False
    return any("/code/" in n or n.startswith("code/") for n in names) and any(n.endswith("data.pkl") for n in names)


# --------------------------------------------------------------------------------------------
# Detectors: one interface over the official networks and the probe


class Detector:
    """A feature network: ``features(uint8 images [N, C, H, W]) -> float32 [N, D]``."""

    name: str = "detector"
    device: torch.device

    def features(self, images: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def fingerprint(self) -> str:
        """Identifies the exact weights (part of the dataset-statistics cache key)."""
        return self.name


class TorchScriptDetector(Detector):
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
