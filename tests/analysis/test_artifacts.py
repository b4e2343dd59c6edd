"""Artifact detection on synthetic feature maps with a planted blob, and the instance-norm
amplification check (Claim 3 of the PIN paper)."""

import math

import numpy as np
import pytest
import torch

from stylegan.analysis.artifacts import (
    ArtifactCriteria,
    artifact_rate,
    detect_artifact,
    detect_artifacts,
    energy_map,
    instance_norm_amplification,
    instance_norm_amplification_in,
    intensity_profiles,
    predicted_amplification,
    probe_pixels,
    rank_units,
    summarize,
)
from stylegan.errors import UserError

BLOB = (20, 41)  # centre (y, x) of the planted 3x3 spot


def planted_map(blob=True, blob_value=20.0, half=1, channels=None, c=16, size=64, seed=0):
    """Object disk (magnitude 2, ~20% of the map), background 0.5, and a (2 half + 1)^2 spot of
    magnitude ``blob_value`` in ``channels`` (default all); random signs per channel."""
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(c, 1, 1))
    yy, xx = np.mgrid[0:size, 0:size]
    obj = (yy - 40) ** 2 + (xx - 24) ** 2 < 16**2
    x = np.where(obj, 2.0, 0.5)[None].repeat(c, 0) * signs
    if blob:
        y0, x0 = BLOB
        for ch in range(c) if channels is None else channels:
            x[ch, y0 - half : y0 + half + 1, x0 - half : x0 + half + 1] = blob_value * signs[ch]
    return x


def test_energy_map_is_rms_across_channels():
    x = torch.randn(2, 5, 4, 4)
    e = energy_map(x)
    assert e.shape == (2, 4, 4)
    np.testing.assert_allclose(e, x.square().mean(1).sqrt().numpy(), rtol=1e-6)
    x = np.ones((3, 2, 2)) * np.array([1.0, 2.0, 3.0])[:, None, None]
    np.testing.assert_allclose(energy_map(x), np.full((2, 2), math.sqrt(14 / 3)))
    np.testing.assert_allclose(energy_map(x, center=True), 0)


def test_planted_blob_is_found_at_the_right_place_with_the_right_score():
    r = detect_artifact(planted_map())
    assert r.peak[0] in range(BLOB[0] - 1, BLOB[0] + 2) and r.peak[1] in range(BLOB[1] - 1, BLOB[1] + 2)
    assert r.center == pytest.approx(BLOB)
    assert r.area == 9 and r.area_fraction == pytest.approx(9 / 64**2)
    assert r.peak_energy == pytest.approx(20) and r.reference_energy == pytest.approx(2)
    assert r.score == pytest.approx(10)
    assert r.channel_consistency == 1.0 and r.is_artifact
    assert r.mask.sum() == 9 and r.mask[BLOB]
    d = r.to_dict()
    assert "mask" not in d and d["peak"] == list(r.peak) and d["is_artifact"] is True


def test_maps_without_a_small_consistent_spot_are_not_artifacts():
    clean = detect_artifact(planted_map(blob=False))
    assert clean.score == pytest.approx(1) and not clean.is_artifact
    big = detect_artifact(planted_map(half=8))  # 17x17 spot: 7% of the map, an object rather than a spot
    assert big.score == pytest.approx(10) and big.area_fraction > 0.05 and not big.is_artifact
    lone = detect_artifact(planted_map(blob_value=80.0, channels=[3]))  # one channel only
    assert lone.score > 4 and lone.channel_consistency == pytest.approx(1 / 16) and not lone.is_artifact
    weak = detect_artifact(planted_map(blob_value=6.0))
    assert weak.score == pytest.approx(3) and not weak.is_artifact
    assert detect_artifact(planted_map(blob_value=6.0), ArtifactCriteria(score_threshold=2.5)).is_artifact


