"""Improved precision and recall (Kynkaanniemi et al. 2019, Eq. 1-3), as the official tools compute it.

Each set of features defines a manifold: the union of balls centred on its points with radius
the distance to the point's k-th nearest neighbour (k = 3; the point itself excluded).
Precision = fraction of generated samples inside the real manifold; recall = fraction of real
samples inside the generated manifold. Like the reference, features are stored in float16,
distances are computed in blocks of ``row_batch_size`` x ``col_batch_size`` and compared in
float16 (the k-th value is taken in float32 then rounded to float16).
"""

from __future__ import annotations

import torch


def pairwise_distances(rows: torch.Tensor, cols: torch.Tensor, col_batch_size: int = 10000) -> torch.Tensor:
    """Euclidean distances [len(rows), len(cols)], computed column block by column block."""
    blocks = []
    for col_block in cols.split(col_batch_size):
        d = torch.cdist(rows.unsqueeze(0).to(torch.float32), col_block.unsqueeze(0).to(torch.float32))[0]
        blocks.append(d.to(rows.dtype))
    return torch.cat(blocks, dim=1)


def kth_neighbour_radii(
    manifold: torch.Tensor, k: int, row_batch_size: int = 10000, col_batch_size: int = 10000
) -> torch.Tensor:
    """Distance of each manifold point to its k-th nearest other point."""
    if manifold.shape[0] <= k:
        raise ValueError(f"a manifold needs more than k={k} points, got {manifold.shape[0]}")
    radii = []
    for rows in manifold.split(row_batch_size):
        d = pairwise_distances(rows, manifold, col_batch_size)
        radii.append(d.to(torch.float32).kthvalue(k + 1, dim=1).values.to(manifold.dtype))
    return torch.cat(radii)


def manifold_coverage(
    manifold: torch.Tensor, probes: torch.Tensor, k: int = 3, row_batch_size: int = 10000, col_batch_size: int = 10000
) -> float:
    """Fraction of ``probes`` that fall inside some k-NN ball of ``manifold``."""
    radii = kth_neighbour_radii(manifold, k, row_batch_size, col_batch_size)
    inside = []
    for rows in probes.split(row_batch_size):
        d = pairwise_distances(rows, manifold, col_batch_size)
        inside.append((d <= radii.unsqueeze(0)).any(dim=1))
    return float(torch.cat(inside).to(torch.float32).mean())


def precision_recall(
    real_features,
    gen_features,
    k: int = 3,
    row_batch_size: int = 10000,
    col_batch_size: int = 10000,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float16,
    max_block_elements: int = 1 << 27,
) -> tuple[float, float]:
    """(precision, recall) of generated vs real features [N, D] (official semantics, k = 3).

    Row blocks are shrunk so a block of distances holds at most ``max_block_elements`` values;
    blocking changes memory use, never the result.
    """
    real = torch.as_tensor(real_features).to(device=device, dtype=dtype)
    gen = torch.as_tensor(gen_features).to(device=device, dtype=dtype)
    row_batch_size = max(1, min(row_batch_size, max_block_elements // max(real.shape[0], gen.shape[0])))
    precision = manifold_coverage(real, gen, k, row_batch_size, col_batch_size)
    recall = manifold_coverage(gen, real, k, row_batch_size, col_batch_size)
    return precision, recall
