"""What every generator shares: mapping + synthesis, truncation, style mixing.

A generator ``G`` has ``G.mapping`` (z, c -> ws of shape [N, num_ws, w_dim]) and ``G.synthesis``
(ws -> images in [-1, 1], [N, C, H, W]); ``G(z, c, truncation_psi=, truncation_cutoff=, ...)``
chains the two, as in the official implementations.
"""

from __future__ import annotations

import torch
from torch import nn


class GeneratorBase(nn.Module):
    """Base class; subclasses set ``self.mapping`` and ``self.synthesis`` and the size attributes
    ``z_dim, c_dim, w_dim, num_ws, img_resolution, img_channels``."""

    z_dim: int
    c_dim: int
    w_dim: int
    num_ws: int
    img_resolution: int
    img_channels: int

    def __init__(self, config, synthesis: nn.Module):
        """Wire ``synthesis`` (which defines ``num_ws``) to a mapping network built from ``config``
        (a generator config with z_dim, c_dim, w_dim, img_resolution, img_channels, mapping)."""
        from stylegan.models.mapping import MappingNetwork

        super().__init__()
        self.config = config
        self.z_dim = config.z_dim
        self.c_dim = config.c_dim
        self.w_dim = config.w_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.synthesis = synthesis
        self.num_ws = synthesis.num_ws
        self.mapping = MappingNetwork(config.z_dim, config.c_dim, config.w_dim, self.num_ws, config.mapping)

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
        **synthesis_kwargs,
    ) -> torch.Tensor:
        ws = self.mapping(
            z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, update_emas=update_emas
        )
        return self.synthesis(ws, update_emas=update_emas, **synthesis_kwargs)

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping.w_avg

    def empty_labels(self, batch: int, device=None) -> torch.Tensor:
        return torch.zeros([batch, self.c_dim], device=device)

    def one_hot(self, class_idx: int | None, batch: int, device=None) -> torch.Tensor:
        """Labels for ``batch`` samples: one-hot ``class_idx`` for conditional networks, empty otherwise."""
        c = torch.zeros([batch, self.c_dim], device=device)
        if self.c_dim > 0:
            if class_idx is None:
                raise ValueError(f"this network is conditional: give a class index in [0, {self.c_dim})")
            if not 0 <= class_idx < self.c_dim:
                raise ValueError(f"class index {class_idx} is outside [0, {self.c_dim})")
            c[:, class_idx] = 1
        elif class_idx is not None:
            raise ValueError("this network is unconditional: it takes no class index")
        return c


def mix_styles(ws_a: torch.Tensor, ws_b: torch.Tensor, crossover: int | torch.Tensor) -> torch.Tensor:
    """Style mixing: ws_a for layers [0, crossover), ws_b from crossover on (per sample if a tensor)."""
    num_ws = ws_a.shape[1]
    idx = torch.arange(num_ws, device=ws_a.device)[None, :, None]
    crossover = torch.as_tensor(crossover, device=ws_a.device).reshape(-1, 1, 1)
    return torch.where(idx < crossover, ws_a, ws_b)
