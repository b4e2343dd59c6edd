"""The toyfaces probe: a small CNN trained on toyfaces images to predict their known factors.

It makes every metric runnable offline on the built-in data: its 256 penultimate features
play the role of the Inception features (FID, KID, precision/recall), its normalised block
activations give an LPIPS-style perceptual distance (PPL), and its factor heads are the
attribute classifiers of linear separability. Numbers measured with it are on their own scale
and never comparable with numbers from the official Inception / VGG16 detectors.

Network: images in [-1, 1] of any size are resized to 64x64 (area filter when shrinking,
bilinear when enlarging); a 4x4 stride-2 convolution to 32 px, then 3x3 convolutions (stride 2
where the resolution halves) down to 4 px, each followed by a leaky ReLU (``LAYERS``); global
average pooling; a fully connected layer to 256 features; one
linear head per factor: class logits for the categorical and binary factors, a value in
[-1, 1] for the continuous ones (yaw, roll). ``scripts/train_probe.py`` trains it; the weights
ship as ``weights/toyfaces_probe.safetensors`` with the head layout in the file's metadata.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from stylegan.errors import UserError

WEIGHTS = Path(__file__).resolve().parent / "weights" / "toyfaces_probe.safetensors"
INPUT_SIZE = 64
# (out_channels, kernel, stride) per convolution: 64 -> 32 -> 16 -> 8 -> 4 px. Kept small: the probe
# is trained on a CPU in minutes and its weights ship inside the package.
LAYERS = ((24, 4, 2), (48, 3, 2), (48, 3, 1), (96, 3, 2), (96, 3, 1), (160, 3, 2))
FEATURES = 256
# Binary "sign" attributes for linear separability from the continuous heads: p(positive) =
# sigmoid(value / temperature), the analogue of the official softmax([logit, -logit]).
SIGN_TEMPERATURE = 0.1


@dataclass(frozen=True)
class ProbeHeads:
    """Names and sizes of the heads: ``classes`` maps a factor to its class names, ``continuous``
    lists the factors predicted as a value in [-1, 1]."""

    classes: dict[str, tuple[str, ...]]
    continuous: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(dict(classes={k: list(v) for k, v in self.classes.items()}, continuous=list(self.continuous)))

    @classmethod
    def from_json(cls, text: str) -> ProbeHeads:
        d = json.loads(text)
        return cls({k: tuple(v) for k, v in d["classes"].items()}, tuple(d["continuous"]))

    @classmethod
    def toyfaces(cls) -> ProbeHeads:
        """The heads for the factors of ``stylegan.data.toyfaces``."""
        from stylegan.data import toyfaces

        classes, continuous = {}, []
        for f in toyfaces.FACTORS:
            if f.kind == "continuous":
                continuous.append(f.name)
            else:
                classes[f.name] = tuple(str(v) for v in f.values)
        return cls(classes, tuple(continuous))


def resize_to_input(images: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """[N, C, H, W] -> [N, 3, size, size]: area filter when shrinking, bilinear when enlarging."""
    if images.shape[1] == 1:
        images = images.repeat([1, 3, 1, 1])
    if images.shape[2:] == (size, size):
        return images
    if images.shape[2] >= size and images.shape[3] >= size:
        return F.interpolate(images, size=(size, size), mode="area")
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)


class ToyfacesProbe(nn.Module):
    """The probe network (see the module docstring)."""

    def __init__(self, heads: ProbeHeads, layers: tuple[tuple[int, int, int], ...] = LAYERS, features: int = FEATURES):
        super().__init__()
        self.heads = heads
        self.layers = tuple(tuple(int(v) for v in layer) for layer in layers)
        self.convs = nn.ModuleList()
        c_in = 3
        for c, k, stride in self.layers:
            self.convs.append(nn.Conv2d(c_in, c, k, stride, padding=(k - 1) // 2))
            c_in = c
        self.fc = nn.Linear(c_in, features)
        self.class_heads = nn.ModuleDict({name: nn.Linear(features, len(v)) for name, v in heads.classes.items()})
        self.value_heads = nn.ModuleDict({name: nn.Linear(features, 1) for name in heads.continuous})

    def activations(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The last activation at each resolution (32, 16, 8, 4 px) of images in [-1, 1]."""
        x = resize_to_input(images.to(torch.float32))
        acts = []
        for i, conv in enumerate(self.convs):
            x = F.leaky_relu(conv(x), 0.2)
            if i + 1 == len(self.convs) or self.layers[i + 1][2] > 1:
                acts.append(x)
        return acts

    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The 256 features (and the stage outputs) of images in [-1, 1]."""
        acts = self.activations(images)
        return F.leaky_relu(self.fc(acts[-1].mean(dim=(2, 3))), 0.2), acts

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per categorical/binary factor and values in [-1, 1] per continuous factor."""
        feats, _ = self.embed(images)
        out = {name: head(feats) for name, head in self.class_heads.items()}
        out.update({name: torch.tanh(head(feats)[:, 0]) for name, head in self.value_heads.items()})
        return out


