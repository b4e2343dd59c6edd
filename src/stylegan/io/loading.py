"""One entry point for every tool: ``load_network(path)`` opens any network file a user brings.

Native checkpoints load directly. Other formats (official NVIDIA pickles, TensorFlow pickles,
community checkpoints) are recognised here and converted by their importers.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from stylegan.errors import CheckpointError
from stylegan.io.checkpoint import is_native, load


def load_network(path: str | Path, which: str = "G", device: str | torch.device = "cpu") -> nn.Module:
    """Load a network from ``path``.

    ``which`` picks the network in files that hold several: ``"G"`` (the generator to use: the
    EMA generator where the file has one), ``"D"`` (the discriminator). A native checkpoint holds
    one network and ``which`` is only checked against it.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"network file not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a network file")
    if is_native(path):
        module = load(path, device)
        _check_which(module, which, path)
        return module
    raise CheckpointError(f"{path}: not a stylegan checkpoint (expected a .safetensors file written by stylegan)")


def _check_which(module: nn.Module, which: str, path: Path) -> None:
    kind = getattr(module, "kind", "")
    want = {"G": "generator", "D": "discriminator"}.get(which)
    if want is None:
        raise CheckpointError(f"which must be 'G' or 'D', got {which!r}")
    if not kind.endswith(want):
        raise CheckpointError(f"{path} holds a {kind}, not a {want}")
