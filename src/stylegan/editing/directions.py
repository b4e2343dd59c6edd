"""Edit directions and how they are found: InterFaceGAN, GANSpace, SeFa, StyleSpace.

A ``Direction`` holds one or more unit vectors in one latent space of one network:

- ``z``: the input latent (edited before the mapping network);
- ``w``: the mapped latent, added to the ws of the chosen ``layers`` (all by default);
- ``w+``: one w per layer, the vector reshaped to [num_ws, w_dim];
- ``s``: the style coordinates (``stylegan.editing.styles``), added to the affine outputs.

Each vector carries a ``scale``: the standard deviation of the network's own latents along it, so an
edit of strength a moves a latent by a standard deviations (``x' = x + a * scale * n``; InterFaceGAN
Eq. 3 and GANSpace's ``w' = w + a s_i v_i`` in these units).

Methods:

- ``interfacegan`` (Shen et al., CVPR 2020, Section 2.2): keep the most confident top and bottom
  fraction of scored samples, fit a linear SVM on their latents; the boundary's unit normal is the
  direction. ``condition`` (Eq. 4) removes the components along up to two other directions.
- ``ganspace`` (Harkonen et al., NeurIPS 2020, Section 2): principal components of sampled w, each
  with its standard deviation; the layer range is chosen when editing or stored with the file.
- ``sefa`` (Shen and Zhou, CVPR 2021, Eq. 6): the top eigenvectors of A^T A, A the affine weights of
  the chosen layers stacked (each row normalised), computed from the weights alone.
- ``stylespace`` (Wu et al., CVPR 2021, Section 4.2): the style channels whose mean over positive
  examples differs most from the mean over negative ones, relative to the channel's standard deviation.

Directions are safetensors files (``vectors`` [K, dim], ``scales`` [K]) whose metadata names the
method, space, layers, the vectors' names and the fingerprint of the network they were found on.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from stylegan.editing.styles import StyleLayer, affine_weights, capture_styles, style_dim, style_layers
from stylegan.errors import StyleganWarning, UserError

SPACES = ("z", "w", "w+", "s")
METHODS = ("interfacegan", "ganspace", "sefa", "stylespace")
FORMAT = "stylegan-direction"
MAX_VECTORS = 100_000


def network_fingerprint(G) -> str:
    """First 16 hex digits of the SHA-256 of the generator's weights and buffers, in name order."""
    h = hashlib.sha256()
    for name, t in sorted(G.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().float().numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass
class Direction:
    vectors: torch.Tensor  # [K, dim], unit rows
    scales: torch.Tensor  # [K]: standard deviation of the network's latents along each vector
    space: str
    method: str
    names: list[str]
    layers: list[int] | None = None  # the ws edited (w, w+ and s spaces); None: all
    fingerprint: str = ""
    info: dict = field(default_factory=dict)  # anything else worth keeping (method settings, scores)

    def __post_init__(self):
        if self.space not in SPACES:
            raise UserError(f"direction space must be one of {', '.join(SPACES)}, got {self.space!r}")
        if self.vectors.ndim != 2 or self.vectors.shape[0] < 1:
            raise UserError(f"direction vectors must be [K, dim] with K >= 1, got {list(self.vectors.shape)}")
        if self.scales.shape != (self.vectors.shape[0],) or len(self.names) != self.vectors.shape[0]:
            raise UserError("a direction needs one scale and one name per vector")

    def __len__(self) -> int:
        return self.vectors.shape[0]

    def index(self, key: int | str) -> int:
        """The vector called ``key`` (a name, or a position as an int or a digit string)."""
        if isinstance(key, str) and key in self.names:
            return self.names.index(key)
        try:
            i = int(key)
        except (TypeError, ValueError):
            raise UserError(
                f"this direction has no vector {key!r} (it has: {', '.join(self.names[:12])}"
                + (", ..." if len(self.names) > 12 else "")
                + ")"
            ) from None
        if not 0 <= i < len(self):
            raise UserError(f"vector index {i} is outside [0, {len(self)})")
        return i

    def check_network(self, G, layers: list[StyleLayer] | None = None, also: tuple[str, ...] = ()) -> None:
        """A ``UserError`` where the vectors cannot apply to ``G``; a warning where ``G`` is another
        network of the same shape, unless its origin's fingerprint is in ``also`` (e.g. the network a
        pivotal-tuned copy was tuned from)."""
        dims = {"z": G.z_dim, "w": G.w_dim, "w+": G.num_ws * G.w_dim}
        dim = dims[self.space] if self.space != "s" else style_dim(layers or style_layers(G))
        if self.vectors.shape[1] != dim:
            raise UserError(
                f"this {self.space} direction has {self.vectors.shape[1]} dimensions; the network's "
                f"{self.space} space has {dim}"
            )
        if self.layers is not None and any(not 0 <= i < G.num_ws for i in self.layers):
            raise UserError(f"the direction's layers {self.layers} are outside the network's [0, {G.num_ws})")
        if self.fingerprint and self.fingerprint not in also and self.fingerprint != network_fingerprint(G):
            warnings.warn(
                f"the direction was found on another network (fingerprint {self.fingerprint}); "
                "it applies (same shapes) but may not mean the same",
                StyleganWarning,
                stacklevel=2,
            )


# ------------------------------------------------------------------------------------------------
# Files


def save_direction(direction: Direction, path: str | Path) -> Path:
    """Write ``direction`` to a safetensors file atomically."""
    from safetensors.torch import save_file

    from stylegan.utils.files import atomic_write

    tensors = {
        "vectors": direction.vectors.detach().float().cpu().contiguous(),
        "scales": direction.scales.detach().float().cpu().contiguous(),
    }
    meta = {
        "format": FORMAT,
        "method": direction.method,
        "space": direction.space,
        "names": json.dumps(direction.names),
        "layers": json.dumps(direction.layers),
        "fingerprint": direction.fingerprint,
        "info": json.dumps(direction.info),
    }
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_direction(path: str | Path) -> Direction:
    """Read a direction file, checking every field; a ``UserError`` naming the problem otherwise."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise UserError(f"direction file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise UserError(f"{path} is not a direction file (make one with `stylegan directions`)")
            keys = set(f.keys())
            if keys != {"vectors", "scales"}:
                raise UserError(f"{path}: a direction file holds 'vectors' and 'scales', found {sorted(keys)}")
            vectors, scales = f.get_tensor("vectors"), f.get_tensor("scales")
    except SafetensorError as e:
        raise UserError(f"{path} is not a readable safetensors file ({e})") from None
    try:
        names = json.loads(meta["names"])
        layers = json.loads(meta["layers"])
        info = json.loads(meta.get("info", "{}"))
        space, method, fingerprint = meta["space"], meta["method"], meta.get("fingerprint", "")
    except (KeyError, ValueError) as e:
        raise UserError(f"{path}: damaged direction metadata ({e.__class__.__name__}: {e})") from None
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise UserError(f"{path}: 'names' must be a list of strings")
    if layers is not None and not (isinstance(layers, list) and all(type(i) is int for i in layers)):
        raise UserError(f"{path}: 'layers' must be null or a list of integers")
    if not isinstance(info, dict):
        raise UserError(f"{path}: 'info' must be a JSON object")
    if vectors.ndim != 2 or not 1 <= vectors.shape[0] <= MAX_VECTORS or not vectors.is_floating_point():
        raise UserError(f"{path}: 'vectors' must be floating-point [K, dim], got {list(vectors.shape)}")
    if not (torch.isfinite(vectors).all() and torch.isfinite(scales).all()):
        raise UserError(f"{path} holds NaN or infinite values")
    if method not in METHODS:
        raise UserError(f"{path}: unknown method {method!r}")
    return Direction(vectors.float(), scales.float(), space, method, names, layers, fingerprint, info)


# ------------------------------------------------------------------------------------------------
# Sampling latents


@torch.no_grad()
def sample_latents(
    G,
    num: int,
    seed: int = 0,
    class_idx: int | None = None,
    batch_size: int = 1000,
    device="cpu",
    truncation_psi: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(z [num, z_dim], w [num, w_dim]) of ``num`` samples, z from ``torch.Generator().manual_seed(seed)``."""
    from stylegan.tools.generate import labels_for

    z = torch.randn([num, G.z_dim], generator=torch.Generator().manual_seed(seed))
    ws = []
    for i in range(0, num, batch_size):
        zb = z[i : i + batch_size].to(device)
        c = labels_for(G, class_idx, zb.shape[0], device)
        ws.append(G.mapping(zb, c, truncation_psi=truncation_psi)[:, 0].float().cpu())
    return z, torch.cat(ws)


def _spread(latents: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """Standard deviation of ``latents`` [N, dim] along each unit row of ``vectors``."""
    return (latents.double() @ vectors.double().T).std(dim=0).float()


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp(min=1e-12)


# ------------------------------------------------------------------------------------------------
# InterFaceGAN


def interfacegan(
    latents: torch.Tensor,
    scores: torch.Tensor,
    keep: float = 0.02,
    C: float = 1.0,
    space: str = "w",
    name: str = "attribute",
    layers: list[int] | None = None,
    fingerprint: str = "",
) -> Direction:
    """The unit normal of a linear SVM separating the ``keep`` fraction of samples of highest score
    from the ``keep`` fraction of lowest score (InterFaceGAN, Section 3.1: 2 % of each end); scores
    of two values are labels, and every sample of each is used. Positive strengths move towards
    high scores. ``latents``: [N, dim] codes of the scored samples."""
    from stylegan.metrics.linear_separability import fit_linear_svm

    latents, scores = torch.as_tensor(latents).float(), torch.as_tensor(scores).double().reshape(-1)
    if latents.ndim != 2 or latents.shape[0] != scores.shape[0]:
        raise UserError(f"need one score per latent: {list(latents.shape)} latents, {scores.shape[0]} scores")
    if not torch.isfinite(scores).all():
        raise UserError("the scores hold NaN or infinite values")
    if not 0 < keep <= 0.5:
        raise UserError(f"the kept fraction must be in (0, 0.5], got {keep:g}")
    values = torch.unique(scores)
    if values.numel() < 2:
        raise UserError("every score is the same: the attribute does not vary among these samples")
    if values.numel() == 2:  # labels (e.g. a dataset's): every sample of each class, ``keep`` unused
        low, high = (scores == values[0]).nonzero()[:, 0], (scores == values[1]).nonzero()[:, 0]
    else:
        k = max(1, int(round(keep * latents.shape[0])))
        order = torch.argsort(scores, stable=True)
        low, high = order[:k], order[-k:]
        if scores[high].min() <= scores[low].max():
            raise UserError(
                f"the {k} highest and {k} lowest scores overlap: the attribute does not vary enough "
                "among these samples (more samples, or a smaller --keep)"
            )
    x = torch.cat([latents[low], latents[high]])
    y = torch.cat([-torch.ones(len(low)), torch.ones(len(high))])
    mean = x.mean(dim=0)
    w = fit_linear_svm(x - mean, y, C)
    normal = _unit(w[:-1].float()[None])
    accuracy = float(((((x - mean).double() @ w[:-1] + w[-1]) > 0).float() * 2 - 1 == y).float().mean())
    return Direction(
        normal,
        _spread(latents, normal),
        space,
        "interfacegan",
        [name],
        layers,
        fingerprint,
        {
            "keep": keep,
            "samples": int(latents.shape[0]),
            "negatives": len(low),
            "positives": len(high),
            "C": C,
            "svm_train_accuracy": accuracy,
        },
    )


def condition(primary: torch.Tensor, others: list[torch.Tensor]) -> torch.Tensor:
    """Conditional manipulation (InterFaceGAN Eq. 4, for one or two conditions): ``primary`` minus its
    projection onto the span of ``others``, renormalised to unit length."""
    if not 1 <= len(others) <= 2:
        raise UserError(f"condition on one or two other directions, got {len(others)}")
    basis, _ = torch.linalg.qr(torch.stack([o.double() for o in others], dim=1))  # [dim, k] orthonormal
    p = primary.double()
    rest = p - basis @ (basis.T @ p)
    if rest.norm() < 1e-6 * p.norm():
        raise UserError("the direction lies in the span of the conditions: nothing is left after removing them")
    return _unit(rest).float()


# ------------------------------------------------------------------------------------------------
# GANSpace


def ganspace(
    latents: torch.Tensor,
    num_components: int = 10,
    layers: list[int] | None = None,
    space: str = "w",
    fingerprint: str = "",
) -> Direction:
    """Principal components of ``latents`` [N, dim] (GANSpace: sampled w), largest variance first,
    each scaled by its standard deviation and given the sign that makes its largest entry positive."""
    latents = torch.as_tensor(latents).double()
    n, dim = latents.shape
    if n < 2:
        raise UserError("PCA needs at least 2 samples")
    num_components = min(num_components, dim, n - 1)
    centred = latents - latents.mean(dim=0)
    _, sv, vh = torch.linalg.svd(centred, full_matrices=False)
    vectors = vh[:num_components]
    signs = torch.sign(vectors.gather(1, vectors.abs().argmax(dim=1, keepdim=True)))
    vectors = vectors * signs
    stds = sv[:num_components] / math.sqrt(n - 1)
    explained = (sv.square() / sv.square().sum())[:num_components]
    return Direction(
        vectors.float(),
        stds.float(),
        space,
        "ganspace",
        [f"pc{i}" for i in range(num_components)],
        layers,
        fingerprint,
        {"samples": n, "explained_variance": [round(float(e), 6) for e in explained]},
    )


def ganspace_from_features(
    latents: torch.Tensor,
    features: torch.Tensor,
    num_components: int = 10,
    layers: list[int] | None = None,
    fingerprint: str = "",
) -> Direction:
    """GANSpace on activations (Harkonen et al., Section 2, their recipe for BigGAN): principal
    components V of ``features`` [N, D] (a layer's flattened activations of the samples), their
    coordinates x = (y - mean) V^T, and the latent basis U fitted by least squares,
    ``latents - mean ~ x U``; the rows of U (normalised) are the directions in the latent space."""
    latents, features = torch.as_tensor(latents).double(), torch.as_tensor(features).double().flatten(1)
    if latents.shape[0] != features.shape[0]:
        raise UserError(f"need one feature row per latent: {latents.shape[0]} latents, {features.shape[0]} rows")
    pca = ganspace(features, num_components)
    coords = (features - features.mean(dim=0)) @ pca.vectors.double().T  # [N, k]
    basis = torch.linalg.lstsq(coords, latents - latents.mean(dim=0)).solution  # [k, dim]
    vectors = _unit(basis).float()
    return Direction(
        vectors,
        _spread(latents, vectors),
        "w",
        "ganspace",
        [f"pc{i}" for i in range(len(vectors))],
        layers,
        fingerprint,
        {**pca.info, "features": int(features.shape[1])},
    )


def find_ganspace_activations(
    G,
    layer: str,
    samples: int = 2000,
    components: int = 10,
    layers: list[int] | None = None,
    seed: int = 0,
    class_idx: int | None = None,
    batch_size: int = 64,
) -> Direction:
    """GANSpace directions in W from the activations of ``layer`` (a module of ``G.synthesis``, as
    ``stylegan analyze layers`` lists them) over ``samples`` samples."""
    from stylegan.analysis.features import capture_features, resolve_layer

    name = resolve_layer(G, layer)[0]
    device = next(G.synthesis.parameters()).device
    _, w = sample_latents(G, samples, seed, class_idx, device=device)
    capture = capture_features(G, [name], w[:, None].expand(-1, G.num_ws, -1).to(device), batch_size=batch_size)
    direction = ganspace_from_features(w, capture.features[name], components, layers, network_fingerprint(G))
    direction.info["layer"] = name
    return direction


# ------------------------------------------------------------------------------------------------
# SeFa


def sefa_vectors(weights: list[torch.Tensor], normalize: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(eigenvectors [w_dim, w_dim] as rows, eigenvalues) of A^T A, largest first, where A stacks the
    affine weights [channels, w_dim] (each row scaled to unit length with ``normalize``, as the
    official SeFa code does). Equal to the right singular vectors of A."""
    a = torch.cat([w.double() for w in weights])
    if normalize:
        a = a / a.norm(dim=1, keepdim=True).clamp(min=1e-12)
    _, s, vh = torch.linalg.svd(a, full_matrices=False)
    signs = torch.sign(vh.gather(1, vh.abs().argmax(dim=1, keepdim=True)))
    return (vh * signs).float(), s.square().float()


def sefa(
    G, layers: list[int] | None = None, num_components: int = 10, normalize: bool = True, scale_samples: int = 1000
) -> Direction:
    """Closed-form factorisation (SeFa) of the affine layers that read the ws in ``layers`` (all by
    default). The directions need no sampling; ``scale_samples`` mapped latents only measure each
    direction's spread (0: scale 1, i.e. strength in raw w units as in the SeFa paper)."""
    all_layers = style_layers(G)
    chosen = all_layers if layers is None else [s for s in all_layers if s.ws_index in set(layers)]
    if not chosen:
        raise UserError(f"no style layer reads the ws {layers} (the network has {G.num_ws})")
    vectors, eigenvalues = sefa_vectors(affine_weights(G, chosen), normalize)
    vectors, eigenvalues = vectors[:num_components], eigenvalues[:num_components]
    if scale_samples > 0:
        scales = _spread(sample_latents(G, scale_samples, seed=0)[1], vectors)
    else:
        scales = torch.ones(vectors.shape[0])
    return Direction(
        vectors,
        scales,
        "w",
        "sefa",
        [f"sefa{i}" for i in range(vectors.shape[0])],
        layers,
        network_fingerprint(G),
        {
            "eigenvalues": [round(float(e), 6) for e in eigenvalues],
            "normalize": normalize,
            "style_layers": [s.name for s in chosen],
        },
    )


# ------------------------------------------------------------------------------------------------
# StyleSpace


@torch.no_grad()
def sample_styles(G, ws: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """S [N, style_dim] of ``ws`` [N, num_ws, w_dim] (one synthesis run per batch)."""
    from stylegan.tools.generate import synthesize

    param = next(G.synthesis.parameters())
    with capture_styles(G) as captured:
        for i in range(0, ws.shape[0], batch_size):
            synthesize(G, ws[i : i + batch_size].to(param.device), noise_mode="const")
    return torch.cat(captured)


def stylespace(
    styles: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    G=None,
    num_channels: int = 5,
    name: str = "attribute",
    fingerprint: str = "",
    layers: list[int] | None = None,
) -> Direction:
    """The ``num_channels`` style channels most specific to an attribute (StyleSpace, Section 4.2):
    per channel, (mean over positive examples - mean over negative ones) / standard deviation over
    ``styles`` (samples of S). One one-hot vector per channel, sign towards the positive examples,
    scale the channel's standard deviation. ``positive``/``negative``: S of a few examples each."""
    styles, positive, negative = (torch.as_tensor(t).double() for t in (styles, positive, negative))
    if positive.shape[0] < 1 or negative.shape[0] < 1:
        raise UserError("StyleSpace needs at least one positive and one negative example")
    if not (styles.shape[1] == positive.shape[1] == negative.shape[1]):
        raise UserError("the style samples and the examples must have the same number of channels")
    std = styles.std(dim=0).clamp(min=1e-8)
    score = (positive.mean(dim=0) - negative.mean(dim=0)) / std
    rank = score.abs()
    if layers is not None:  # search only the style layers that read these ws
        if G is None:
            raise ValueError("restricting StyleSpace to layers needs the network")
        allowed = torch.zeros_like(score, dtype=torch.bool)
        for s in style_layers(G):
            if s.ws_index in set(layers):
                allowed[s.offset : s.offset + s.channels] = True
        if not allowed.any():
            raise UserError(f"no style layer reads the ws {layers} (the network has {G.num_ws})")
        rank = torch.where(allowed, rank, torch.full_like(rank, -1.0))  # below every allowed channel
    top = rank.argsort(descending=True, stable=True)[:num_channels]
    vectors = torch.zeros(len(top), styles.shape[1])
    vectors[torch.arange(len(top)), top] = torch.sign(score[top]).float()
    layers = style_layers(G) if G is not None else None
    labels = []
    for c in top.tolist():
        where = next(
            (f"{s.name}[{c - s.offset}]" for s in layers or [] if s.offset <= c < s.offset + s.channels), f"channel{c}"
        )
        labels.append(f"{name}:{where}")
    ws_of = sorted({s.ws_index for s in layers or [] for c in top.tolist() if s.offset <= c < s.offset + s.channels})
    return Direction(
        vectors,
        std[top].float(),
        "s",
        "stylespace",
        labels,
        ws_of or None,
        fingerprint,
        {
            "channels": top.tolist(),
            "scores": [round(float(score[c]), 4) for c in top],
            "positives": int(positive.shape[0]),
            "negatives": int(negative.shape[0]),
        },
    )


# ------------------------------------------------------------------------------------------------
# Scores of generated samples


Classifier = Callable[[torch.Tensor], torch.Tensor]


def probe_classifier(attribute: str, device="cpu") -> Classifier:
    """Scores from the toyfaces probe: ``name`` (binary or continuous factor: the logit difference
    or the value), or ``name=value`` for one class of a categorical factor (its logit minus the
    largest other logit)."""
    from stylegan.data.toyfaces import FACTORS
    from stylegan.metrics.probe import load_probe

    factors = {f.name: f for f in FACTORS}
    name, _, value = attribute.partition("=")
    if name not in factors:
        raise UserError(f"unknown toyfaces factor {name!r} (known: {', '.join(factors)})")
    factor = factors[name]
    if factor.kind == "categorical":
        choices = [str(v) for v in factor.values]
        if value not in choices:
            raise UserError(f"{name} is categorical: name a class, {name}=<{'|'.join(choices)}>")
        k = choices.index(value)
    elif value:
        raise UserError(f"{name} is {factor.kind}: give it without a value")
    probe = load_probe(device=device)

    @torch.no_grad()
    def score(images: torch.Tensor) -> torch.Tensor:
        out = probe.model(images.to(probe.device))[name]
        if factor.kind == "continuous":
            return out.float().cpu()
        if factor.kind == "binary":
            return (out[:, 1] - out[:, 0]).float().cpu()
        others = torch.cat([out[:, :k], out[:, k + 1 :]], dim=1)
        return (out[:, k] - others.amax(dim=1)).float().cpu()

    return score


@torch.no_grad()
def score_samples(G, classifier: Classifier, ws: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """``classifier`` (images in [-1, 1] -> [N] scores) on the images of ``ws`` [N, num_ws, w_dim]."""
    from stylegan.tools.generate import synthesize

    param = next(G.synthesis.parameters())
    out = []
    for i in range(0, ws.shape[0], batch_size):
        scores = torch.as_tensor(classifier(synthesize(G, ws[i : i + batch_size].to(param.device))))
        out.append(scores.reshape(-1).float().cpu())
    scores = torch.cat(out)
    if scores.shape[0] != ws.shape[0]:
        raise UserError(f"the classifier must return one score per image, got {scores.shape[0]} for {ws.shape[0]}")
    return scores


# ------------------------------------------------------------------------------------------------
# From a network and a classifier to a direction (what `stylegan directions` calls)


def _latents_in(space: str, G, z: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    if space == "z":
        return z
    if space == "w":
        return w
    if space == "w+":
        return w[:, None].expand(-1, G.num_ws, -1).flatten(1)
    raise UserError(f"InterFaceGAN works in z, w or w+, not {space!r}")


def find_interfacegan(
    G,
    classifier: Classifier,
    samples: int = 10_000,
    space: str = "w",
    keep: float = 0.02,
    seed: int = 0,
    name: str = "attribute",
    layers: list[int] | None = None,
    class_idx: int | None = None,
    conditions: list[Direction] = (),
    progress=None,
) -> Direction:
    """Sample ``samples`` latents, score their images with ``classifier`` (any callable: images in
    [-1, 1] -> one score per image), fit the InterFaceGAN boundary in ``space``, optionally conditioned
    on up to two other directions of the same space."""
    device = next(G.synthesis.parameters()).device
    z, w = sample_latents(G, samples, seed, class_idx, device=device)
    ws = w[:, None].expand(-1, G.num_ws, -1)
    scores = torch.cat(
        [score_samples(G, classifier, ws[i : i + 1000]) for i in _progress(range(0, samples, 1000), progress)]
    )
    direction = interfacegan(
        _latents_in(space, G, z, w),
        scores,
        keep,
        space=space,
        name=name,
        layers=layers,
        fingerprint=network_fingerprint(G),
    )
    if conditions:
        return conditioned(direction, conditions, G)
    return direction


def interfacegan_from_file(G, path, keep: float = 0.02, layers: list[int] | None = None) -> Direction:
    """An InterFaceGAN direction from a file of labelled latents: an .npz with ``scores`` [N] and one
    of ``z`` [N, z_dim], ``w`` [N, w_dim] or ``ws`` [N, num_ws, w_dim] (space z, w or w+)."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except FileNotFoundError:
        raise UserError(f"scores file not found: {path}") from None
    except Exception as e:
        raise UserError(f"{path} is not a readable .npz file ({e.__class__.__name__})") from None
    if "scores" not in arrays:
        raise UserError(f"{path} has no array named 'scores' (found: {', '.join(arrays) or 'nothing'})")
    found = [k for k in ("z", "w", "ws") if k in arrays]
    if len(found) != 1:
        raise UserError(f"{path} must hold exactly one of the arrays 'z', 'w', 'ws' (found: {', '.join(arrays)})")
    key = found[0]
    x = arrays[key]
    expected = {"z": (G.z_dim,), "w": (G.w_dim,), "ws": (G.num_ws, G.w_dim)}[key]
    if not np.issubdtype(x.dtype, np.floating) or x.ndim != 1 + len(expected) or tuple(x.shape[1:]) != expected:
        raise UserError(
            f"{path}: '{key}' must be floating-point [N, {', '.join(map(str, expected))}], "
            f"got {x.dtype} {list(x.shape)}"
        )
    scores = arrays["scores"]
    if not (np.issubdtype(scores.dtype, np.number) or scores.dtype == bool):
        raise UserError(f"{path}: 'scores' must be numbers, got {scores.dtype}")
    if not np.isfinite(x).all():
        raise UserError(f"{path}: '{key}' holds NaN or infinite values")
    space = {"z": "z", "w": "w", "ws": "w+"}[key]
    latents = torch.from_numpy(x.astype(np.float32)).flatten(1)
    return interfacegan(
        latents,
        torch.from_numpy(scores.astype(np.float64)).reshape(-1),
        keep,
        space=space,
        name=str(path),
        layers=layers,
        fingerprint=network_fingerprint(G),
    )


def conditioned(direction: Direction, conditions: list[Direction], G=None) -> Direction:
    """``direction`` (its first vector) with the first vector of each condition removed (Eq. 4)."""
    for c in conditions:
        if c.space != direction.space or c.vectors.shape[1] != direction.vectors.shape[1]:
            raise UserError(
                f"a condition must be a direction of the same space ({direction.space}, "
                f"{direction.vectors.shape[1]} dimensions), got {c.space} with {c.vectors.shape[1]}"
            )
    vector = condition(direction.vectors[0], [c.vectors[0] for c in conditions])[None]
    info = {**direction.info, "conditioned_on": [c.names[0] for c in conditions]}
    scales = direction.scales[:1]
    if G is not None and direction.space in ("z", "w", "w+"):
        device = next(G.synthesis.parameters()).device
        z, w = sample_latents(G, 2000, seed=0, device=device)
        scales = _spread(_latents_in(direction.space, G, z, w), vector)
    return Direction(
        vector,
        scales,
        direction.space,
        direction.method,
        direction.names[:1],
        direction.layers,
        direction.fingerprint,
        info,
    )


def find_ganspace(
    G,
    samples: int = 10_000,
    components: int = 10,
    layers: list[int] | None = None,
    seed: int = 0,
    class_idx: int | None = None,
) -> Direction:
    """GANSpace directions of ``G``: PCA of ``samples`` mapped latents."""
    device = next(G.synthesis.parameters()).device
    _, w = sample_latents(G, samples, seed, class_idx, device=device)
    return ganspace(w, components, layers, "w", network_fingerprint(G))


def find_stylespace(
    G,
    classifier: Classifier,
    samples: int = 2000,
    examples: int = 20,
    channels: int = 5,
    seed: int = 0,
    name: str = "attribute",
    layers: list[int] | None = None,
    class_idx: int | None = None,
    progress=None,
) -> Direction:
    """StyleSpace channels of ``G`` for an attribute: S of ``samples`` samples gives each channel's
    spread; the ``examples`` samples of highest and of lowest score are the positive and negative examples."""
    device = next(G.synthesis.parameters()).device
    _, w = sample_latents(G, samples, seed, class_idx, device=device)
    ws = w[:, None].expand(-1, G.num_ws, -1)
    if not 1 <= examples <= samples // 2:
        raise UserError(f"examples must be within [1, samples / 2 = {samples // 2}], got {examples}")
    parts = [
        (score_samples(G, classifier, ws[i : i + 500]), sample_styles(G, ws[i : i + 500]))
        for i in _progress(range(0, samples, 500), progress)
    ]
    scores, styles = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    order = torch.argsort(scores, stable=True)
    return stylespace(
        styles, styles[order[-examples:]], styles[order[:examples]], G, channels, name, network_fingerprint(G), layers
    )


def _progress(iterable, progress):
    return iterable if progress is None else progress(iterable)
