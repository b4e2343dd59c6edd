"""Real images for the trainer: this process's share of each global minibatch.

The global stream of dataset indices comes from ``stylegan.data.loader`` (deterministic, resumable
from one position number). Process r of N takes the stream positions t with t % N == r, and the
trainer splits a process's batch into passes the same way (pass k of K takes every K-th sample).
Latents are split identically, so N processes with K passes each compute what one process with
N * K passes computes, and a multi-process run reproduces a single-process one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from stylegan.data.images import BadImageError
from stylegan.data.loader import InfiniteLoader
from stylegan.errors import UserError
from stylegan.utils.images import from_uint8


def dataset_labels(dataset) -> np.ndarray:
    """All labels of a dataset as float32 [N, label_dim] ([1, 0] when it has none)."""
    label_dim = int(getattr(dataset, "label_dim", 0) or 0)
    if label_dim == 0:
        return np.zeros([1, 0], dtype=np.float32)
    return np.stack([np.asarray(dataset.get_label(i), dtype=np.float32).reshape(-1) for i in range(len(dataset))])


class RealImages:
    """``next()`` -> (images float32 [-1, 1] [b, C, H, W] on ``device``, labels [b, label_dim]).

    ``set_batch_size`` changes the global batch (progressive growing) without changing the position.
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        device: torch.device,
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        workers: int = 0,
        log: Callable[[str], None] = print,
    ):
        self.dataset = dataset
        self.device = device
        self.rank, self.world_size, self.seed, self.workers = rank, world_size, seed, workers
        self.log = log
        self.reported: set[str] = set()
        self.batch_size = 0
        self.loader: InfiniteLoader | None = None
        self.set_batch_size(batch_size)

    def _report_bad_file(self, name: str, reason: str) -> None:
        if name not in self.reported:
            self.reported.add(name)
            self.log(f"warning: unreadable training image {name} ({reason}); using the next readable image instead")

    def report_bad_files(self) -> None:
        """Report files this process's copy of the dataset found bad (the loader reports its workers')."""
        for name, reason in list(getattr(self.dataset, "bad_files", {}).items()):
            self._report_bad_file(name, reason)

    def set_batch_size(self, batch_size: int) -> None:
        if batch_size == self.batch_size:
            return
        if batch_size % self.world_size:
            raise UserError(f"batch {batch_size} does not split over {self.world_size} processes")
        state = self.loader.state_dict() if self.loader is not None else None
        if self.loader is not None:
            self.loader.close()
        self.loader = InfiniteLoader(
            self.dataset,
            batch_size // self.world_size,
            rank=self.rank,
            num_replicas=self.world_size,
            seed=self.seed,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            on_bad_file=self._report_bad_file,
        )
        if state is not None:
            self.loader.load_state_dict(state)
        self.batch_size = batch_size

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        # Starting the loader's worker processes draws a seed from torch's global generator; keep the
        # training stream (noise inputs, augmentation) independent of when that happens.
        rng = torch.get_rng_state()
        try:
            images, labels = next(self.loader)
        except BadImageError as e:
            raise UserError(
                f"training image {e}; the run stops here (the last snapshot is intact). "
                "Use --bad-files skip to train on without it."
            ) from None
        finally:
            torch.set_rng_state(rng)
        self.report_bad_files()
        non_blocking = self.device.type == "cuda"
        return (
            from_uint8(images.to(self.device, non_blocking=non_blocking)),
            labels.to(self.device, non_blocking=non_blocking),
        )

    def state_dict(self) -> dict:
        return {"loader": self.loader.state_dict(), "bad_files": dict(getattr(self.dataset, "bad_files", {}))}

    def load_state_dict(self, state: dict) -> None:
        self.loader.load_state_dict(state["loader"])

    def close(self) -> None:
        if self.loader is not None:
            self.loader.close()
