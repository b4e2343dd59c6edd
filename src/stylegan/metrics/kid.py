"""Kernel Inception Distance (Binkowski et al. 2018, Eq. 4), as the official StyleGAN tools compute it.

The unbiased MMD^2 estimate with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged
over ``num_subsets`` (100) random subsets of ``m = min(n_gen, n_real, max_subset_size)``
(1000) samples drawn without replacement from each side. Like the reference, the kernels are
evaluated in float32 (the precision the features are stored in).
"""

from __future__ import annotations

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3 for all pairs of rows."""
    d = x.shape[1]
    return (x @ y.T / d + 1) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of two equal-size samples [m, d] under the cubic polynomial kernel."""
    m = x.shape[0]
    if y.shape[0] != m or m < 2:
        raise ValueError("KID subsets need the same size >= 2 on both sides")
    a = polynomial_kernel(x, x) + polynomial_kernel(y, y)
    b = polynomial_kernel(x, y)
    return float((a.sum() - np.diag(a).sum()) / (m * (m - 1)) - b.sum() * 2 / (m * m))


def kernel_inception_distance(
    gen_features: np.ndarray,
    real_features: np.ndarray,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
    rng: np.random.Generator | int | None = 0,
) -> float:
    """KID: the mean of ``mmd2_unbiased`` over random subsets (the official estimator)."""
    rng = np.random.default_rng(rng)
    gen_features = np.asarray(gen_features, np.float32)
    real_features = np.asarray(real_features, np.float32)
    m = min(gen_features.shape[0], real_features.shape[0], max_subset_size)
    total = 0.0
    for _ in range(num_subsets):
        x = gen_features[rng.choice(gen_features.shape[0], m, replace=False)]
        y = real_features[rng.choice(real_features.shape[0], m, replace=False)]
        total += mmd2_unbiased(x, y)
    return total / num_subsets
