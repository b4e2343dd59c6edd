import numpy as np
import pytest
import torch

from stylegan.metrics.precision_recall import kth_neighbour_radii, precision_recall


def clusters(rng, n, center, d=4):
    return rng.standard_normal([n, d]) + center


def test_known_overlap():
    # real = A + B, generated = A + C, with A, B, C far apart: only A is shared.
    rng = np.random.default_rng(0)
    a, b, c = clusters(rng, 60, 0.0), clusters(rng, 40, 200.0), clusters(rng, 20, -200.0)
    real, gen = np.concatenate([a, b]), np.concatenate([a, c])
    precision, recall = precision_recall(real, gen, k=3)
    assert precision == pytest.approx(60 / 80)
    assert recall == pytest.approx(60 / 100)


def test_same_distribution_is_mostly_covered_and_disjoint_is_not():
    rng = np.random.default_rng(1)
    real, gen = clusters(rng, 400, 0.0, 2), clusters(rng, 400, 0.0, 2)
    p, r = precision_recall(real, gen, k=3)
    assert p > 0.85 and r > 0.85
    p, r = precision_recall(real, gen + 50, k=3)
    assert p == 0 and r == 0


def test_blocking_does_not_change_the_result():
    rng = np.random.default_rng(2)
    real, gen = clusters(rng, 53, 0.0), clusters(rng, 47, 0.7)
    full = precision_recall(real, gen, k=3)
    blocked = precision_recall(real, gen, k=3, row_batch_size=7, col_batch_size=5)
    assert full == blocked


def test_kth_neighbour_excludes_the_point_itself():
    pts = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    # distances from 0: 0, 1, 3, 7 -> 1st neighbour (k=1) is at 1; from 7: 4, 6, 7 -> k=2 gives 6.
    radii = kth_neighbour_radii(pts, 1)
    assert radii.tolist() == [1.0, 1.0, 2.0, 4.0]
    assert kth_neighbour_radii(pts, 2)[3] == 6.0
    with pytest.raises(ValueError):
        kth_neighbour_radii(pts, 4)
