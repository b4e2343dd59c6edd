"""Seed lists as users type them ("0-7,12") and the latents they stand for."""

from __future__ import annotations

import re

import numpy as np
import torch

from stylegan.errors import UserError

_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
MAX_SEED = 2**32 - 1  # numpy's RandomState takes seeds below 2^32
MAX_SEEDS = 1_000_000  # seeds in one list


def parse_seeds(text: str, limit: int = MAX_SEEDS) -> list[int]:
    """Parse "0-7,12" into [0, 1, ..., 7, 12]. Ranges are inclusive; order is kept; more than
    ``limit`` seeds are refused before any list is made."""
    if text is None or not str(text).strip():
        raise UserError("empty seed list; give seeds like 0-7,12")
    seeds: list[int] = []
    for part in str(text).split(","):
        m = _PART.match(part)
        if not m:
            raise UserError(f"malformed seed list {text!r}: {part.strip()!r} is not N or N-M (e.g. 0-7,12)")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise UserError(f"malformed seed list {text!r}: range {lo}-{hi} runs backwards")
        if hi > MAX_SEED:
            raise UserError(f"seeds must be below 2^32, got {part.strip()!r}")
        if len(seeds) + (hi - lo + 1) > limit:
            raise UserError(f"seed list {text!r} has more than {limit:,} seeds")
        seeds.extend(range(lo, hi + 1))
    return seeds


def parse_int_list(text: str, name: str = "list") -> list[int]:
    """Parse "0-3,6" into [0, 1, 2, 3, 6] (same syntax as seeds)."""
    try:
        return parse_seeds(text)
    except UserError as e:
        raise UserError(str(e).replace("seed list", name)) from None


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """The latent of ``seed``: np.random.RandomState(seed).randn(1, z_dim), as the official tools
    draw it, so the same seed gives the same image there and here."""
    return torch.from_numpy(np.random.RandomState(seed).randn(1, z_dim)).to(torch.float32)


def z_from_seeds(seeds: list[int], z_dim: int) -> torch.Tensor:
    return torch.cat([z_from_seed(s, z_dim) for s in seeds]) if seeds else torch.zeros(0, z_dim)
