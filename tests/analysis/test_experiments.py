"""The paper's experiments on a small StyleGAN (v1) whose stored noise at 16x16 carries a spike."""

import pytest
import torch

from stylegan.analysis.artifacts import (
    ablate_units,
    detect_artifact,
    noise_resampling_experiment,
    rank_units,
)
from stylegan.analysis.features import capture_features, ws_for_seeds
from stylegan.errors import UserError
from tests.analysis.conftest import tiny_stylegan1


@torch.no_grad()
def test_a_noise_spike_makes_an_artifact_where_it_is(spiked_generator):
    G = spiked_generator
    ws = ws_for_seeds(G, [0, 1])
    feats = capture_features(G, ["b16.conv0", "b32.conv1"], ws).features
    for i in range(2):
        r = detect_artifact(feats["synthesis.b16.conv0"][i])
        assert r.is_artifact and r.score > 6
        assert r.center == pytest.approx((5.5, 9.5), abs=0.6)  # the 2x2 spike at rows 5-6, columns 9-10
        later = detect_artifact(feats["synthesis.b32.conv1"][i])  # it propagates to the next resolution
        assert abs(later.center[0] / 2 - 5.5) < 3 and abs(later.center[1] / 2 - 9.5) < 3


def test_resampling_the_noise_moves_the_artifact(spiked_generator):
    G = spiked_generator
    ws = ws_for_seeds(G, [0])
    state = torch.random.get_rng_state()
    result = noise_resampling_experiment(G, ws, "b16.conv0", [1, 2, 3])
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is left as it was
    assert result.reference.is_artifact
    assert all(t.displacement > 1 for t in result.trials) and result.mean_displacement > 1
    again = noise_resampling_experiment(G, ws, "b16.conv0", [2])
    assert again.trials[0].region.peak == result.trials[1].region.peak  # reproducible per noise seed
    d = result.to_dict()
    assert d["layer"] == "synthesis.b16.conv0" and len(d["trials"]) == 3
    assert d["mean_displacement_fraction"] == pytest.approx(result.mean_displacement / 16)


def test_noise_without_weight_cannot_move_anything():
    G = tiny_stylegan1()  # noise weights start at 0
    result = noise_resampling_experiment(G, ws_for_seeds(G, [0]), "b16.conv0", [1, 2])
    assert [t.displacement for t in result.trials] == [0.0, 0.0]


@torch.no_grad()
def test_unit_ablation_zeroes_the_most_active_units(spiked_generator):
    G = spiked_generator
    ws = ws_for_seeds(G, [0])
    feats = capture_features(G, ["b16.conv0"], ws).features["synthesis.b16.conv0"][0]
    region = detect_artifact(feats)
    top = rank_units(feats, region)[:3]
    result = ablate_units(G, ws, "b16.conv0", k=3, measure_layer="b16.conv0")
    assert result.units == sorted(top)
    zeroed = feats.clone()
    zeroed[top] = 0
    expected = detect_artifact(zeroed)
    assert result.after.peak == expected.peak and result.after.score == pytest.approx(expected.score)
    assert result.before.peak == region.peak
    assert not G.synthesis.b16.conv0._forward_hooks


def test_unit_ablation_modes_and_default_measure_layer(spiked_generator):
    G = spiked_generator
    ws = ws_for_seeds(G, [0])
    result = ablate_units(G, ws, "b16.conv0", mode="all-but-one")
    assert len(result.units) == 15 and result.measure_layer == "synthesis.b32"
    d = result.to_dict()
    assert set(d) >= {"before", "after", "displacement", "units", "score_change"}
    with pytest.raises(UserError):
        ablate_units(G, ws, "b16.conv0", k=99)
    with pytest.raises(UserError):
        ablate_units(G, ws, "b16.conv0", mode="random")
