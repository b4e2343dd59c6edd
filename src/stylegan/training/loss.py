"""Losses and regularisers of StyleGAN 1/2/3 training.

- Non-saturating logistic loss (Goodfellow et al. 2014): G minimises softplus(-D(G(z))),
  D minimises softplus(D(G(z))) + softplus(-D(x)).
- R1 (Mescheder et al. 2018): gamma/2 * E ||grad_x D(x)||^2 on real images.
- Path length regularisation (StyleGAN2, Eq. 4): with y ~ N(0, I) / sqrt(H W) and
  L = || J_w^T y || (RMS over the num_ws copies of w), penalise (L - a)^2 where a is a running mean.
- Style mixing regularisation (StyleGAN, Section 3.1), per sample: with probability p the ws from
  a second latent replace those of the first from a random crossover layer on.
- Discriminator input blur of StyleGAN3-R (Section 3.2 of the StyleGAN3 paper, App. D):
  a Gaussian blur of sigma, faded linearly to zero over the first ``blur_fade_kimg``.

Each public method computes one term for one pass and calls ``backward`` with a gain; the
trainer decides which terms run when (lazy regularisation) and how passes are split.

With ``compile=True`` the passes that need no second derivative (the main G and D terms) run G's
synthesis network and D through ``torch.compile``; R1 and the path-length penalty differentiate
a gradient, which compiled graphs do not support, and run the same modules eagerly.

With ``precision="bf16"`` the networks' forward passes run under ``torch.autocast("cpu", bfloat16)``
(convolutions and matrix products in bfloat16); what leaves them is cast to float32: the ws that
synthesis sees (so the path-length gradient J_w^T y is float32), the images and the logits. The
augmentation pipe, the losses, R1 and the path lengths are computed in float32; the parameters are
float32, and so are their gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from stylegan.models.generator import mix_styles
from stylegan.ops.upfirdn2d import filter2d
from stylegan.utils.compile import maybe_compile
from stylegan.utils.precision import autocast


@dataclass(frozen=True)
class LossConfig:
    r1_gamma: float = 10.0
    style_mixing: float = 0.0
    pl_weight: float = 0.0
    pl_batch_shrink: int = 2
    pl_decay: float = 0.01
    blur_sigma: float = 0.0
    blur_fade_kimg: float = 0.0


@dataclass
class Latents:
    """Random inputs of one generator pass: latents, labels, and per-sample style mixing.

    ``crossover[i] == num_ws`` means sample i is not mixed."""

    z: torch.Tensor
    c: torch.Tensor
    z_mix: torch.Tensor
    crossover: torch.Tensor

    def __getitem__(self, index) -> Latents:
        return Latents(self.z[index], self.c[index], self.z_mix[index], self.crossover[index])

    def __len__(self) -> int:
        return self.z.shape[0]


def draw_latents(
    batch: int,
    z_dim: int,
    num_ws: int,
    mixing_prob: float,
    labels: torch.Tensor,
    generator: torch.Generator,
    mix_layers: int | None = None,
) -> Latents:
    """Latents for ``batch`` samples from ``generator``; labels drawn from the rows of ``labels``.

    Crossovers fall in [1, mix_layers) (default num_ws; during progressive growing, the ws in use)."""
    device = generator.device
    z = torch.randn([batch, z_dim], generator=generator, device=device)
    z_mix = torch.randn([batch, z_dim], generator=generator, device=device)
    high = max(mix_layers or num_ws, 2)
    crossover = torch.randint(1, high, [batch], generator=generator, device=device)
    mixed = torch.rand([batch], generator=generator, device=device) < mixing_prob
    crossover = torch.where(mixed, crossover, torch.full_like(crossover, num_ws))
    idx = torch.randint(labels.shape[0], [batch], generator=generator, device=device)
    return Latents(z, labels.to(device)[idx], z_mix, crossover)


def r1_penalty(logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """||grad_x sum D(x)||^2 per sample (R1, Mescheder et al. 2018, Eq. 9), differentiable."""
    (grads,) = torch.autograd.grad(outputs=[logits.sum()], inputs=[real], create_graph=True)
    return grads.square().sum([1, 2, 3])


def path_lengths(img: torch.Tensor, ws: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """||J_w^T y|| per sample with y = noise / sqrt(H W), RMS over the num_ws copies (StyleGAN2, Eq. 4)."""
    y = noise / np.sqrt(img.shape[2] * img.shape[3])
    (grads,) = torch.autograd.grad(outputs=[(img * y).sum()], inputs=[ws], create_graph=True)
    return grads.square().sum(2).mean(1).sqrt()


def gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur, taps exp2(-(t / sigma)^2) for |t| <= 3 sigma (official StyleGAN3-R)."""
    size = int(np.floor(sigma * 3))
    if size <= 0:
        return img
    taps = torch.arange(-size, size + 1, device=img.device, dtype=torch.float32).div(sigma).square().neg().exp2()
    return filter2d(img, taps / taps.sum())


