import numpy as np
import pytest
import torch

from stylegan.metrics.datasets import dataset_fingerprint, iterate_images
from stylegan.metrics.detectors import Detector
from stylegan.metrics.stats import FeatureStats, dataset_feature_stats, stats_cache_path


class CountingDetector(Detector):
    """Mean colour per channel as 'features'; counts how many images it has seen."""

    name = "counting"

    def __init__(self):
        self.device = torch.device("cpu")
        self.seen = 0

    def features(self, images):
        self.seen += images.shape[0]
        return images.float().mean(dim=(2, 3))


class ListDataset:
    name = "tiny"

    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], np.zeros([0], np.float32)


def make_dataset(seed, n=10, hwc=False):
    rng = np.random.default_rng(seed)
    shape = (n, 4, 4, 3) if hwc else (n, 3, 4, 4)
    return ListDataset(list(rng.integers(0, 256, shape, dtype=np.uint8)))


def test_feature_stats_mean_cov_and_max_items():
    rng = np.random.default_rng(0)
    x = rng.standard_normal([50, 3]).astype(np.float32)
    stats = FeatureStats(capture_all=True, capture_mean_cov=True, max_items=40)
    stats.append(x[:25])
    stats.append(torch.from_numpy(x[25:]))
    assert stats.is_full() and stats.num_items == 40
    np.testing.assert_array_equal(stats.get_all(), x[:40])
    mean, cov = stats.get_mean_cov()
    np.testing.assert_allclose(mean, x[:40].astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(x[:40].astype(np.float64), rowvar=False, bias=True), atol=1e-12)
    with pytest.raises(ValueError):
        stats.append(np.zeros([2, 3, 1]))


def test_feature_stats_save_load_round_trip(tmp_path):
    stats = FeatureStats(capture_all=True, capture_mean_cov=True)
    stats.append(np.arange(12, dtype=np.float32).reshape(4, 3))
    stats.save(tmp_path / "s.npz")
    back = FeatureStats.load(tmp_path / "s.npz")
    np.testing.assert_array_equal(back.get_all(), stats.get_all())
    for a, b in zip(back.get_mean_cov(), stats.get_mean_cov()):
        np.testing.assert_array_equal(a, b)


def test_dataset_stats_cache_hit_and_invalidation(tmp_path):
    dataset, det = make_dataset(0), CountingDetector()
    first = dataset_feature_stats(
        dataset, det, capture_mean_cov=True, capture_all=True, batch_size=3, cache_dir=tmp_path
    )
    assert det.seen == 10
    second = dataset_feature_stats(
        dataset, det, capture_mean_cov=True, capture_all=True, batch_size=3, cache_dir=tmp_path
    )
    assert det.seen == 10  # served from the cache
    np.testing.assert_array_equal(first.get_all(), second.get_all())
    assert len(list((tmp_path / "gan-metrics").glob("tiny-counting-*.npz"))) == 1
    # Other content, other options, or no cache: recomputed.
    dataset_feature_stats(make_dataset(1), det, capture_mean_cov=True, cache_dir=tmp_path)
    assert det.seen == 20
    dataset_feature_stats(dataset, det, max_items=5, capture_mean_cov=True, cache_dir=tmp_path)
    assert det.seen == 25
    dataset_feature_stats(dataset, det, capture_mean_cov=True, capture_all=True, cache=False)
    assert det.seen == 35


def test_fingerprint_follows_content_and_layout():
    a, b = make_dataset(0), make_dataset(0)
    assert dataset_fingerprint(a) == dataset_fingerprint(b)
    b.images[3] = b.images[3].copy()
    b.images[3][0, 0, 0] ^= 1
    assert dataset_fingerprint(a) != dataset_fingerprint(b)
    a.fingerprint = "given"
    assert dataset_fingerprint(a) == "given"
    key_a = stats_cache_path(make_dataset(0), CountingDetector(), {"n": 1})
    key_b = stats_cache_path(make_dataset(0), CountingDetector(), {"n": 2})
    assert key_a != key_b


def test_iterate_images_accepts_hwc():
    batches = list(iterate_images(make_dataset(0, n=5, hwc=True), 5, 2))
    assert [b.shape for b in batches] == [(2, 3, 4, 4), (2, 3, 4, 4), (1, 3, 4, 4)]
    assert batches[0].dtype == torch.uint8
