"""A tiny in-memory dataset, a tiny image folder, the tiny training options of the trainer tests, and
helpers to run them (crash on purpose, read the final state)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from stylegan.training import snapshot as snap
from stylegan.training.launch import train
from stylegan.training.options import TrainingOptions, resolve_options


class TinyDataset:
    """``n`` images of coloured squares at ``resolution``, with one-hot labels when ``label_dim`` > 0."""

    def __init__(self, n: int = 32, resolution: int = 8, channels: int = 3, label_dim: int = 0, seed: int = 0):
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
        self.bad_files: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i], self.labels[i]

    def get_label(self, i: int):
        return self.labels[i]


def write_image_folder(
    path, n: int = 16, resolution: int = 8, corrupt: tuple[int, ...] = (), no_header: tuple[int, ...] = ()
):
    """A folder of PNGs (img000.png, ...) of TinyDataset images. ``corrupt`` ones are cut short (their
    header reads, their pixels do not); ``no_header`` ones are not images at all."""
    from PIL import Image

    path.mkdir(parents=True, exist_ok=True)
    data = TinyDataset(n, resolution)
    for i in range(n):
        file = path / f"img{i:03d}.png"
        Image.fromarray(data.images[i].transpose(1, 2, 0)).save(file)
        if i in corrupt:
            file.write_bytes(file.read_bytes()[:-24])
        if i in no_header:
            file.write_bytes(b"this is not a PNG file")
    return path


def tiny_options(tmp_path, **changes) -> TrainingOptions:
    """StyleGAN2 at 8x8 with 16 channels, z/w 16, mapping depth 2, batch 4: a step takes milliseconds."""
    base = dict(
        cfg="stylegan2",
        data="tiny",
        resolution=8,
        batch=4,
        kimg=0.032,
        tick=0.008,
        snap=1,
        img_snap=1,
        cbase=128,
        cmax=16,
        map_depth=2,
        z_dim=16,
        w_dim=16,
        workers=0,
        outdir=str(tmp_path),
        seed=1,
        aug="none",
        grid=(4, 2),
    )
    base.update(changes)
    return resolve_options(TrainingOptions(**base), base["resolution"])


def replace(opts, **changes):
    return dataclasses.replace(opts, **changes)


def run(opts, dataset=None, **kwargs):
    dataset = dataset or TinyDataset(32, opts.resolution)
    return train(opts, dataset=dataset, verbose=False, **kwargs)


def final_state(run_dir):
    return snap.load_state(snap.training_states(run_dir)[-1])


def assert_same_tensors(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


class Crash(Exception):
    pass


def crash_at(nimg: int):
    """An ``after_step`` hook that raises ``Crash`` once ``nimg`` images have been shown."""

    def crash(trainer):
        if trainer.cur_nimg == nimg:
            raise Crash

    return crash
