"""What the tools, metrics and analyses ask of a generator.

``Generator``: the sizes, ``mapping`` and ``synthesis`` every generation has (``GeneratorBase`` and
the networks loaded from any format satisfy it). ``mapping(z [N, z_dim], c [N, c_dim],
truncation_psi=, truncation_cutoff=)`` gives ws [N, num_ws, w_dim]; ``synthesis(ws, noise_mode=,
force_fp32=)`` gives images [N, img_channels, img_resolution, img_resolution] in [-1, 1] (networks
without noise or float16 layers accept and ignore those options).

``Transformable``: a generator whose images can be moved and rotated through its input (StyleGAN3's
Fourier features): ``set_transform(translate, angle_deg)`` from now on, ``transformed(...)`` within a
``with`` block. Tools test for it with ``isinstance(G, Transformable)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class Generator(Protocol):
    """A generator network as the tools use it (see the module docstring)."""

    z_dim: int
    c_dim: int
    w_dim: int
    num_ws: int
    img_resolution: int
    img_channels: int

    @property
    def mapping(self) -> nn.Module: ...

    @property
    def synthesis(self) -> nn.Module: ...

    def __call__(self, z: torch.Tensor, c: torch.Tensor | None = None, *args: Any, **kwargs: Any) -> torch.Tensor: ...

    def one_hot(self, class_idx: int | None, batch: int, device: Any = None) -> torch.Tensor:
        """Labels for ``batch`` samples: one-hot ``class_idx`` for conditional networks, [batch, 0] otherwise."""
        ...

    def empty_labels(self, batch: int, device: Any = None) -> torch.Tensor: ...

    # the torch.nn.Module methods the tools use
    def to(self, *args: Any, **kwargs: Any) -> Any: ...

    def eval(self) -> Any: ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...

    def named_buffers(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, torch.Tensor]]: ...

    def named_modules(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, nn.Module]]: ...


@runtime_checkable
class Transformable(Protocol):
    """A generator with a translatable and rotatable input (StyleGAN3, see ``stylegan.models.stylegan3``)."""

    def set_transform(self, translate: tuple[float, float] = (0.0, 0.0), angle_deg: float = 0.0) -> None:
        """Move the content of every image made from now on by ``translate`` = (x, y) image sizes (x right,
        y down) and rotate it by ``angle_deg`` degrees counter-clockwise; no arguments: the identity."""
        ...

    def transformed(
        self, translate: tuple[float, float] = (0.0, 0.0), angle_deg: float = 0.0
    ) -> AbstractContextManager[Any]:
        """``set_transform(translate, angle_deg)`` within a ``with`` block; the transform before it is
        restored after."""
        ...