def test_artifact_rate_over_samples():
    batch = np.stack([planted_map(seed=1), planted_map(blob=False), planted_map(seed=2), planted_map(seed=3)])
    regions = detect_artifacts(torch.as_tensor(batch, dtype=torch.float32))
    assert [r.is_artifact for r in regions] == [True, False, True, True]
    assert artifact_rate(regions) == 0.75
    s = summarize(regions)
    assert s["samples"] == 4 and s["artifacts"] == 3 and s["rate"] == 0.75
    assert s["max_score"] == pytest.approx(10) and s["median_score"] == pytest.approx(10)
    with pytest.raises(ValueError):
        artifact_rate([])


def test_intensity_profiles_at_object_background_and_artifact():
    x = planted_map()
    r = detect_artifact(x)
    pixels = probe_pixels(x, r)
    assert pixels["artifact"] == r.peak
    profiles = intensity_profiles(x, pixels)
    assert set(profiles) == {"object", "background", "artifact"}
    np.testing.assert_allclose(np.abs(profiles["artifact"]), 20)
    np.testing.assert_allclose(np.abs(profiles["object"]), 2)
    np.testing.assert_allclose(np.abs(profiles["background"]), 0.5)
    np.testing.assert_array_equal(profiles["object"], x[:, pixels["object"][0], pixels["object"][1]])
    with pytest.raises(UserError):
        intensity_profiles(x, {"outside": (64, 0)})


def test_rank_units_orders_channels_by_activation_in_the_region():
    x = planted_map()
    x[5, BLOB[0] - 1 : BLOB[0] + 2, BLOB[1] - 1 : BLOB[1] + 2] *= 3
    x[9, BLOB[0] - 1 : BLOB[0] + 2, BLOB[1] - 1 : BLOB[1] + 2] *= 2
    order = rank_units(x, detect_artifact(x))
    assert order[:2] == [5, 9] and sorted(order) == list(range(16))


def test_criteria_are_validated():
    with pytest.raises(UserError):
        ArtifactCriteria(score_threshold=0)
    with pytest.raises(UserError):
        ArtifactCriteria(max_area_fraction=1.5)
    with pytest.raises(UserError):
        ArtifactCriteria(region_threshold=1.0)
    with pytest.raises(ValueError):
        detect_artifact(np.zeros((4, 4)))


def test_instance_norm_amplifies_a_small_high_region_to_sqrt_of_1_minus_a_over_a():
    rows = instance_norm_amplification([0.001, 0.01, 0.1, 0.5])
    for row in rows:
        assert row["measured"] == pytest.approx(predicted_amplification(row["exact_fraction"]), rel=1e-6)
    at_one_percent = rows[1]
    assert at_one_percent["measured"] == pytest.approx(9.95, abs=0.01)  # "about 10 for a = 0.01"
    assert rows[-1]["measured"] == pytest.approx(1.0, rel=1e-6)
    noisy = instance_norm_amplification([0.01], noise=0.05)[0]
    assert noisy["relative_error"] < 0.05
    with pytest.raises(UserError):
        instance_norm_amplification([1.0])


def test_instance_norm_amplification_on_a_feature_map():
    x = np.full((3, 32, 32), 1.0)
    mask = np.zeros((32, 32), bool)
    mask[10:13, 10:14] = True  # 12 pixels
    x[:, mask] = 7.0
    x[2] *= -1  # a channel where the region is low, left out of the median
    out = instance_norm_amplification_in(x, mask)
    a = 12 / 1024
    assert out["fraction"] == pytest.approx(a) and out["channels_above_mean"] == 2
    assert out["measured_median"] == pytest.approx(math.sqrt((1 - a) / a), rel=1e-6)


def test_probe_pixels_when_the_region_covers_the_whole_map():
    # A constant map is one connected region covering every pixel: there is no "outside".
    features = np.ones((4, 6, 6), np.float32)
    pixels = probe_pixels(features)
    assert set(pixels) == {"object", "background", "artifact"}
    for y, x in pixels.values():
        assert 0 <= y < 6 and 0 <= x < 6
