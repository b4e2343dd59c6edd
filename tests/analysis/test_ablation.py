"""Unit ablation by index (PIN paper, Claim 2) on a small StyleGAN whose stored noise at 16x16
carries a spike that every channel picks up."""

from __future__ import annotations

import json

import pytest
import torch

import stylegan
from stylegan.analysis.ablation import (
    _zero_hook,
    ablation_report,
    ablation_study,
    ablation_sweep,
    regions_with_units_zeroed,
)
from stylegan.analysis.features import FeatureRecorder, ws_for_seeds
from stylegan.errors import UserError
from tests.analysis.conftest import plant_noise_spike, tiny_stylegan1
from tests.cli.conftest import run_cli


def test_zeroed_units_are_zero_where_measured(spiked_generator):
    G = spiked_generator
    ws = ws_for_seeds(G, [0, 1])
    zeroed = regions_with_units_zeroed(G, ws, "b16.conv0", [3, 5], "b16.conv0")
    plain = regions_with_units_zeroed(G, ws, "b16.conv0", [], "b16.conv0")
    assert len(zeroed) == len(plain) == 2
    # The hook really zeroes those channels, and only while it is registered.
    module = G.synthesis.get_submodule("b16.conv0")
    handle = module.register_forward_hook(_zero_hook([3, 5]))
    try:
        with torch.no_grad(), FeatureRecorder(G, ["b16.conv0"]) as rec:
            G.synthesis(ws, noise_mode="const")
    finally:
        handle.remove()
    feats = rec.features["synthesis.b16.conv0"]
    assert feats[:, [3, 5]].abs().max() == 0 and feats[:, 4].abs().max() > 0
    assert not module._forward_hooks


def test_a_spike_in_every_channel_survives_any_one_unit_ablation(spiked_generator):
    G = spiked_generator
    ws = ws_for_seeds(G, [0, 1, 2])
    one = ablation_study(G, ws, "b16.conv0", [5], measure_layer="b16.conv0")
    assert one["before"]["rate"] == 1.0 and one["after"]["rate"] == 1.0 and one["mean_moved"] < 0.1
    sweep = ablation_sweep(G, ws, "b16.conv0", measure_layer="b16.conv0")
    assert [r["unit"] for r in sweep["units"]] == list(range(sweep["channels"]))
    assert all(r["rate"] == 1.0 for r in sweep["units"])  # Claim 2: no single unit carries the artifact
    # All but one unit zeroed: the spike is left in one channel of 16, no longer an artifact there.
    keep = ablation_study(G, ws, "b16.conv0", [5], mode="keep", measure_layer="b16.conv0")
    assert keep["zeroed"] == keep["channels"] - 1 and keep["after"]["rate"] == 0.0


def test_bad_units_and_modes(spiked_generator):
    G = spiked_generator
    ws = ws_for_seeds(G, [0])
    with pytest.raises(UserError, match="unit 99 does not exist"):
        ablation_study(G, ws, "b16.conv0", [99])
    with pytest.raises(UserError, match="zero or keep"):
        ablation_study(G, ws, "b16.conv0", [1], mode="all")
    with pytest.raises(UserError, match="needs the units"):
        ablation_report(G, [0], "unused", "b16.conv0", mode="zero")


def test_report_and_cli(tmp_path):
    G = plant_noise_spike(tiny_stylegan1())
    calls = []
    summary = ablation_report(
        G,
        [0, 1],
        tmp_path / "s",
        "b16.conv0",
        units=[0, 5],
        measure_layer="b16.conv0",
        progress=lambda n, total: calls.append((n, total)),
    )
    assert calls == [(1, 2), (2, 2)]
    assert [r["unit"] for r in summary["units"]] == [0, 5] and summary["baseline"]["rate"] == 1.0
    assert (tmp_path / "s" / "ablation.png").exists()
    net = stylegan.save(G, tmp_path / "g.safetensors")
    code, out, err = run_cli(
        "analyze",
        "ablation",
        "--network",
        net,
        "--seeds",
        "0-1",
        "--layer",
        "b16.conv0",
        "--mode",
        "keep",
        "--units",
        "5",
        "--measure-layer",
        "b16.conv0",
        "--outdir",
        tmp_path / "c",
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert saved["after"]["rate"] == 0.0 and "rate 1.000 -> 0.000" in out
    code, _, err = run_cli("analyze", "ablation", "--network", net, "--layer", "nope", "--outdir", tmp_path / "d")
    assert code == 2 and "no layer named 'nope'" in err
