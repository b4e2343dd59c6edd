"""Native checkpoints: one safetensors file holding the weights, with the network's kind and
JSON config in its metadata, so a network rebuilds from the file alone. Loading executes no code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from stylegan.errors import CheckpointError, ConfigError
from stylegan.models.registry import build, config_to_dict
from stylegan.utils.files import atomic_write

FORMAT = "stylegan"
FORMAT_VERSION = "1"
BUILD_SLACK_ELEMENTS = 1 << 20  # what building may allocate beyond the stored weights (filters, small files)


def save(module: nn.Module, path: str | Path, extra_metadata: dict[str, str] | None = None) -> Path:
    """Save a registered network (weights + buffers + config) to one safetensors file, atomically."""
    kind = getattr(module, "kind", None)
    config = getattr(module, "config", None)
    if kind is None or config is None:
        raise TypeError(f"{type(module).__name__} is not a registered stylegan network (no kind/config)")
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": json.dumps(config_to_dict(config)),
    }
    if extra_metadata:
        metadata.update({str(k): str(v) for k, v in extra_metadata.items()})
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    return Path(path)


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of a native checkpoint, without loading the weights."""
    from safetensors import safe_open

    path = _check_path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable stylegan checkpoint ({e})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a stylegan checkpoint (no stylegan metadata)")
    return meta


def _check_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    return path


def is_native(path: str | Path) -> bool:
    """True if ``path`` starts like a safetensors file (an 8-byte header length then '{')."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < (1 << 30)


def load(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a network saved by ``save`` (in eval mode, on ``device``).

    The config is checked against its dataclass, and the network it describes against the shapes
    of the stored weights, before any weight is read; building never allocates much more than the
    stored weights need. Every problem raises ``CheckpointError``.
    """
    meta = read_metadata(path)
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint format version {meta.get('format_version')!r}")
    try:
        config = json.loads(meta["config"])
        kind = meta["kind"]
    except (KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: damaged checkpoint metadata ({e})") from None
    shapes = read_tensor_shapes(path)
    stored = sum(math.prod(shape) for shape in shapes.values())
    try:
        module = build(kind, config, max_elements=stored + stored // 4 + BUILD_SLACK_ELEMENTS)
    except (ConfigError, CheckpointError) as e:  # a bad config, an unknown kind
        raise CheckpointError(f"{path}: invalid network config: {e}") from None
    _check_shapes(module, shapes, path)
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot read the weights ({e})") from None
    module.load_state_dict(tensors, strict=True)
    return module.to(device).eval()


def read_tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """{name: shape} of the tensors of a safetensors file, from its header (no weight is read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot read the weights ({e})") from None


def _check_shapes(module: nn.Module, shapes: dict[str, tuple[int, ...]], path) -> None:
    own = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    missing = sorted(set(own) - set(shapes))
    extra = sorted(set(shapes) - set(own))
    if missing or extra:
        raise CheckpointError(
            f"{path}: the weights do not fit the config (missing {missing[:3]}, unexpected {extra[:3]})"
        )
    wrong = [name for name in own if own[name] != shapes[name]]
    if wrong:
        first = wrong[0]
        more = f" (and {len(wrong) - 1} more tensors)" if len(wrong) > 1 else ""
        raise CheckpointError(
            f"{path}: the weights do not fit the config: {first} is {list(shapes[first])} in the "
            f"file but {list(own[first])} in the network the config describes{more}"
        )
