"""A tiny in-memory dataset and sampler for trainer tests, and the tiny training options."""

from __future__ import annotations

import dataclasses

import numpy as np

from stylegan.training.options import TrainingOptions, resolve_options


class TinyDataset:
    """``n`` images of coloured squares at ``resolution``; ``bad`` indices raise like broken files."""

    def __init__(self, n: int = 32, resolution: int = 8, channels: int = 3, label_dim: int = 0, seed: int = 0,
                 bad: tuple[int, ...] = ()):
        rng = np.random.RandomState(seed)
        self.images = np.zeros([n, channels, resolution, resolution], dtype=np.uint8)
        for i in range(n):
            x0, y0 = rng.randint(0, resolution // 2, size=2)
            size = rng.randint(2, resolution // 2 + 1)
            self.images[i] = rng.randint(0, 64)
            self.images[i, :, y0 : y0 + size, x0 : x0 + size] = rng.randint(128, 256, size=[channels, 1, 1])
        self.label_dim = label_dim
        self.labels = np.eye(max(label_dim, 1), dtype=np.float32)[rng.randint(0, max(label_dim, 1), n)][:, :label_dim]
        self.resolution = resolution
        self.num_channels = channels
        self.has_labels = label_dim > 0
        self.name = "tiny"
        self.bad = set(bad)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        if i in self.bad:
            raise OSError(f"cannot identify image file 'img{i:03d}.png'")
        return self.images[i], self.labels[i]


class TinySampler:
    """Infinite shuffled order, one permutation per epoch, with an exact position state."""

    def __init__(self, n: int, seed: int = 0):
        self.n = n
        self.seed = seed
        self.epoch = 0
        self.pos = 0

    def __iter__(self):
        while True:
            order = np.random.RandomState(self.seed + self.epoch).permutation(self.n)
            while self.pos < self.n:
                i = int(order[self.pos])
                self.pos += 1
                yield i
            self.epoch += 1
            self.pos = 0

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = state["epoch"]
        self.pos = state["pos"]


def tiny_options(tmp_path, **changes) -> TrainingOptions:
    """StyleGAN2 at 8x8 with 16 channels, z/w 16, mapping depth 2, batch 4: a step takes milliseconds."""
    base = dict(
        cfg="stylegan2", data="tiny", resolution=8, batch=4, kimg=0.032, tick=0.008, snap=1, img_snap=1,
        cbase=128, cmax=16, map_depth=2, z_dim=16, w_dim=16, workers=0, outdir=str(tmp_path), seed=1,
    )
    base.update(changes)
    return resolve_options(TrainingOptions(**base), base["resolution"])


def replace(opts, **changes):
    return dataclasses.replace(opts, **changes)
