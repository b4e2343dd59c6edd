"""Stochastic variation (StyleGAN Figures 4-5), fixed noise for `generate`, and the truncation figure."""

from __future__ import annotations

import json

import pytest
import torch

from stylegan.analysis.features import ws_for_seeds
from stylegan.analysis.variation import noise_report, select_noise_inputs, stochastic_variation, truncation_report
from stylegan.errors import UserError
from stylegan.models import build_preset
from stylegan.tools.generate import generate_images, noise_inputs, replaced_noise
from tests.analysis.conftest import tiny_stylegan1
from tests.cli.conftest import run_cli
from tests.tools.conftest import build_seeded, tiny_stylegan2


def with_noise_strength(G, value=0.5):
    """StyleGAN2 noise strengths (StyleGAN1: per-channel noise weights) start at 0; set them all."""
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength") or name.endswith("noise.weight"):
                p.fill_(value)
    return G


def test_noise_inputs_are_named_by_layer():
    assert list(noise_inputs(tiny_stylegan2(16))) == ["b4.conv1", "b8.conv0", "b8.conv1", "b16.conv0", "b16.conv1"]
    assert "b16.conv0.epilogue.noise" in noise_inputs(tiny_stylegan1())


def test_select_coarse_fine_and_named_inputs():
    G = tiny_stylegan2(32)  # noise at 4, 8, 16, 32: coarse 4-8, fine 16-32
    assert select_noise_inputs(G, "coarse") == ["b4.conv1", "b8.conv0", "b8.conv1"]
    assert select_noise_inputs(G, "fine") == ["b16.conv0", "b16.conv1", "b32.conv0", "b32.conv1"]
    assert select_noise_inputs(G, "none") == []
    assert select_noise_inputs(G, "all") == list(noise_inputs(G))
    assert select_noise_inputs(G, "32,b8.conv1") == ["b8.conv1", "b32.conv0", "b32.conv1"]
    assert select_noise_inputs(G, "synthesis.b16") == ["b16.conv0", "b16.conv1"]
    with pytest.raises(UserError, match="no noise input matches 'b64'"):
        select_noise_inputs(G, "b64")


@pytest.mark.parametrize("make", [lambda: tiny_stylegan2(16), tiny_stylegan1])
def test_noise_that_does_nothing_gives_zero_variation(make):
    G = make()  # noise strengths / weights are 0 at initialisation
    ws = ws_for_seeds(G, [0, 1])
    result = stochastic_variation(G, ws, select_noise_inputs(G, "all"), draws=4)
    assert result.std.shape == (2, G.img_resolution, G.img_resolution)
    assert result.mean_std == [0.0, 0.0]
    with_noise_strength(G)
    varied = stochastic_variation(G, ws, select_noise_inputs(G, "all"), draws=4)
    assert min(varied.mean_std) > 0.1
    none = stochastic_variation(G, ws, [], draws=4)  # noise in no layer: every draw is the same image
    assert none.mean_std == [0.0, 0.0]
    # Noise in the last layer only changes pixels; the draws then differ exactly there.
    last = list(noise_inputs(G))[-1]
    assert min(stochastic_variation(G, ws, [last], draws=4).mean_std) > 0


def test_stored_noise_is_restored():
    G = with_noise_strength(tiny_stylegan2(16))
    before = {n: b.clone() for n, b in noise_inputs(G).items()}
    stochastic_variation(G, ws_for_seeds(G, [0]), ["b8.conv0"], draws=3)
    with pytest.raises(RuntimeError):
        with replaced_noise(G, {"b8.conv0": None}):
            assert noise_inputs(G)["b8.conv0"].abs().max() == 0
            raise RuntimeError
    for name, buf in noise_inputs(G).items():
        assert torch.equal(buf, before[name])


def test_stylegan3_has_no_noise_to_vary():
    G = build_seeded(build_preset("stylegan3-t", 16, channel_base=256, channel_max=16, map_layers=2, z_dim=8, w_dim=8))
    with pytest.raises(UserError, match="no noise inputs.*StyleGAN3"):
        select_noise_inputs(G, "all")
    with pytest.raises(UserError, match="no noise inputs"):
        generate_images(G, [0], noise_seed=1)


