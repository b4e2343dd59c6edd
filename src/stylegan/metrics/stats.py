"""Feature statistics of datasets and generators, and their cache.

``FeatureStats`` accumulates detector features the way the official tools do: all features
(float32) and/or the running sum and Gram matrix in float64 for the mean and the biased
covariance. Dataset statistics are cached as ``.npz`` files (plain arrays, no pickle) in
``<cache>/gan-metrics/``, keyed by a hash of the dataset's content, the detector's exact weights
and the options, so a changed dataset or detector never reuses stale numbers.
"""

from __future__ import annotations

import hashlib
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from stylegan.errors import StyleganWarning
from stylegan.metrics.detectors import Detector, default_cache_dir
from stylegan.metrics.sampling import progress_bar
from stylegan.utils.files import atomic_write

STATS_VERSION = 1


class DamagedStatsError(Exception):
    """A statistics file that ``FeatureStats.load`` cannot use; the message says why."""


class FeatureStats:
    """Features [N, D] of up to ``max_items`` images: all of them, and/or mean and covariance."""

    def __init__(self, capture_all: bool = False, capture_mean_cov: bool = False, max_items: int | None = None):
        self.capture_all = capture_all
        self.capture_mean_cov = capture_mean_cov
        self.max_items = max_items
        self.num_items = 0
        self.num_features: int | None = None
        self._all: list[np.ndarray] = []
        self.raw_mean: np.ndarray | None = None
        self.raw_cov: np.ndarray | None = None

    def is_full(self) -> bool:
        return self.max_items is not None and self.num_items >= self.max_items

    def append(self, x) -> None:
        x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"features must be [N, D], got shape {x.shape}")
        if self.max_items is not None:
            x = x[: max(self.max_items - self.num_items, 0)]
        if x.shape[0] == 0:
            return
        if self.num_features is None:
            self.num_features = x.shape[1]
            self.raw_mean = np.zeros([x.shape[1]], np.float64)
            self.raw_cov = np.zeros([x.shape[1], x.shape[1]], np.float64)
        elif x.shape[1] != self.num_features:
            raise ValueError(f"feature size changed from {self.num_features} to {x.shape[1]}")
        self.num_items += x.shape[0]
        if self.capture_all:
            self._all.append(x)
        if self.capture_mean_cov:
            x64 = x.astype(np.float64)
            self.raw_mean += x64.sum(axis=0)
            self.raw_cov += x64.T @ x64

    def get_all(self) -> np.ndarray:
        if not self.capture_all:
            raise RuntimeError("these statistics did not capture all features")
        if not self._all:
            return np.zeros([0, self.num_features or 0], np.float32)
        if len(self._all) > 1:
            self._all = [np.concatenate(self._all)]
        return self._all[0]

    def get_mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.capture_mean_cov:
            raise RuntimeError("these statistics did not capture mean and covariance")
        if self.num_items == 0:
            raise ValueError("no features were collected")
        mean = self.raw_mean / self.num_items
        cov = self.raw_cov / self.num_items - np.outer(mean, mean)
        return mean, cov

    def save(self, path: str | Path) -> None:
        """Write atomically as ``.npz`` (plain arrays only)."""
        arrays = dict(
            meta=np.array(
                json.dumps(
                    dict(
                        capture_all=self.capture_all,
                        capture_mean_cov=self.capture_mean_cov,
                        max_items=self.max_items,
                        num_items=self.num_items,
                        num_features=self.num_features,
                    )
                )
            ),
        )
        if self.capture_all:
            arrays["all"] = self.get_all()
        if self.capture_mean_cov and self.raw_mean is not None:
            arrays["raw_mean"], arrays["raw_cov"] = self.raw_mean, self.raw_cov

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        atomic_write(path, write)

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        """Read statistics written by ``save``; a file that is not such statistics (truncated, empty,
        a pickle, arrays of the wrong shapes) raises ``DamagedStatsError``. No pickle is run."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                stats = cls(bool(meta["capture_all"]), bool(meta["capture_mean_cov"]), meta["max_items"])
                stats.num_items, stats.num_features = int(meta["num_items"]), int(meta["num_features"])
                if stats.capture_all:
                    stats._all = [data["all"]]
                if stats.capture_mean_cov:
                    stats.raw_mean, stats.raw_cov = data["raw_mean"], data["raw_cov"]
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
            raise DamagedStatsError(f"{type(e).__name__}: {e}") from None
        stats._check_shapes()
        return stats

    def _check_shapes(self) -> None:
        n, d = self.num_items, self.num_features
        expected = {"all": (n, d)} if self.capture_all else {}
        if self.capture_mean_cov:
            expected.update(raw_mean=(d,), raw_cov=(d, d))
        found = {"all": self._all[0] if self._all else None, "raw_mean": self.raw_mean, "raw_cov": self.raw_cov}
        for key, shape in expected.items():
            array = found[key]
            if array is None or array.shape != shape or not np.isfinite(array).all():
                raise DamagedStatsError(f"{key} is not a finite array of shape {list(shape)}")


def stats_cache_path(dataset, detector: Detector, options: dict, cache_dir: str | Path | None = None) -> Path:
    """``<cache>/gan-metrics/<dataset>-<detector>-<hash>.npz`` for this dataset content, detector and options."""
    from stylegan.metrics.datasets import dataset_fingerprint, dataset_name

    key = json.dumps(
        dict(
            version=STATS_VERSION, dataset=dataset_fingerprint(dataset), detector=detector.fingerprint, options=options
        ),
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return default_cache_dir(cache_dir) / "gan-metrics" / f"{dataset_name(dataset)}-{detector.name}-{digest}.npz"


def dataset_feature_stats(
    dataset,
    detector: Detector,
    max_items: int | None = None,
    capture_all: bool = False,
    capture_mean_cov: bool = False,
    batch_size: int = 64,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> FeatureStats:
    """Detector features of the first ``max_items`` dataset images (all when None), cached."""
    from stylegan.metrics.datasets import iterate_images

    num = len(dataset) if max_items is None else min(len(dataset), max_items)
    options = dict(max_items=num, capture_all=capture_all, capture_mean_cov=capture_mean_cov)
    path = stats_cache_path(dataset, detector, options, cache_dir) if cache else None
    if path is not None and path.exists():
        try:
            cached = FeatureStats.load(path)
            if (cached.capture_all, cached.capture_mean_cov, cached.num_items) == (capture_all, capture_mean_cov, num):
                return cached
            reason = "it holds other statistics than its name says"
        except DamagedStatsError as e:
            reason = str(e)
        warnings.warn(
            f"the cached dataset statistics {path} are damaged ({reason}); computing them again",
            StyleganWarning,
            stacklevel=2,
        )
    stats = FeatureStats(capture_all=capture_all, capture_mean_cov=capture_mean_cov, max_items=num)
    bar = progress_bar(num, "dataset features", progress)
    for images in iterate_images(dataset, num, batch_size):
        stats.append(detector.features(images))
        bar.update(images.shape[0])
    bar.close()
    if path is not None:
        stats.save(path)
    return stats


def generator_feature_stats(
    images,
    detector: Detector,
    num: int,
    capture_all: bool = False,
    capture_mean_cov: bool = False,
    progress: bool = False,
) -> FeatureStats:
    """Detector features of ``num`` generated uint8 images from the iterator ``images``."""
    stats = FeatureStats(capture_all=capture_all, capture_mean_cov=capture_mean_cov, max_items=num)
    bar = progress_bar(num, "generator features", progress)
    for batch in images:
        stats.append(detector.features(batch))
        bar.update(batch.shape[0])
        if stats.is_full():
            break
    bar.close()
    return stats
