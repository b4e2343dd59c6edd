"""Instance-norm amplification (PIN paper, Claim 3) on real feature maps: a spot planted before the
normalisation takes the predicted value sqrt((1 - a) / a) after instance norm."""

from __future__ import annotations

import json

import pytest
import torch

import stylegan
from stylegan.analysis.amplification import amplification_check, amplification_report, pre_norm_features
from stylegan.analysis.features import ws_for_seeds
from stylegan.errors import UserError
from tests.analysis.conftest import plant_noise_spike, tiny_stylegan1
from tests.cli.conftest import run_cli
from tests.tools.conftest import tiny_stylegan2


def test_a_planted_spot_is_amplified_as_predicted(spiked_generator):
    G = spiked_generator  # a 2x2 spike in the noise of b16.conv0, before its instance norm
    rows = amplification_check(G, ws_for_seeds(G, [0, 1, 2]), "b16.conv0")
    for row in rows:
        assert row["is_artifact"] and row["fraction"] == pytest.approx(4 / 256)
        assert row["predicted"] == pytest.approx((252 / 4) ** 0.5)
        assert row["measured_over_predicted"] == pytest.approx(1.0, abs=0.05)


def test_the_recorded_map_is_what_enters_the_norm(spiked_generator):
    G = spiked_generator
    ws = ws_for_seeds(G, [0])
    pre = pre_norm_features(G, "b16.conv0", ws)
    assert pre.shape[1:] == (16, 16, 16)
    seen = []
    norm = G.synthesis.b16.conv0.epilogue.norm
    handle = norm.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
    try:
        with torch.no_grad():
            G.synthesis(ws, noise_mode="const")
    finally:
        handle.remove()
    torch.testing.assert_close(pre, seen[0].float())


def test_layers_without_normalisation_are_refused():
    G = tiny_stylegan2(8)
    with pytest.raises(UserError, match="has no normalisation to check"):
        amplification_check(G, ws_for_seeds(G, [0]), "b8.conv0")


def test_report_and_cli(tmp_path):
    G = plant_noise_spike(tiny_stylegan1())
    summary = amplification_report(G, [0, 1], tmp_path / "a", "b16.conv0")
    assert summary["artifacts"] == 2
    assert summary["median_measured_over_predicted_artifacts"] == pytest.approx(1, abs=0.05)
    assert (tmp_path / "a" / "amplification.png").exists()
    net = stylegan.save(G, tmp_path / "g.safetensors")
    code, out, err = run_cli(
        "analyze",
        "amplification",
        "--network",
        net,
        "--seeds",
        "0-1",
        "--layer",
        "b16.conv0",
        "--outdir",
        tmp_path / "c",
    )
    assert code == 0, err
    assert json.loads((tmp_path / "c" / "summary.json").read_text())["layer"] == "synthesis.b16.conv0"
    assert "over the 2 with an artifact" in out
