import json

import numpy as np
import pytest
from PIL import Image

import stylegan
from tests.analysis.conftest import plant_noise_spike, tiny_stylegan1
from tests.cli.conftest import run_cli


@pytest.fixture(scope="module")
def spiked_path(tmp_path_factory):
    return stylegan.save(plant_noise_spike(tiny_stylegan1()), tmp_path_factory.mktemp("nets") / "spiked.safetensors")


@pytest.fixture(scope="module")
def pin_path(tmp_path_factory):
    return stylegan.save(tiny_stylegan1("stylegan1-pin"), tmp_path_factory.mktemp("nets") / "pin.safetensors")


def test_analyze_artifacts_writes_figures_and_summary(spiked_path, tmp_path):
    code, out, err = run_cli(
        "analyze",
        "artifacts",
        "--network",
        spiked_path,
        "--seeds",
        "0-1",
        "--layer",
        "b16.conv0",
        "--outdir",
        tmp_path,
        "--noise-seeds",
        "1-2",
        "--ablate",
        "2",
    )
    assert code == 0, err
    assert "2/2 images with an artifact" in out
    names = sorted(p.name for p in tmp_path.iterdir())
    for seed in ("seed0000", "seed0001"):
        assert {f"{seed}_features.png", f"{seed}_energy.png", f"{seed}_intensity.png"} <= set(names)
    assert "summary.json" in names
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["layer"] == "synthesis.b16.conv0" and summary["feature_shape"] == [16, 16, 16]
    assert summary["rate"] == 1.0 and summary["samples"] == 2
    seed0 = summary["seeds"][0]
    assert seed0["is_artifact"] and seed0["center"] == pytest.approx([5.5, 9.5], abs=0.6)
    assert set(seed0["probe_pixels"]) == {"object", "background", "artifact"}
    assert len(seed0["noise_resampling"]["trials"]) == 2 and len(seed0["ablation"]["units"]) == 2
    assert summary["instance_norm_amplification"][0]["predicted"] > 30
    energy = np.asarray(Image.open(tmp_path / "seed0000_energy.png"))
    assert energy.ndim == 3 and energy.shape[2] == 3


def test_analyze_compare_reports_both_rates(spiked_path, pin_path, tmp_path):
    out_json = tmp_path / "cmp.json"
    code, out, err = run_cli(
        "analyze", "compare", spiked_path, pin_path, "--seeds", "0-3", "--layer", "b16.conv0", "--json", out_json
    )
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split()[:2] == ["network", "layer"] and len(lines) == 3
    assert str(spiked_path) in lines[1] and "1.000" in lines[1]
    data = json.loads(out_json.read_text())
    assert [r["samples"] for r in data["networks"]] == [4, 4] and data["networks"][0]["rate"] == 1.0


def test_analyze_errors_and_layer_listing(spiked_path, tmp_path):
    code, _, err = run_cli(
        "analyze", "artifacts", "--network", spiked_path, "--seeds", "0", "--layer", "b99.conv0", "--outdir", tmp_path
    )
    assert code == 2 and "no layer named" in err
    code, _, err = run_cli(
        "analyze", "artifacts", "--network", tmp_path / "missing.safetensors", "--seeds", "0", "--outdir", tmp_path
    )
    assert code == 2 and "not found" in err
    code, _, err = run_cli("analyze", "compare", spiked_path, spiked_path, "--seeds", "0", "--threshold", "-1")
    assert code == 2 and "threshold" in err
    code, out, err = run_cli("analyze", "layers", "--network", spiked_path)
    assert code == 0, err
    assert "synthesis.b32.conv0" in out and "(default)" in out
