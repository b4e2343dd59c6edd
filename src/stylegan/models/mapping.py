"""The mapping network f: z -> w (StyleGAN, Section 2), shared by every generation.

z (and the embedded label c, when conditional) are normalised to unit second moment, passed
through an MLP of leaky-ReLU fully connected layers with learning-rate multiplier 0.01, and w is
broadcast to ``num_ws`` copies. Truncation: w' = w_avg + psi (w - w_avg) on the first ``cutoff``
copies (all when no cutoff).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from stylegan.layers.equalized import FullyConnectedLayer
from stylegan.models.config_io import at_most
from stylegan.ops.norm import normalize_2nd_moment


@dataclass(frozen=True)
class MappingConfig:
    num_layers: int = field(default=8, metadata=at_most(64))
    embed_features: int | None = None  # label embedding size; default w_dim
    layer_features: int | None = None  # hidden width; default w_dim
    activation: str = "lrelu"
    lr_multiplier: float = 0.01
    w_avg_beta: float | None = 0.995  # None: do not track w_avg


class MappingNetwork(nn.Module):
    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int | None,
        config: MappingConfig = MappingConfig(),
    ):
        super().__init__()
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.num_ws = num_ws
        self.num_layers = config.num_layers
        self.w_avg_beta = config.w_avg_beta
        embed_features = w_dim if config.embed_features is None else config.embed_features
        layer_features = w_dim if config.layer_features is None else config.layer_features
        if c_dim == 0:
            embed_features = 0
        features = [z_dim + embed_features] + [layer_features] * (config.num_layers - 1) + [w_dim]
        if config.num_layers == 0 and z_dim + embed_features != w_dim:  # w is the normalised z (and label)
            raise ValueError(
                f"a mapping network without layers needs w_dim = z_dim + label embedding, got "
                f"{w_dim} and {z_dim + embed_features}"
            )
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(config.num_layers):
            layer = FullyConnectedLayer(
                features[idx], features[idx + 1], activation=config.activation, lr_multiplier=config.lr_multiplier
            )
            setattr(self, f"fc{idx}", layer)
        if num_ws is not None and config.w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> torch.Tensor:
        x = None
        if self.z_dim > 0:
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None or c.shape[-1] != self.c_dim:
                raise ValueError(f"this network needs labels c of size {self.c_dim}")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        if update_emas and self.w_avg_beta is not None:
            self.w_avg.copy_(x.detach().float().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            x = truncate(x, self.w_avg, truncation_psi, truncation_cutoff)
        return x


def truncate(ws: torch.Tensor, w_avg: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
    """Truncation trick: w_avg + psi (w - w_avg) on ws[:, :cutoff] (all ws when cutoff is None)."""
    if ws.ndim == 2:
        return w_avg.lerp(ws, psi)
    ws = ws.clone()
    ws[:, :cutoff] = w_avg.lerp(ws[:, :cutoff], psi)
    return ws
