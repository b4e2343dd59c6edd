"""Per-resolution contribution of a skip generator (StyleGAN2 Figure 8)."""

from __future__ import annotations

import json

import pytest
import torch

import stylegan
from stylegan.analysis.contribution import contribution_over_training, contribution_report, resolution_contributions
from stylegan.analysis.features import ws_for_seeds
from stylegan.errors import UserError
from stylegan.models.mapping import MappingConfig
from stylegan.models.stylegan2 import StyleGAN2Generator, StyleGAN2GeneratorConfig
from tests.analysis.conftest import tiny_stylegan1
from tests.cli.conftest import run_cli
from tests.tools.conftest import tiny_stylegan2


def test_the_parts_add_up_to_the_image():
    G = tiny_stylegan2(16)
    result = resolution_contributions(G, ws_for_seeds(G, [0, 1, 2]))
    assert list(result.parts) == [4, 8, 16]
    torch.testing.assert_close(sum(result.parts.values()), result.images, atol=1e-5, rtol=1e-5)
    assert sum(result.shares.values()) == pytest.approx(1.0)
    assert all(s > 0 for s in result.shares.values())


@pytest.mark.parametrize("kept", [4, 8, 16])
def test_one_trgb_left_gets_everything(kept):
    G = tiny_stylegan2(16)
    with torch.no_grad():
        for block in G.synthesis.blocks():
            if block.resolution != kept:
                block.torgb.weight.zero_()
                block.torgb.bias.zero_()
    shares = resolution_contributions(G, ws_for_seeds(G, [0, 1])).shares
    assert shares[kept] == pytest.approx(1.0)
    assert all(s == 0 for r, s in shares.items() if r != kept)


def test_non_skip_generators_are_refused():
    cfg = StyleGAN2GeneratorConfig(
        z_dim=8,
        w_dim=8,
        img_resolution=8,
        channel_base=64,
        channel_max=8,
        architecture="resnet",
        mapping=MappingConfig(num_layers=1),
    )
    G = StyleGAN2Generator(cfg).eval()
    with pytest.raises(UserError, match="needs a skip generator.*'resnet'"):
        resolution_contributions(G, ws_for_seeds(G, [0]))
    with pytest.raises(UserError, match="needs a skip generator"):
        resolution_contributions(tiny_stylegan1(), ws_for_seeds(tiny_stylegan1(), [0]))


def test_report_and_run_over_training(tmp_path):
    G = tiny_stylegan2(8)
    summary = contribution_report(G, [0, 1], tmp_path / "one", tile=16)
    assert sum(summary["shares_percent"].values()) == pytest.approx(100)
    assert (tmp_path / "one" / "contribution.png").exists()

    run = tmp_path / "run"
    run.mkdir()
    stylegan.save(G, run / "network-snapshot-000000.008.safetensors")
    with torch.no_grad():
        G.synthesis.b4.torgb.weight.zero_()
        G.synthesis.b4.torgb.bias.zero_()
    stylegan.save(G, run / "network-snapshot-000010.safetensors")
    (run / "training-state-000010.pt").write_bytes(b"")  # not a network snapshot: ignored
    result = contribution_over_training(run, tmp_path / "over", seeds=[0, 1])
    assert [r["kimg"] for r in result["snapshots"]] == [0.008, 10.0]
    assert result["snapshots"][0]["shares_percent"] == pytest.approx(summary["shares_percent"])
    assert result["snapshots"][1]["shares_percent"]["4"] == 0.0
    assert (tmp_path / "over" / "contribution_over_training.png").exists()

    code, out, err = run_cli("analyze", "contribution", "--run", run, "--seeds", "0-1", "--outdir", tmp_path / "cli")
    assert code == 0, err
    saved = json.loads((tmp_path / "cli" / "contribution_over_training.json").read_text())
    assert len(saved["snapshots"]) == 2 and "10.0 kimg: 4px   0.0%" in out
    code, _, err = run_cli("analyze", "contribution", "--run", tmp_path / "nowhere", "--outdir", tmp_path / "x")
    assert code == 2 and "run directory not found" in err
    code, _, err = run_cli("analyze", "contribution", "--outdir", tmp_path / "x")
    assert code == 2 and "either --network or --run" in err
