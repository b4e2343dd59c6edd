"""Fourier-feature input of the alias-free generator (StyleGAN3, Section 3.2 and Appendix D).

The synthesis network starts from a continuous signal instead of a learned constant: ``channels``
sinusoids with fixed random frequencies (drawn inside a disc of radius ``bandwidth``) and phases,
sampled on a grid of ``size`` pixels at ``sampling_rate`` samples per unit, then mixed by a
learned ``channels x channels`` matrix. Because the signal is continuous it can be translated
and rotated exactly:

- per sample, ``affine(w)`` gives (r_c, r_s, t_x, t_y) (weights initialised to 0, bias to
  [1, 0, 0, 0]); (r_c, r_s) is normalised to a unit rotation. The image is rotated by it, then
  translated by (t_x, t_y);
- a user ``transform`` buffer (3x3, identity by default) is applied on top. It is the *inverse*
  of the transformation wanted for the resulting image, in units where the image spans one unit
  (x to the right, y down): ``M[:2, 2] = -t`` moves the content by +t.

Frequencies pushed towards the sampling grid's Nyquist limit by the transform are faded out
linearly between ``bandwidth`` and ``sampling_rate / 2`` (none are when the bandwidth is the
Nyquist limit itself, a critically sampled input). ``transformed=False`` drops the learned
per-sample transform (no ``affine``): the features are fixed, as in configs B-G of the paper's
Figure 3, before config H transforms them by w; the user ``transform`` stays. Names (``weight``, ``affine``,
``transform``, ``freqs``, ``phases``) follow the official implementation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from stylegan.layers.equalized import FullyConnectedLayer


class FourierFeatureInput(nn.Module):
    def __init__(
        self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float, transformed: bool = True
    ):
        super().__init__()
        self.w_dim = w_dim
        self.channels = channels
        self.size = int(size)
        self.sampling_rate = float(sampling_rate)
        self.bandwidth = float(bandwidth)
        self.transformed = transformed

        # Frequencies: radially Gaussian directions pushed into the disc of radius `bandwidth`.
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        phases = torch.rand([channels]) - 0.5

        self.weight = nn.Parameter(torch.randn([channels, channels]))
        if transformed:
            self.affine = FullyConnectedLayer(w_dim, 4, bias_init=[1, 0, 0, 0])
            with torch.no_grad():
                self.affine.weight.zero_()
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def sample_transforms(self, w: torch.Tensor) -> torch.Tensor:
        """[N, 3, 3] inverse image transforms: rotation and translation from ``w`` (when ``transformed``),
        then ``transform``."""
        if not self.transformed:
            return self.transform.unsqueeze(0).expand(w.shape[0], 3, 3)
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        batch = w.shape[0]
        rotation = torch.eye(3, device=w.device).unsqueeze(0).repeat([batch, 1, 1])
        rotation[:, 0, 0] = t[:, 0]
        rotation[:, 0, 1] = -t[:, 1]
        rotation[:, 1, 0] = t[:, 1]
        rotation[:, 1, 1] = t[:, 0]
        translation = torch.eye(3, device=w.device).unsqueeze(0).repeat([batch, 1, 1])
        translation[:, 0, 2] = -t[:, 2]
        translation[:, 1, 2] = -t[:, 3]
        return rotation @ translation @ self.transform.unsqueeze(0)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """w [N, w_dim] -> features [N, channels, size, size]."""
        transforms = self.sample_transforms(w)
        freqs = self.freqs.unsqueeze(0)  # [1, C, 2]
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)  # [N, C]
        freqs = freqs @ transforms[:, :2, :2]  # [N, C, 2]

        # Fade out frequencies between the bandwidth and the Nyquist limit of the grid.
        nyquist = self.sampling_rate / 2
        if nyquist > self.bandwidth:
            amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (nyquist - self.bandwidth)).clamp(0, 1)
        else:  # critically sampled: every frequency lies within the disc, none is faded
            amplitudes = torch.ones_like(freqs[:, :, 0])

        # Pixel centres, in units (the grid spans size / sampling_rate units, centred on 0).
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = theta[1, 1] = 0.5 * self.size / self.sampling_rate
        grid = F.affine_grid(theta.unsqueeze(0), [1, 1, self.size, self.size], align_corners=False)  # [1, H, W, 2]

        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)  # [N, H, W, C]
        x = torch.sin((x + phases.unsqueeze(1).unsqueeze(2)) * (math.pi * 2))
        x = x * amplitudes.unsqueeze(1).unsqueeze(2)
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return (
            f"w_dim={self.w_dim}, channels={self.channels}, size={self.size}, "
            f"sampling_rate={self.sampling_rate:g}, bandwidth={self.bandwidth:g}, transformed={self.transformed}"
        )
