"""Minibatches of real images for the trainer.

Every process draws the same global sequence of dataset indices (one sampler, same seed) and
loads only its own contiguous slice of each global minibatch. Process r of N therefore sees exactly
what a single process with the same global batch sees in its r-th pass, which makes multi-process
runs reproduce single-process ones, and the sampler state saved by process 0 is valid for all.

Loading runs in ``workers`` background processes (a ``torch.utils.data.DataLoader``), which read
ahead. The sampler state recorded with each batch is the state right after that batch was drawn,
so ``state_dict()`` describes what the trainer has consumed, not what was read ahead.

An image that cannot be read is reported once, with the dataset's message (which names the file),
and replaced by the next readable image of the dataset (``bad_files="skip"``), or ends the run
with a clear error (``"stop"``); either way nothing already written is touched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader

from stylegan.errors import UserError

MAX_CONSECUTIVE_BAD = 100


def dataset_labels(dataset) -> np.ndarray:
    """All labels of a dataset as float32 [N, label_dim] ([1, 0] when it has none)."""
    label_dim = int(getattr(dataset, "label_dim", 0) or 0)
    if label_dim == 0 or not getattr(dataset, "has_labels", label_dim > 0):
        return np.zeros([1, 0], dtype=np.float32)
    for name in ("labels", "get_all_labels"):
        attr = getattr(dataset, name, None)
        if attr is not None:
            labels = attr() if callable(attr) else attr
            return np.asarray(labels, dtype=np.float32).reshape(len(dataset), label_dim)
    get_label = getattr(dataset, "get_label", None)
    if get_label is not None:
        return np.stack([np.asarray(get_label(i), dtype=np.float32).reshape(-1) for i in range(len(dataset))])
    return np.stack([np.asarray(dataset[i][1], dtype=np.float32).reshape(-1) for i in range(len(dataset))])


def to_float_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return images.to(torch.float32) / 127.5 - 1


class _Tolerant(torch.utils.data.Dataset):
    """dataset[i], or the next readable item after i, with the errors met on the way."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        n = len(self.dataset)
        errors = []
        for step in range(MAX_CONSECUTIVE_BAD):
            i = (index + step) % n
            try:
                img, label = self.dataset[i]
                return np.asarray(img), np.asarray(label, dtype=np.float32).reshape(-1), errors
            except Exception as e:  # noqa: BLE001  (decoders fail in many ways; the message names the file)
                errors.append((i, f"{e}"))
        return None, None, errors


def _collate(items):
    return items


class _GlobalBatches:
    """Batch sampler: this process's slice of each global minibatch, recording the sampler state."""

    def __init__(self, feed: ImageFeed):
        self.feed = feed

    def __iter__(self):
        feed = self.feed
        it = iter(feed.sampler)
        while True:
            batch = feed.batch_size_fn(feed._drawn_nimg)
            if batch % feed.world_size:
                raise ValueError(f"batch {batch} does not split over {feed.world_size} processes")
            indices = [int(next(it)) for _ in range(batch)]
            feed._drawn_nimg += batch
            feed._states.append((feed.sampler.state_dict(), feed._drawn_nimg))
            per = batch // feed.world_size
            yield indices[feed.rank * per : (feed.rank + 1) * per]


class ImageFeed:
    """``next()`` -> this process's (images float [-1, 1] [b, C, H, W], labels [b, label_dim]).

    ``batch_size_fn(nimg)`` gives the global batch size once ``nimg`` images have been drawn
    (constant, or the progressive-growing schedule)."""

    def __init__(
        self,
        dataset,
        sampler,
        device: torch.device,
        batch_size_fn: Callable[[int], int],
        rank: int = 0,
        world_size: int = 1,
        workers: int = 0,
        bad_files: str = "skip",
        log: Callable[[str], None] = print,
    ):
        self.dataset = dataset
        self.sampler = sampler
        self.device = device
        self.batch_size_fn = batch_size_fn
        self.rank = rank
        self.world_size = world_size
        self.workers = workers
        self.bad_files = bad_files
        self.log = log
        self.bad: set[int] = set()
        self._states: deque = deque()
        self._consumed = (sampler.state_dict(), 0)
        self._drawn_nimg = 0
        self._loader = None

    def _start(self) -> None:
        self._drawn_nimg = self._consumed[1]
        self._states.clear()
        loader = DataLoader(
            _Tolerant(self.dataset), batch_sampler=_GlobalBatches(self), num_workers=self.workers,
            collate_fn=_collate, pin_memory=self.device.type == "cuda", prefetch_factor=2 if self.workers else None,
            persistent_workers=False,
            generator=torch.Generator().manual_seed(0),  # its own: creating the iterator draws a seed
        )
        self._loader = iter(loader)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._loader is None:
            self._start()
        items = next(self._loader)
        self._consumed = self._states.popleft()
        for _, _, errors in items:
            for index, message in errors:
                self._bad_file(index, message)
        if any(img is None for img, _, _ in items):
            raise UserError(f"{MAX_CONSECUTIVE_BAD} consecutive training images could not be read; stopping")
        images = torch.from_numpy(np.stack([img for img, _, _ in items]))
        labels = torch.from_numpy(np.stack([lbl for _, lbl, _ in items]))
        return to_float_images(images.to(self.device)), labels.to(self.device)

    def _bad_file(self, index: int, message: str) -> None:
        text = f"training image #{index} cannot be read: {message}"
        if self.bad_files == "stop":
            raise UserError(f"{text} (stopping as --bad-files stop asks; the last snapshot is intact)")
        if index not in self.bad:
            self.bad.add(index)
            self.log(f"warning: {text}; using the next readable image instead")

    def state_dict(self) -> dict:
        sampler_state, nimg = self._consumed
        return {"sampler": sampler_state, "nimg": nimg, "bad": sorted(self.bad)}

    def load_state_dict(self, state: dict) -> None:
        self.close()
        self.sampler.load_state_dict(state["sampler"])
        self._consumed = (self.sampler.state_dict(), int(state["nimg"]))
        self.bad = set(int(i) for i in state.get("bad", []))

    def close(self) -> None:
        self._loader = None