class StyleGANLoss:
    """Holds G, D, the optional augmentation pipe and the path-length running mean ``pl_mean``.

    ``G_kwargs`` / ``D_kwargs`` are extra keyword arguments for the synthesis network and the
    discriminator that the trainer may set per step (e.g. the level of detail of progressive growing).
    ``compile``: run the first-order passes through ``torch.compile`` (eager where it is unavailable).
    ``precision``: "fp32", or "bf16" for the forward passes under bfloat16 autocast (resolved, see
    ``stylegan.utils.precision``).
    """

    def __init__(
        self,
        G: nn.Module,
        D: nn.Module,
        config: LossConfig,
        augment_pipe: nn.Module | None = None,
        stats=None,
        compile: bool = False,
        precision: str = "fp32",
    ):
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be resolved to fp32 or bf16, got {precision!r}")
        self.precision = precision
        self.G = G
        self.D = D
        self.config = config
        self.augment_pipe = augment_pipe
        self.stats = stats
        device = next(G.parameters()).device
        self.device_type = device.type
        self.pl_mean = torch.zeros([], device=device)
        # Used by the first-order passes only; they share their parameters with G.synthesis and D.
        self.synthesis_first_order = maybe_compile(G.synthesis, enabled=compile, device=device)
        self.D_first_order = maybe_compile(D, enabled=compile, device=device)
        self.G_kwargs: dict = {}
        self.D_kwargs: dict = {}

    # ---------------------------------------------------------------------------------------
    # Forward passes

    def blur_sigma(self, cur_nimg: int) -> float:
        cfg = self.config
        if cfg.blur_fade_kimg <= 0:
            return 0.0
        return max(1 - cur_nimg / (cfg.blur_fade_kimg * 1e3), 0.0) * cfg.blur_sigma

    def run_G(
        self, latents: Latents, update_emas: bool = False, first_order: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        with self.autocast():
            ws = self.G.mapping(latents.z, latents.c, update_emas=update_emas).float()
            if self.config.style_mixing > 0:
                ws_mix = self.G.mapping(latents.z_mix, latents.c, update_emas=False).float()
                ws = mix_styles(ws, ws_mix, latents.crossover)
            synthesis = self.synthesis_first_order if first_order else self.G.synthesis
            img = synthesis(ws, update_emas=update_emas, **self.G_kwargs)
        return img.float(), ws

    def run_D(
        self,
        img: torch.Tensor,
        c: torch.Tensor,
        blur_sigma: float = 0.0,
        update_emas: bool = False,
        first_order: bool = False,
    ):
        img = gaussian_blur(img, blur_sigma)
        if self.augment_pipe is not None:
            img = self.augment_pipe(img)
        D = self.D_first_order if first_order else self.D
        with self.autocast():
            logits = D(img, c, update_emas=update_emas, **self.D_kwargs)
        return logits.float()

    def autocast(self):
        """The autocast context of the forward passes (none in float32)."""
        return autocast(self.precision, self.device_type)

    def _report(self, name: str, value: torch.Tensor) -> None:
        if self.stats is not None:
            self.stats.report(name, value)

    # ---------------------------------------------------------------------------------------
    # Terms: each runs one pass and backpropagates ``loss.mean() * gain``.

    def generator_main(self, latents: Latents, cur_nimg: int, gain: float) -> None:
        """Non-saturating loss: maximise D's logits for generated images."""
        img, _ = self.run_G(latents, first_order=True)
        logits = self.run_D(img, latents.c, blur_sigma=self.blur_sigma(cur_nimg), first_order=True)
        self._report("Loss/scores/fake", logits)
        self._report("Loss/signs/fake", logits.sign())
        loss = F.softplus(-logits)
        self._report("Loss/G/loss", loss)
        loss.mean().mul(gain).backward()

    def path_length(self, latents: Latents, pl_noise: torch.Tensor, gain: float) -> torch.Tensor:
        """Path length penalty on the first len(latents) // pl_batch_shrink samples.

        The penalty is measured against ``pl_mean`` as it stood before this step; the trainer
        updates ``pl_mean`` once per step from the lengths of the whole (global) batch, so the
        result does not depend on how the batch is split over passes and processes.
        Returns the detached lengths."""
        n = max(len(latents) // self.config.pl_batch_shrink, 1)
        latents = latents[:n]
        img, ws = self.run_G(latents)
        lengths = path_lengths(img, ws, pl_noise[:n])
        penalty = (lengths - self.pl_mean).square()
        self._report("Loss/pl_penalty", penalty)
        loss = penalty * self.config.pl_weight
        self._report("Loss/G/reg", loss)
        loss.mean().mul(gain).backward()
        return lengths.detach()

    def update_pl_mean(self, mean_length: torch.Tensor) -> None:
        """a <- a + decay (mean L - a)."""
        self.pl_mean.copy_(self.pl_mean.lerp(mean_length.to(self.pl_mean.dtype), self.config.pl_decay))

    def discriminator_fake(self, latents: Latents, cur_nimg: int, gain: float) -> torch.Tensor:
        """softplus(D(G(z))): minimise D's logits for generated images. Updates G's w_avg."""
        with torch.no_grad():
            img, _ = self.run_G(latents, update_emas=True, first_order=True)
        logits = self.run_D(img, latents.c, blur_sigma=self.blur_sigma(cur_nimg), update_emas=True, first_order=True)
        self._report("Loss/scores/fake", logits)
        self._report("Loss/signs/fake", logits.sign())
        loss = F.softplus(logits)
        loss.mean().mul(gain).backward()
        return loss.detach()

    def discriminator_real(
        self,
        real: torch.Tensor,
        c: torch.Tensor,
        cur_nimg: int,
        gain: float,
        main: bool,
        r1: bool,
        loss_fake: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """softplus(-D(x)) (``main``) and/or the R1 penalty gamma/2 ||grad_x D(x)||^2 (``r1``).

        Returns the real logits (detached) for the augmentation controller."""
        real = real.detach().requires_grad_(r1)
        logits = self.run_D(real, c, blur_sigma=self.blur_sigma(cur_nimg), first_order=not r1)
        self._report("Loss/scores/real", logits)
        self._report("Loss/signs/real", logits.sign())
        loss = torch.zeros_like(logits)
        if main:
            loss = loss + F.softplus(-logits)
            self._report("Loss/D/loss", loss + (loss_fake if loss_fake is not None else 0))
        if r1:
            penalty = r1_penalty(logits, real)
            self._report("Loss/r1_penalty", penalty)
            reg = penalty[:, None] * (self.config.r1_gamma / 2)
            self._report("Loss/D/reg", reg)
            loss = loss + reg
        loss.mean().mul(gain).backward()
        return logits.detach()
