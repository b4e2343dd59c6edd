"""The real images a metric compares with: opening them, reading them in batches, and a content
fingerprint for the statistics cache.

Any object with ``len()`` and ``dataset[i] -> (image, label)`` works (image: uint8 [C, H, W] or
[H, W, C], numpy or torch). Paths and ``"toyfaces"`` are opened with ``stylegan.data.open_dataset``
at the generator's resolution, without mirroring (as the official metrics do), with labels when
the generator is conditional.

Fingerprints (the dataset part of the statistics cache key): toyfaces: resolution, size, channels
and a hash of the renderer's source; a zip: every member's name, size and CRC-32 (the content
checksum the zip stores); a folder: every file's name, size and modification time; anything else:
a sha256 of all images and labels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from stylegan.errors import UserError


def open_data(data, G=None):
    """A dataset object for ``data`` (a path, ``"toyfaces"``, or a dataset already)."""
    if not isinstance(data, (str, Path)):
        dataset = data
    else:
        from stylegan.data import open_dataset

        resolution = getattr(G, "img_resolution", None)
        conditional = int(getattr(G, "c_dim", 0)) > 0
        dataset = open_dataset(str(data), resolution=resolution, use_labels=conditional)
        if conditional and dataset.label_dim != G.c_dim:
            raise UserError(
                f"the network takes labels of size {G.c_dim} but {data} has labels of size {dataset.label_dim}"
            )
    if len(dataset) == 0:
        raise UserError(f"the dataset {dataset_name(dataset)} holds no images")
    if G is not None:
        image = _chw_uint8(dataset[0][0])
        want = (G.img_channels, G.img_resolution, G.img_resolution)
        if tuple(image.shape) != want:
            raise UserError(
                f"dataset images are {list(image.shape)} (C, H, W) but the network makes {list(want)}; "
                f"use a dataset at the network's resolution"
            )
    return dataset


def dataset_name(dataset) -> str:
    name = getattr(dataset, "name", None) or type(dataset).__name__
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))


def dataset_fingerprint(dataset) -> str:
    """A hash of the dataset's content: the dataset's own ``fingerprint`` when it has one
    (attribute or method), else a sha256 over every image and label (read once)."""
    fp = getattr(dataset, "fingerprint", None)
    if callable(fp):
        fp = fp()
    if fp:
        return str(fp)
    fp = _image_dataset_fingerprint(dataset)
    if fp:
        return fp
    digest = hashlib.sha256()
    digest.update(f"{len(dataset)}".encode())
    for i in range(len(dataset)):
        image, label = dataset[i]
        digest.update(_chw_uint8(image).numpy().tobytes())
        digest.update(np.asarray(label, np.float32).tobytes())
    return digest.hexdigest()


def _image_dataset_fingerprint(dataset) -> str | None:
    """Fingerprint of a ``stylegan.data`` dataset without decoding its images (None: not one)."""
    from stylegan.data import FileDataset, ToyFacesDataset, toyfaces

    digest = hashlib.sha256()
    if isinstance(dataset, (ToyFacesDataset, FileDataset)):
        digest.update(
            repr(
                (type(dataset).__name__, dataset.resolution, dataset.num_channels, dataset.mirror, len(dataset))
            ).encode()
        )
        digest.update(np.asarray(dataset._raw_idx, np.int64).tobytes())
    if isinstance(dataset, ToyFacesDataset):
        digest.update(Path(toyfaces.__file__).read_bytes())
        return "toyfaces-" + digest.hexdigest()
    if isinstance(dataset, FileDataset):
        source = dataset._source
        if source.kind == "zip":
            zf = source._zipfile()
            for name in dataset._names:
                info = zf.getinfo(name)
                digest.update(f"{name}\0{info.file_size}\0{info.CRC}\n".encode())
        else:
            for name in dataset._names:
                st = (source.path / name).stat()
                digest.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return f"{source.kind}-" + digest.hexdigest()
    return None


def _chw_uint8(image) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(image)) if not isinstance(image, torch.Tensor) else image
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise UserError(f"dataset images must be 2-D or 3-D arrays, got shape {list(x.shape)}")
    if x.shape[0] not in (1, 3) and x.shape[-1] in (1, 3):
        x = x.permute(2, 0, 1)
    if x.dtype != torch.uint8:
        raise UserError(f"dataset images must be uint8, got {x.dtype}")
    return x


def iterate_images(dataset, num: int, batch_size: int) -> Iterator[torch.Tensor]:
    """The first ``num`` images as uint8 [B, C, H, W] batches."""
    for start in range(0, num, batch_size):
        yield torch.stack([_chw_uint8(dataset[i][0]) for i in range(start, min(start + batch_size, num))])
