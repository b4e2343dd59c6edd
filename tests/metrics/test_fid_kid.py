import numpy as np
import pytest
import scipy.linalg

from stylegan.metrics.fid import fid_from_features, frechet_distance, mean_cov
from stylegan.metrics.kid import kernel_inception_distance, mmd2_unbiased, polynomial_kernel


def random_spd(rng, d):
    a = rng.standard_normal([d, d])
    return a @ a.T / d + 0.1 * np.eye(d)


def test_fid_closed_form_diagonal_gaussians():
    # Commuting (diagonal) covariances: FID = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    a, b = rng.uniform(0.5, 3, 6), rng.uniform(0.5, 3, 6)
    expected = np.square(mu1 - mu2).sum() + np.square(np.sqrt(a) - np.sqrt(b)).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    assert frechet_distance(mu1, np.diag(a), mu1, np.diag(a)) == pytest.approx(0, abs=1e-10)


def test_fid_general_gaussians_match_symmetric_formula():
    # Independent route: Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2) with symmetric square roots from eigh.
    rng = np.random.default_rng(1)
    d = 10
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)

    def sym_sqrt(m):
        w, v = np.linalg.eigh(m)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    r1 = sym_sqrt(s1)
    expected = np.square(mu1 - mu2).sum() + np.trace(s1 + s2 - 2 * sym_sqrt(r1 @ s2 @ r1))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-8)


def test_fid_from_features_matches_scipy_reference():
    rng = np.random.default_rng(2)
    x = rng.standard_normal([500, 8]).astype(np.float32) * 1.5 + 0.3
    y = (rng.standard_normal([400, 8]) @ rng.standard_normal([8, 8]) * 0.5).astype(np.float32)
    # Reference: numpy's biased covariance and scipy's sqrtm of the product, as in Heusel et al.'s code.
    m1, c1 = x.astype(np.float64).mean(0), np.cov(x.astype(np.float64), rowvar=False, bias=True)
    m2, c2 = y.astype(np.float64).mean(0), np.cov(y.astype(np.float64), rowvar=False, bias=True)
    root = scipy.linalg.sqrtm(c1 @ c2)
    expected = np.square(m1 - m2).sum() + np.trace(c1 + c2 - 2 * np.real(root))
    assert fid_from_features(x, y) == pytest.approx(expected, rel=1e-8)
    mean, cov = mean_cov(x)
    np.testing.assert_allclose(cov, c1, atol=1e-10)


def test_fid_of_samples_approaches_closed_form():
    rng = np.random.default_rng(3)
    n, d = 200000, 3
    x = rng.standard_normal([n, d])
    y = rng.standard_normal([n, d]) * 2 + 1
    expected = d * 1.0 + d * (1 - 2) ** 2  # |mu|^2 = 3, sum (1 - 2)^2 = 3
    assert fid_from_features(x, y) == pytest.approx(expected, rel=0.01)


def direct_mmd2(x, y):
    """O(m^2) loops over pairs: the unbiased estimator written out term by term."""
    m, d = x.shape
    k = lambda a, b: (float(a @ b) / d + 1) ** 3  # noqa: E731
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return kxx + kyy - 2 * kxy


def test_mmd2_unbiased_matches_direct_computation():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal([20, 5]), rng.standard_normal([20, 5]) + 0.5
    assert mmd2_unbiased(x, y) == pytest.approx(direct_mmd2(x, y), rel=1e-10)
    np.testing.assert_allclose(polynomial_kernel(x[:2], y[:3]), (x[:2] @ y[:3].T / 5 + 1) ** 3)


def test_kid_with_full_subsets_equals_mmd2():
    # With subsets as large as the sets, every subset is a permutation: KID = MMD^2 of the whole sets.
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal([30, 4]), rng.standard_normal([30, 4]) * 1.3
    kid = kernel_inception_distance(x, y, num_subsets=3, max_subset_size=1000)
    assert kid == pytest.approx(direct_mmd2(x.astype(np.float32), y.astype(np.float32)), rel=1e-4)


def test_kid_identical_distributions_near_zero_and_shift_positive():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal([3000, 16]), rng.standard_normal([3000, 16])
    same = kernel_inception_distance(a, b, num_subsets=20, max_subset_size=500, rng=0)
    shifted = kernel_inception_distance(a, b + 0.5, num_subsets=20, max_subset_size=500, rng=0)
    assert abs(same) < 0.01
    assert shifted > 0.1
    # Unbiased: the mean over many independent same-distribution estimates is ~0, not positive.
    estimates = [mmd2_unbiased(rng.standard_normal([50, 4]), rng.standard_normal([50, 4])) for _ in range(200)]
    assert abs(np.mean(estimates)) < 3 * np.std(estimates) / np.sqrt(len(estimates))


def test_kid_subset_size_is_capped_by_the_smaller_set():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal([12, 3]), rng.standard_normal([40, 3])
    assert np.isfinite(kernel_inception_distance(x, y, num_subsets=5))