def test_generate_with_a_noise_seed_is_reproducible():
    G = with_noise_strength(tiny_stylegan2(16), 2.0)
    a = generate_images(G, [0, 1, 2], noise_seed=5, batch_size=3)
    b = generate_images(G, [0, 1, 2], noise_seed=5, batch_size=1)  # the same whatever the batch
    c = generate_images(G, [0, 1, 2], noise_seed=6)
    torch.testing.assert_close(a, b)
    assert (a - c).abs().max() > 1e-3
    stored = generate_images(G, [0, 1, 2])  # the stored noise is back after the seeded run
    torch.testing.assert_close(stored, generate_images(G, [0, 1, 2], noise_mode="const"))
    assert (a - stored).abs().max() > 1e-3
    with pytest.raises(UserError, match="noise mode 'const'"):
        generate_images(G, [0], noise_mode="random", noise_seed=1)


def test_noise_report_and_cli(tmp_path):
    G = with_noise_strength(tiny_stylegan2(16))
    summary = noise_report(G, [0, 1], tmp_path / "a", layers="fine", draws=4, samples=2, tile=16)
    assert summary["groups"]["none"]["mean_std"] == [0.0, 0.0]
    assert summary["layers"]["inputs"] == ["b8.conv0", "b8.conv1", "b16.conv0", "b16.conv1"]  # 16 px: coarse is 4
    assert summary["layers"]["mean_std"] == pytest.approx(summary["groups"]["fine"]["mean_std"])
    assert {p.name for p in (tmp_path / "a").iterdir()} == {"variation.png", "noise_layers.png", "summary.json"}

    import stylegan

    path = stylegan.save(G, tmp_path / "g.safetensors")
    code, out, err = run_cli(
        "analyze",
        "noise",
        "--network",
        path,
        "--seeds",
        "0",
        "--draws",
        "3",
        "--samples",
        "2",
        "--outdir",
        tmp_path / "b",
    )
    assert code == 0, err
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["draws"] == 3
    code, out, err = run_cli("analyze", "noise", "--network", path, "--layers", "b99", "--outdir", tmp_path / "c")
    assert code == 2 and err.startswith("error: no noise input matches") and "Traceback" not in err
    code, _, err = run_cli(
        "generate",
        "--network",
        path,
        "--seeds",
        "0",
        "--noise-seed",
        "3",
        "--noise-mode",
        "random",
        "--outdir",
        tmp_path / "d",
    )
    assert code == 2 and "noise mode 'const'" in err
    code, _, err = run_cli(
        "generate", "--network", path, "--seeds", "0-1", "--noise-seed", "3", "--outdir", tmp_path / "e"
    )
    assert code == 0 and (tmp_path / "e" / "seed0001.png").exists()


def test_truncation_figure_marks_the_average_image(tmp_path):
    G = tiny_stylegan2(8)
    G.mapping.w_avg.normal_(generator=torch.Generator().manual_seed(1))
    summary = truncation_report(G, [0, 1], tmp_path / "t", psis=[-1, 0, 1], tile=16)
    distance = summary["mean_abs_difference_from_w_avg_image"]
    assert distance["0"] == pytest.approx(0.0, abs=1e-3) and distance["1"] > 1 and distance["-1"] > 1
    assert (tmp_path / "t" / "truncation.png").exists()
    with pytest.raises(UserError, match="truncation psi"):
        truncation_report(G, [0], tmp_path / "u", psis=[3.0])
    import stylegan

    path = stylegan.save(G, tmp_path / "g.safetensors")
    code, out, err = run_cli(
        "analyze", "truncation", "--network", path, "--seeds", "0", "--psis", "-1,0,1", "--outdir", tmp_path / "v"
    )
    assert code == 0, err
    assert "psi      0: mean |image - w_avg image|   0.00" in out
    code, _, err = run_cli("analyze", "truncation", "--network", path, "--psis", "a,b", "--outdir", tmp_path / "w")
    assert code == 2 and "--psis must be numbers" in err
