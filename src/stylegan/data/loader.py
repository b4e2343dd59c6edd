"""Endless, deterministic, exactly resumable batches for training.

Order: a global stream of dataset indices, epoch after epoch; epoch ``e`` visits the images in the
order of ``numpy.random.RandomState([seed, e]).permutation(n)`` (``arange(n)`` without shuffle).
Replica ``rank`` of ``num_replicas`` takes the stream positions ``t`` with ``t % num_replicas == rank``.
Any position is reached in O(n) by drawing one permutation, so a run resumes exactly where it
stopped from one number. (The official sampler swaps items inside a sliding window instead; its
state after t steps can only be had by replaying all t steps, which is why it is not used here.)

    loader = InfiniteLoader(dataset, batch_size=32, seed=0, num_workers=2)
    images, labels = next(loader)         # uint8 [B, C, H, W], float32 [B, label_dim] tensors
    x = from_uint8(images)                # float32 in [-1, 1]
    state = loader.state_dict()           # save with the checkpoint (plain ints and bools)
    loader.load_state_dict(state)         # the next batch is the one that would have come next

Bad images: with the dataset's ``on_error="raise"``, the batch holding one raises ``BadImageError``
(a ``UserError``) in the training process, whatever worker read it; with ``on_error="skip"`` the
file is replaced and reported once through ``on_bad_file(name, reason)`` and ``loader.bad_files``.
"""

from __future__ import annotations

import numpy as np
import torch

from stylegan.data.images import BadImageError
from stylegan.errors import UserError
from stylegan.utils.images import from_uint8

__all__ = ["InfiniteLoader", "InfiniteSampler", "from_uint8"]


class InfiniteSampler(torch.utils.data.Sampler):
    """Endless dataset indices for one replica, starting at global stream position ``start``.

    Iterating does not change the sampler: each ``iter()`` starts again at ``start``.
    """

    def __init__(
        self, dataset, rank: int = 0, num_replicas: int = 1, seed: int = 0, shuffle: bool = True, start: int = 0
    ):
        size = dataset if isinstance(dataset, int) else len(dataset)
        if size < 1:
            raise UserError("cannot sample from an empty dataset")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"need 0 <= rank < num_replicas, got rank={rank}, num_replicas={num_replicas}")
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        self.size, self.rank, self.num_replicas = int(size), int(rank), int(num_replicas)
        self.seed, self.shuffle, self.start = int(seed), bool(shuffle), int(start)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """Dataset indices in the order epoch ``epoch`` visits them."""
        if not self.shuffle:
            return np.arange(self.size, dtype=np.int64)
        return np.random.RandomState([self.seed & 0xFFFFFFFF, epoch & 0xFFFFFFFF]).permutation(self.size)

    def index_at(self, position: int) -> int:
        """Dataset index at global stream position ``position``."""
        epoch, offset = divmod(position, self.size)
        return int(self.epoch_order(epoch)[offset])

    def __iter__(self):
        position = self.start + (self.rank - self.start) % self.num_replicas  # first position of this rank
        epoch, offset = divmod(position, self.size)
        order = self.epoch_order(epoch)
        while True:
            yield int(order[offset])
            offset += self.num_replicas
            while offset >= self.size:
                offset -= self.size
                epoch += 1
                order = self.epoch_order(epoch)

    def __len__(self):  # endless; DataLoader only needs this for len(), which is meaningless here
        raise TypeError("InfiniteSampler is endless")

    def state_dict(self, position: int | None = None) -> dict:
        """State at global position ``position`` (default ``start``): plain ints and bools."""
        return {
            "position": self.start if position is None else int(position),
            "seed": self.seed,
            "shuffle": self.shuffle,
            "dataset_size": self.size,
        }

    def load_state_dict(self, state: dict) -> None:
        if int(state["dataset_size"]) != self.size:
            raise UserError(
                f"the dataset has {self.size} images but the saved data-loader position is for "
                f"{int(state['dataset_size'])}; resume with the same dataset, or start a new run"
            )
        self.seed, self.shuffle, self.start = int(state["seed"]), bool(state["shuffle"]), int(state["position"])


class _Fetch(torch.utils.data.Dataset):
    """Reads items in worker processes and returns errors and newly found bad files as values."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        known = len(self.dataset.bad_files)
        try:
            image, label = self.dataset[idx]
        except BadImageError as e:
            return None, None, [], (e.name, e.reason, e.hint)
        new_bad = list(self.dataset.bad_files.items())[known:]
        return image, label, new_bad, None


def _collate(items):
    errors = [err for *_, err in items if err is not None]
    if errors:
        return None, None, [], errors[0]
    images = torch.from_numpy(np.stack([it[0] for it in items]))
    labels = torch.from_numpy(np.stack([it[1] for it in items]).astype(np.float32, copy=False))
    bad = [pair for it in items for pair in it[2]]
    return images, labels, bad, None


class InfiniteLoader:
    """Endless batches ``(images uint8 [B, C, H, W], labels float32 [B, label_dim])`` for one replica.

    ``position`` counts the global stream positions consumed by every replica together
    (``batch_size * num_replicas`` per batch), so all replicas save the same state.
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        rank: int = 0,
        num_replicas: int = 1,
        seed: int = 0,
        shuffle: bool = True,
        num_workers: int = 0,
        pin_memory: bool = False,
        prefetch_factor: int = 2,
        on_bad_file=None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.sampler = InfiniteSampler(dataset, rank, num_replicas, seed, shuffle)
        self.num_workers, self.pin_memory, self.prefetch_factor = num_workers, pin_memory, prefetch_factor
        self.on_bad_file = on_bad_file
        self.bad_files: dict[str, str] = {}
        self.position = 0
        self._iterator = None

    def _start(self):
        self.sampler.start = self.position
        kwargs = {"prefetch_factor": self.prefetch_factor, "persistent_workers": False} if self.num_workers else {}
        loader = torch.utils.data.DataLoader(
            _Fetch(self.dataset),
            batch_size=self.batch_size,
            sampler=self.sampler,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            collate_fn=_collate,
            **kwargs,
        )
        self._iterator = iter(loader)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._iterator is None:
            self._start()
        images, labels, bad, error = next(self._iterator)
        if error is not None:
            self.close()
            raise BadImageError(*error)
        for name, reason in bad:
            if name not in self.bad_files:
                self.bad_files[name] = reason
                if self.on_bad_file is not None:
                    self.on_bad_file(name, reason)
        self.position += self.batch_size * self.sampler.num_replicas
        return images, labels

    def state_dict(self) -> dict:
        """Where the next batch comes from: plain ints and bools, safe for ``torch.load(weights_only=True)``."""
        return self.sampler.state_dict(self.position)

    def load_state_dict(self, state: dict) -> None:
        self.sampler.load_state_dict(state)
        self.position = self.sampler.start
        self.close()

    def close(self) -> None:
        """Stop the worker processes (the next batch starts them again)."""
        self._iterator = None
