"""Artifacts over the snapshots of training runs, and when they appear."""

from __future__ import annotations

import json

import stylegan
from stylegan.analysis.training_runs import artifacts_over_training, onset_kimg
from tests.analysis.conftest import plant_noise_spike, tiny_stylegan1
from tests.cli.conftest import run_cli


def test_onset_is_where_the_rate_stays_high():
    assert onset_kimg([0, 10, 20, 30], [0.0, 0.2, 0.05, 0.3], 0.1) == 30  # 10 does not count: it dropped again
    assert onset_kimg([0, 10, 20], [0.0, 0.2, 0.5], 0.1) == 10
    assert onset_kimg([0, 10], [0.0, 0.05], 0.1) is None


def test_a_run_whose_artifacts_appear_midway(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    stylegan.save(tiny_stylegan1(), run / "network-snapshot-000000.safetensors")
    stylegan.save(tiny_stylegan1(), run / "network-snapshot-000010.safetensors")
    stylegan.save(plant_noise_spike(tiny_stylegan1()), run / "network-snapshot-000020.safetensors")
    summary = artifacts_over_training([run], tmp_path / "o", seeds=[0, 1], layer="b16.conv0")
    (result,) = summary["runs"]
    assert [s["kimg"] for s in result["snapshots"]] == [0, 10, 20]
    assert [s["rate"] for s in result["snapshots"]] == [0.0, 0.0, 1.0] and result["onset_kimg"] == 20
    assert (tmp_path / "o" / "artifacts_over_training.png").exists()
    code, out, err = run_cli(
        "analyze",
        "over-training",
        "--run",
        run,
        "--run",
        run,
        "--seeds",
        "0-1",
        "--layer",
        "b16.conv0",
        "--outdir",
        tmp_path / "c",
    )
    assert code == 0, err
    assert "artifacts appear (rate >= 0.1 from then on): 20 kimg" in out
    assert len(json.loads((tmp_path / "c" / "artifacts_over_training.json").read_text())["runs"]) == 2
    code, _, err = run_cli("analyze", "over-training", "--run", tmp_path / "none", "--outdir", tmp_path / "d")
    assert code == 2 and "run directory not found" in err
