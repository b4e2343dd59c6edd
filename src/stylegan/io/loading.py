"""One entry point for every tool: ``load_network(path)`` opens any network file a user brings.

Formats, recognised by content (never by file name):

| format | what | ``G`` | ``D`` |
|---|---|---|---|
| ``native`` | a ``stylegan.save`` safetensors file (one network) | it | it |
| ``official-snapshot`` | StyleGAN2-ADA-PyTorch / StyleGAN3 ``network-snapshot-*.pkl`` | ``G_ema`` | ``D`` |
| ``tensorflow`` | NVIDIA's TensorFlow StyleGAN / StyleGAN2(-ADA) ``.pkl`` ``(G, D, Gs)`` | ``Gs`` | ``D`` |
| ``rosinality`` | rosinality/stylegan2-pytorch ``.pt`` | ``g_ema`` | ``d`` |

A name of a network that ships with the package (``toyfaces-stylegan2-32``, see
``stylegan.io.zoo``) stands for its file wherever a path is taken.

Pickles go through ``stylegan.io.unpickle`` (only the globals each format needs, nothing
executed); torch files through ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from stylegan.errors import CheckpointError, StyleganWarning
from stylegan.io.checkpoint import is_native, load

NETWORK_NAMES = ("G", "G_ema", "D")  # names of the networks a file may hold
NONFINITE_POLICIES = ("warn", "error", "ignore")  # what loading does with NaN or infinite weights
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of a non-zip torch.save stream
_PICKLE_FIRST_BYTES = b"\x80(}]cSVIN)"  # PROTO, or the opcodes a protocol-0/1 pickle starts with


def detect_format(path: str | Path) -> str:
    """``native``, ``official-snapshot``, ``tensorflow`` or ``torch``, from the file's content.
    Pickles are scanned (not run) and refused when they name a global no format allows."""
    path = _check_path(path)
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        raise CheckpointError(f"{path} is empty")
    if is_native(path):
        return "native"
    if head.startswith(b"PK\x03\x04"):
        return "torch"  # torch.save zip archive
    if head[:4] == b"\x80\x02\x8a\x0a" and int.from_bytes(head[4:14], "little") == _TORCH_LEGACY_MAGIC:
        return "torch"  # torch.save legacy stream
    if head[0] in _PICKLE_FIRST_BYTES:
        from stylegan.io.unpickle import detect_pickle_format

        return detect_pickle_format(path)
    raise CheckpointError(
        f"{path}: unsupported file format (expected a stylegan .safetensors checkpoint, an official NVIDIA "
        "PyTorch or TensorFlow network pickle, or a rosinality/stylegan2-pytorch .pt checkpoint)"
    )


def network_builders(path: str | Path, nonfinite: str = "warn") -> tuple[str, dict[str, Callable[[], nn.Module]]]:
    """(format, {name: builder}) for the networks in ``path``; names among ``G``, ``G_ema``, ``D``.

    The file is read once here; each builder converts one network (on CPU) when called, and
    checks its weights as ``nonfinite`` says (see ``check_finite_weights``).
    """
    path = _check_path(path)
    fmt = detect_format(path)
    if fmt == "native":
        module = load(path)
        name = "D" if getattr(module, "kind", "").endswith("discriminator") else "G"
        builders = {name: lambda: module}
    elif fmt == "official-snapshot":
        builders = _snapshot_builders(path)
    elif fmt == "tensorflow":
        builders = _tf_builders(path)
    else:
        from stylegan.io.rosinality import read_checkpoint, rosinality_networks

        fmt, builders = "rosinality", rosinality_networks(path, read_checkpoint(path))
    return fmt, {
        name: _checking_weights(build, str(path) if fmt == "native" else f"{path} ({name})", nonfinite)
        for name, build in builders.items()
    }


def load_networks(
    path: str | Path, device: str | torch.device = "cpu", nonfinite: str = "warn"
) -> dict[str, nn.Module]:
    """Every network in ``path`` by name (``G``, ``G_ema``, ``D``), converted to ours, in eval mode."""
    _, builders = network_builders(path, nonfinite)
    return {name: build().to(device).eval() for name, build in builders.items()}


def load_network(
    path: str | Path, which: str = "G", device: str | torch.device = "cpu", nonfinite: str = "warn"
) -> nn.Module:
    """Load a network from ``path``.

    ``which`` picks the network in files that hold several: ``"G"`` (the generator to use: the
    EMA generator where the file has one), ``"D"`` (the discriminator). A native checkpoint holds
    one network and ``which`` is only checked against it. ``nonfinite``: what to do with NaN or
    infinite weights (``"warn"``, ``"error"``, ``"ignore"``; see ``check_finite_weights``).
    """
    if which not in ("G", "D"):
        raise CheckpointError(f"which must be 'G' or 'D', got {which!r}")
    path = _check_path(path)
    fmt, builders = network_builders(path, nonfinite)
    if fmt == "native":
        module = builders[next(iter(builders))]()
        _check_which(module, which, path)
        return module.to(device)
    order = ("G_ema", "G") if which == "G" else ("D",)
    for name in order:
        if name in builders:
            return builders[name]().to(device).eval()
    raise CheckpointError(f"{path} holds no {'generator' if which == 'G' else 'discriminator'}")


def check_finite_weights(module: nn.Module, where: str, nonfinite: str = "warn") -> None:
    """Look for NaN or infinite values in the parameters and buffers of ``module`` (from ``where``).

    ``nonfinite="warn"`` issues a ``StyleganWarning`` (the CLI prints one ``warning:`` line), for
    commands whose output a person can still look at; ``"error"`` raises ``CheckpointError``, for
    results that would be meaningless numbers (metrics, projection, analysis, training);
    ``"ignore"`` skips the check.
    """
    if nonfinite not in NONFINITE_POLICIES:
        raise ValueError(f"nonfinite must be one of {NONFINITE_POLICIES}, got {nonfinite!r}")
    if nonfinite == "ignore":
        return
    tensors = itertools.chain(module.named_parameters(), module.named_buffers())  # also buffers made from the config
    bad = [name for name, t in tensors if t.is_floating_point() and not t.isfinite().all()]
    if not bad:
        return
    what = f"{where}: {len(bad)} weight tensor(s) hold NaN or infinite values ({', '.join(bad[:3])}"
    what += ", ...)" if len(bad) > 3 else ")"
    if nonfinite == "error":
        raise CheckpointError(f"{what}; refusing to compute with it (its results would be meaningless)")
    warnings.warn(f"{what}; its outputs are likely meaningless", StyleganWarning, stacklevel=3)


def _checking_weights(build: Callable[[], nn.Module], where: str, nonfinite: str) -> Callable[[], nn.Module]:
    def checked():
        module = build()
        check_finite_weights(module, where, nonfinite)
        return module

    return checked


def _check_path(path: str | Path) -> Path:
    from stylegan.io.zoo import missing_network_message, resolve_network

    path = resolve_network(path)
    if not path.exists():
        raise CheckpointError(missing_network_message(path))
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a network file")
    return path


def _check_which(module: nn.Module, which: str, path: Path) -> None:
    kind = getattr(module, "kind", "")
    want = {"G": "generator", "D": "discriminator"}[which]
    if not kind.endswith(want):
        raise CheckpointError(f"{path} holds a {kind}, not a {want}")


def _snapshot_builders(path: Path) -> dict[str, Callable[[], nn.Module]]:
    from stylegan.io.official import import_official
    from stylegan.io.unpickle import load_official_snapshot

    nets = load_official_snapshot(path, scan=False)  # detect_format has just scanned it
    return {
        name: (lambda n=n: import_official(n["class_name"], n["init_kwargs"], n["state_dict"]))
        for name, n in nets.items()
    }


def _tf_builders(path: Path) -> dict[str, Callable[[], nn.Module]]:
    from stylegan.io.tf_import import import_tf_network
    from stylegan.io.unpickle import load_tf_pickle

    G, D, Gs = load_tf_pickle(path, scan=False)  # detect_format has just scanned it
    return {name: (lambda net=net: import_tf_network(net)) for name, net in (("G", G), ("G_ema", Gs), ("D", D))}
