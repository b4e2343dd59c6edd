"""Datasets: image folders and zips, the procedural ``toyfaces``, the loader and the dataset tool.

- ``open_dataset(source, resolution=None, use_labels=False, mirror=False, max_size=None,
  grayscale=False, size=None, on_error="raise") -> ImageDataset`` (see ``stylegan.data.dataset``).
- ``stylegan.data.toyfaces``: ``render(index, resolution)``, ``factors(index)``, ``labels(indices)``,
  ``FACTORS``, ``LABEL_NAMES``.
- ``stylegan.data.loader``: ``InfiniteSampler`` and ``InfiniteLoader`` (deterministic, exactly
  resumable), ``from_uint8`` (uint8 batches to float in [-1, 1]).
- ``stylegan.data.dataset_tool.convert_dataset``: what ``stylegan dataset`` runs.
"""

from stylegan.data.dataset import TOYFACES, TOYFACES_SIZE, FileDataset, ImageDataset, ToyFacesDataset, open_dataset
from stylegan.data.images import BadImageError

__all__ = [
    "TOYFACES",
    "TOYFACES_SIZE",
    "BadImageError",
    "FileDataset",
    "ImageDataset",
    "ToyFacesDataset",
    "open_dataset",
]