def save_probe(model: ToyfacesProbe, path: str | Path, extra: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    from stylegan.utils.files import atomic_write

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {
        "format": "stylegan-probe",
        "heads": model.heads.to_json(),
        "layers": json.dumps(model.layers),
        "features": str(model.fc.out_features),
    }
    meta.update(extra or {})
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


class ProbeDetector:
    """The probe as a metric detector: features, a perceptual distance, attribute probabilities."""

    def __init__(self, model: ToyfacesProbe, sha256: str, device: torch.device):
        self.model = model.eval().requires_grad_(False).to(device)
        self.device = device
        self.name = "toyfaces-probe"
        self._sha = sha256
        self.metadata: dict[str, str] = {}

    @property
    def fingerprint(self) -> str:
        return f"{self.name}-{self._sha[:16]}"

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(self.device, torch.float32) / 127.5 - 1 if images.dtype == torch.uint8 else images
        return self.model.embed(x.to(self.device))[0]

    def distance(self, img_a: torch.Tensor, img_b: torch.Tensor) -> torch.Tensor:
        """LPIPS-style distance of images in [-1, 1]: at each block, unit-normalise the activations
        along channels, take the squared difference summed over channels and averaged over
        positions, and sum over blocks."""
        acts = self.model.activations(torch.cat([img_a, img_b]).to(self.device))
        total = 0
        for a in acts:
            a = a / (a.square().sum(dim=1, keepdim=True).sqrt() + 1e-10)
            fa, fb = a.chunk(2)
            total = total + (fa - fb).square().sum(dim=1).mean(dim=(1, 2))
        return total

    @torch.no_grad()
    def attribute_probabilities(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per attribute, class probabilities [N, K] of images in [-1, 1]; continuous factors
        become two-class sign attributes (negative, positive)."""
        out = self.model(images.to(self.device))
        probs = {}
        for name in self.model.heads.classes:
            probs[name] = out[name].softmax(dim=1)
        for name in self.model.heads.continuous:
            p = torch.sigmoid(out[name] / SIGN_TEMPERATURE)
            probs[name] = torch.stack([1 - p, p], dim=1)
        return probs

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Predicted class index per categorical/binary factor, value per continuous factor."""
        out = self.model(images.to(self.device))
        return {k: (v.argmax(dim=1) if k in self.model.heads.classes else v) for k, v in out.items()}


def load_probe(path: str | Path | None = None, device: str | torch.device = "cpu") -> ProbeDetector:
    """Load the probe shipped with the package (or the file at ``path``)."""
    from safetensors import SafetensorError, safe_open

    path = Path(path) if path is not None else WEIGHTS
    if not path.is_file():
        raise UserError(
            f"probe weights not found: {path}"
            + (" (the package was installed without its data files; reinstall it)" if path == WEIGHTS else "")
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError) as e:
        raise UserError(f"{path} is not a readable probe file ({e})") from None
    if meta.get("format") != "stylegan-probe":
        raise UserError(f"{path} is not a stylegan probe file")
    try:
        with torch.random.fork_rng(devices=[]):  # the initial weights are overwritten: keep the caller's RNG as is
            model = ToyfacesProbe(
                ProbeHeads.from_json(meta["heads"]),
                tuple(map(tuple, json.loads(meta["layers"]))),
                int(meta["features"]),
            )
        model.load_state_dict(tensors)
    except (KeyError, ValueError, RuntimeError) as e:
        raise UserError(f"{path} is a damaged probe file ({e})") from None
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    detector = ProbeDetector(model, sha, torch.device(device))
    detector.metadata = meta
    return detector
