"""What the sampling metrics share: labels to condition on, calling a generator, and images as uint8."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator

import numpy as np
import torch

from stylegan.models.interface import Generator
from stylegan.utils.images import quantize

LabelFn = Callable[[int], torch.Tensor]


def label_sampler(
    G: Generator, dataset=None, device: str | torch.device = "cpu", rng: np.random.Generator | None = None
) -> LabelFn:
    """``labels(n) -> c [n, c_dim]``: empty for unconditional networks; for conditional ones the
    labels of random dataset items (as the official tools do), else uniformly random classes."""
    c_dim = int(getattr(G, "c_dim", 0))
    rng = rng if rng is not None else np.random.default_rng(0)
    if c_dim == 0:
        return lambda n: torch.zeros([n, 0], device=device)
    if dataset is not None and hasattr(dataset, "get_label"):

        def from_dataset(n: int) -> torch.Tensor:
            idx = rng.integers(len(dataset), size=n)
            c = np.stack([np.asarray(dataset.get_label(int(i)), np.float32) for i in idx])
            return torch.from_numpy(c).to(device)

        return from_dataset

    def uniform(n: int) -> torch.Tensor:
        return torch.nn.functional.one_hot(torch.from_numpy(rng.integers(c_dim, size=n)), c_dim).float().to(device)

    return uniform


def randomize_noise_buffers(G: Generator) -> None:
    """Fresh N(0, 1) values in every ``*.noise_const`` buffer (PPL samples 'const' noise per batch)."""
    for name, buf in G.named_buffers():
        if name.endswith("noise_const"):
            buf.copy_(torch.randn_like(buf))


def eval_copy(G: Generator, device: str | torch.device) -> Generator:
    """A frozen evaluation copy of ``G`` on ``device`` (the caller's network is left untouched)."""
    return copy.deepcopy(G).eval().requires_grad_(False).to(device)


def generated_images(
    G: Generator, num: int, batch_size: int, labels: LabelFn, device: str | torch.device
) -> Iterator[torch.Tensor]:
    """uint8 images of ``num`` random samples of ``G`` (z ~ N(0, I), psi 1, random noise), in batches."""
    done = 0
    while done < num:
        n = min(batch_size, num - done)
        z = torch.randn([n, G.z_dim], device=device)
        with torch.no_grad():
            img = G(z, labels(n))
        yield quantize(img)
        done += n


@contextlib.contextmanager
def seeded(seed: int, device: str | torch.device = "cpu"):
    """Run a block with torch's RNG seeded, restoring the caller's RNG state afterwards."""
    device = torch.device(device)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def progress_bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=False, dynamic_ncols=True)
