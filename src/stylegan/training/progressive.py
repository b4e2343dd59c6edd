"""Progressive growing (ProGAN, Karras et al. 2018, Section 3; StyleGAN v1 training).

``ProgressiveSchedule.at(kimg)`` gives, for the number of real images shown so far, the level of
detail ``lod`` (0 = full resolution), the fade-in ``alpha`` of the newest resolution, the current
resolution, and the minibatch size and learning rates of that resolution. Each resolution is first
faded in over ``lod_transition_kimg`` thousand images, then trained for ``lod_training_kimg``;
training starts at ``lod_initial_resolution``. The defaults are those of the official StyleGAN
FFHQ configuration (8 GPUs, total minibatch 512 at 4x4 down to 32 from 64x64 on, learning rate
0.001 rising to 0.003 at 512x512 and above, start at 8x8).

``fade_reals(images, lod)`` makes real images look like the generator's output at ``lod``: box
downscaling to the current resolution, a cross-fade with the 2x2-box-down / nearest-up version by
the fractional part of the lod, and nearest upscaling back to full size (official ``process_reals``).
The networks take the lod through ``set_lod`` (see ``apply_lod``); the trainer resets the
optimiser state whenever ``needs_optimizer_reset(previous_lod, lod)`` (a new layer appears).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from stylegan.ops.resample import downscale2d, upscale2d

OFFICIAL_MINIBATCH = {4: 512, 8: 256, 16: 128, 32: 64, 64: 32}
OFFICIAL_LRATE = {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}
OFFICIAL_TICK_KIMG = {4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20}
# The official single-GPU configuration (smaller minibatches, a lower rate at 1024x1024).
ONE_GPU_MINIBATCH = {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}
ONE_GPU_LRATE = {1024: 0.0015}


@dataclass(frozen=True)
class Phase:
    """The training parameters at one moment."""

    kimg: float
    lod: float
    alpha: float  # weight of the newest resolution in the cross-fade (1 outside transitions)
    resolution: int  # resolution the networks currently work at
    minibatch: int
    G_lrate: float
    D_lrate: float
    tick_kimg: float

    @property
    def in_transition(self) -> bool:
        return self.alpha < 1.0


@dataclass(frozen=True)
class ProgressiveSchedule:
    resolution: int  # final resolution
    lod_initial_resolution: int = 8
    lod_training_kimg: float = 600
    lod_transition_kimg: float = 600
    minibatch_base: int = 32
    minibatch_dict: Mapping[int, int] = field(default_factory=lambda: dict(OFFICIAL_MINIBATCH))
    G_lrate_base: float = 0.001
    G_lrate_dict: Mapping[int, float] = field(default_factory=lambda: dict(OFFICIAL_LRATE))
    D_lrate_base: float = 0.001
    D_lrate_dict: Mapping[int, float] = field(default_factory=lambda: dict(OFFICIAL_LRATE))
    lrate_rampup_kimg: float = 0
    tick_kimg_base: float = 160
    tick_kimg_dict: Mapping[int, float] = field(default_factory=lambda: dict(OFFICIAL_TICK_KIMG))

    def __post_init__(self):
        for name in ("resolution", "lod_initial_resolution"):
            value = getattr(self, name)
            if value < 4 or value & (value - 1):
                raise ValueError(f"{name} must be a power of two >= 4, got {value}")
        if self.lod_training_kimg < 0 or self.lod_transition_kimg < 0:
            raise ValueError("lod_training_kimg and lod_transition_kimg must not be negative")

    @classmethod
    def one_gpu(cls, resolution: int, **overrides) -> ProgressiveSchedule:
        """The official single-GPU settings (minibatch 4 above 512x512, lr 0.0015 at 1024x1024)."""
        settings = dict(
            minibatch_base=4,
            minibatch_dict=dict(ONE_GPU_MINIBATCH),
            G_lrate_dict=dict(ONE_GPU_LRATE),
            D_lrate_dict=dict(ONE_GPU_LRATE),
        )
        settings.update(overrides)
        return cls(resolution, **settings)

    @property
    def max_lod(self) -> int:
        return int(math.log2(self.resolution)) - 2

    def lod_at(self, kimg: float) -> float:
        """Level of detail after ``kimg`` thousand real images."""
        phase_dur = self.lod_training_kimg + self.lod_transition_kimg
        phase_idx = int(math.floor(kimg / phase_dur)) if phase_dur > 0 else 0
        phase_kimg = kimg - phase_idx * phase_dur
        lod = math.log2(self.resolution) - math.floor(math.log2(self.lod_initial_resolution)) - phase_idx
        if self.lod_transition_kimg > 0:
            lod -= max(phase_kimg - self.lod_training_kimg, 0.0) / self.lod_transition_kimg
        return max(lod, 0.0)

    def at(self, kimg: float, num_devices: int = 1) -> Phase:
        """Everything the trainer needs at ``kimg``; the minibatch is rounded down to a multiple of
        ``num_devices``."""
        lod = self.lod_at(kimg)
        whole = math.floor(lod)
        resolution = self.resolution >> whole
        minibatch = int(self.minibatch_dict.get(resolution, self.minibatch_base))
        minibatch -= minibatch % num_devices
        g_lrate = float(self.G_lrate_dict.get(resolution, self.G_lrate_base))
        d_lrate = float(self.D_lrate_dict.get(resolution, self.D_lrate_base))
        if self.lrate_rampup_kimg > 0:
            rampup = min(kimg / self.lrate_rampup_kimg, 1.0)
            g_lrate *= rampup
            d_lrate *= rampup
        tick = float(self.tick_kimg_dict.get(resolution, self.tick_kimg_base))
        return Phase(
            kimg=kimg,
            lod=lod,
            alpha=1.0 - (lod - whole),
            resolution=resolution,
            minibatch=minibatch,
            G_lrate=g_lrate,
            D_lrate=d_lrate,
            tick_kimg=tick,
        )

    def total_growing_kimg(self) -> float:
        """kimg after which the lod reaches 0 (full resolution, no more growing)."""
        levels = math.log2(self.resolution) - math.floor(math.log2(self.lod_initial_resolution))
        if levels <= 0:
            return 0.0
        return levels * (self.lod_training_kimg + self.lod_transition_kimg)


def needs_optimizer_reset(previous_lod: float | None, lod: float) -> bool:
    """True when a new layer appears (the lod crosses an integer), as the official loop resets the
    Adam state then; True at the first call (``previous_lod`` None)."""
    if previous_lod is None:
        return True
    return math.floor(previous_lod) != math.floor(lod) or math.ceil(previous_lod) != math.ceil(lod)


def apply_lod(lod: float, *networks) -> None:
    """Set the level of detail of every network that has one (G, D, the EMA generator)."""
    for net in networks:
        if hasattr(net, "set_lod"):
            net.set_lod(lod)


def fade_reals(images: torch.Tensor, lod: float) -> torch.Tensor:
    """Real images as the networks see them at ``lod`` (full-size [N, C, R, R] in and out)."""
    if lod < 0:
        raise ValueError(f"lod must not be negative, got {lod}")
    whole = int(math.floor(lod))
    frac = lod - whole
    size = images.shape[-1]
    if size >> whole < 1 or (size >> whole) << whole != size:
        raise ValueError(f"images of size {size} cannot be shown at lod {lod}")
    x = images
    for _ in range(whole):
        x = downscale2d(x)
    if frac > 0:
        x = torch.lerp(x, upscale2d(downscale2d(x)), frac)
    return upscale2d(x, 2**whole)
