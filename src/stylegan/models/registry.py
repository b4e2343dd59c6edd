"""Networks are built from frozen dataclass configs; this registry maps a network's ``kind``
(stored in checkpoints) to its class and builds it from a config object or a dict read from a file
(checked by ``config_io``, whose helpers are re-exported here)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from stylegan.errors import CheckpointError, ConfigError
from stylegan.models.config_io import at_most, config_from_dict, config_to_dict
from stylegan.models.stylegan1 import StyleGAN1Discriminator, StyleGAN1Generator
from stylegan.models.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
from stylegan.models.stylegan3 import StyleGAN3Generator

__all__ = ["NETWORKS", "at_most", "build", "config_from_dict", "config_to_dict", "network_class"]

# Every network kind a checkpoint can name (its ``kind`` class attribute) -> its class.
NETWORKS: dict[str, type[nn.Module]] = {
    cls.kind: cls
    for cls in (
        StyleGAN1Generator,
        StyleGAN1Discriminator,
        StyleGAN2Generator,
        StyleGAN2Discriminator,
        StyleGAN3Generator,
    )
}


def network_class(kind: str) -> type[nn.Module]:
    try:
        return NETWORKS[kind]
    except KeyError:
        raise CheckpointError(f"unknown network kind {kind!r}; known: {', '.join(sorted(NETWORKS))}") from None


def build(kind: str, config, max_elements: int | None = None) -> nn.Module:
    """Build a network of ``kind`` from its config object or dict.

    Anything but a config object (a dict read from a file) is checked against the config dataclass first, and a
    network that refuses it (a resolution that is not a power of two, channel counts that come to
    zero, ...) raises ``ConfigError`` too. ``max_elements`` bounds the elements of the tensors
    created while building: a config that describes a larger network raises ``ConfigError``
    before the tensor that would cross the bound is allocated.
    """
    cls = network_class(kind)
    if isinstance(config, cls.Config):
        with _ElementBudget(max_elements):
            return cls(config)
    config = config_from_dict(cls.Config, config, f"{kind} config")
    try:
        with _ElementBudget(max_elements):
            return cls(config)
    except (ValueError, ArithmeticError, RuntimeError) as e:  # the network's own checks; impossible sizes
        raise ConfigError(f"no {kind} can be built from this config ({e})") from None


class _ElementBudget(TorchFunctionMode):
    """Counts the elements of the tensors that torch's factory functions create, and raises
    ``ConfigError`` before one would take the total past ``max_elements`` (no bound when None)."""

    SIZED = frozenset({torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn})

    def __init__(self, max_elements: int | None):
        super().__init__()
        self.max_elements = max_elements
        self.used = 0

    def __enter__(self):
        return self if self.max_elements is None else super().__enter__()

    def __exit__(self, *exc):
        return None if self.max_elements is None else super().__exit__(*exc)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.SIZED:
            size = kwargs.get("size", args[0] if args else ())
            if isinstance(size, int):  # torch.zeros(2, 3)
                size = [a for a in args if isinstance(a, int)]
            self.used += math.prod(size)
        elif func is torch.eye:
            self.used += args[0] * (args[1] if len(args) > 1 and isinstance(args[1], int) else args[0])
        if self.used > self.max_elements:
            raise ConfigError(f"it describes a network of more than {self.max_elements:,} tensor elements")
        return func(*args, **kwargs)
