"""Frechet Inception Distance (Heusel et al. 2017, Eq. 6), as the official StyleGAN tools compute it.

FID = ||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2)), with the means and the (biased,
divide-by-N) covariances of detector features accumulated in float64, and the matrix square
root taken with ``scipy.linalg.sqrtm`` (real part of the result), exactly like the reference code.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg


def frechet_distance(mu_gen: np.ndarray, sigma_gen: np.ndarray, mu_real: np.ndarray, sigma_real: np.ndarray) -> float:
    """The Frechet distance between Gaussians N(mu_gen, sigma_gen) and N(mu_real, sigma_real)."""
    mu_gen, mu_real = np.asarray(mu_gen, np.float64), np.asarray(mu_real, np.float64)
    sigma_gen, sigma_real = np.asarray(sigma_gen, np.float64), np.asarray(sigma_real, np.float64)
    if mu_gen.shape != mu_real.shape or sigma_gen.shape != sigma_real.shape:
        raise ValueError("the two feature distributions have different dimensions")
    mean_term = np.square(mu_gen - mu_real).sum()
    root = scipy.linalg.sqrtm(sigma_gen @ sigma_real)
    root = root[0] if isinstance(root, tuple) else root
    return float(np.real(mean_term + np.trace(sigma_gen + sigma_real - 2 * root)))


def mean_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and biased covariance of features [N, D] in float64 (the official statistics)."""
    x = np.asarray(features, np.float64)
    mean = x.mean(axis=0)
    cov = x.T @ x / x.shape[0] - np.outer(mean, mean)
    return mean, cov


def fid_from_features(gen_features: np.ndarray, real_features: np.ndarray) -> float:
    """FID of two feature sets [N, D] (convenience for tests and small studies)."""
    return frechet_distance(*mean_cov(gen_features), *mean_cov(real_features))
