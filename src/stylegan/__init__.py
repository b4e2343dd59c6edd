"""stylegan: StyleGAN, StyleGAN2, StyleGAN3 and Pixel-Instance Normalization in plain PyTorch.

import stylegan
G = stylegan.load("network.safetensors")    # any saved or imported network
img = G(z, c, truncation_psi=0.7)
stylegan.save(G, "copy.safetensors")
"""

from __future__ import annotations

import os as _os

# PyTorch's CPU ops run their threads through OpenMP, whose idle threads spin by default. When the
# cores are shared (another process, a second training run, a test suite) a spinning thread waits
# a whole scheduler time slice for a descheduled one at every parallel op, which made training on
# 2 shared cores 20-70x slower (docs/performance.md). Sleeping waits cost little when the machine
# is idle. Only effective when stylegan is imported before torch (the CLI does); a value the user
# set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"


def save(module, path, extra_metadata=None):
    """Save a network to one safetensors file that carries its config (see ``stylegan.io.checkpoint``)."""
    from stylegan.io.checkpoint import save as _save

    return _save(module, path, extra_metadata)


def load(path, device="cpu"):
    """Load a network saved by ``save`` (see ``stylegan.io.checkpoint``), or a shipped network by
    name, e.g. ``load("toyfaces-stylegan2-32")`` (see ``stylegan.io.zoo``)."""
    from stylegan.io.checkpoint import load as _load
    from stylegan.io.zoo import resolve_network

    return _load(resolve_network(path), device)


__all__ = ["__version__", "load", "save"]
