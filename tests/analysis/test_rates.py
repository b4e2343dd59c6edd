"""Artifact rates of two groups of networks with two-level bootstrap intervals (runs, then images)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import stylegan
from stylegan.analysis.rates import bootstrap_rates, compare_rates, rate_with_ci, rates_report
from stylegan.errors import UserError
from tests.analysis.conftest import plant_noise_spike, tiny_stylegan1
from tests.cli.conftest import run_cli


def test_certain_groups_have_point_intervals():
    zeros, ones = [np.zeros(50), np.zeros(20)], [np.ones(50), np.ones(30)]
    result = compare_rates(zeros, ones, samples=200)
    assert (result["a"]["rate"], result["a"]["ci_low"], result["a"]["ci_high"]) == (0.0, 0.0, 0.0)
    assert (result["b"]["rate"], result["b"]["ci_low"], result["b"]["ci_high"]) == (1.0, 1.0, 1.0)
    assert result["difference_b_minus_a"] == {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0}


def test_intervals_cover_the_rate_and_shrink_with_more_images():
    rng = np.random.default_rng(1)
    small = [rng.random(40) < 0.3 for _ in range(3)]
    large = [rng.random(4000) < 0.3 for _ in range(3)]
    est_small, _ = rate_with_ci(small, samples=500)
    est_large, _ = rate_with_ci(large, samples=500)
    assert est_small.low < 0.3 < est_small.high and est_large.low < 0.3 < est_large.high
    assert est_large.high - est_large.low < 0.5 * (est_small.high - est_small.low)


def test_runs_that_disagree_widen_the_interval():
    # Many images per run: the image-level noise is small, the spread between runs is what remains.
    agree = [np.r_[np.ones(500), np.zeros(500)] for _ in range(4)]  # every run at 0.5
    disagree = [np.r_[np.ones(n), np.zeros(1000 - n)] for n in (100, 300, 700, 900)]  # runs at 0.1-0.9
    a, _ = rate_with_ci(agree, samples=500)
    b, _ = rate_with_ci(disagree, samples=500)
    assert a.rate == b.rate == 0.5
    assert (b.high - b.low) > 4 * (a.high - a.low)
    assert len(bootstrap_rates(agree, samples=7)) == 7
    with pytest.raises(UserError):
        bootstrap_rates([np.zeros(0)])
    with pytest.raises(UserError):
        rate_with_ci(agree, level=1.5)


def test_report_and_cli(tmp_path):
    spiked = plant_noise_spike(tiny_stylegan1())
    plain = tiny_stylegan1()
    summary = rates_report(
        {"s1": spiked, "s2": spiked},
        {"p1": plain},
        [0, 1, 2],
        tmp_path / "r",
        labels=("spiked", "plain"),
        layer="b16.conv0",
        samples=200,
    )
    assert summary["a"]["rate"] == 1.0 and summary["b"]["rate"] == 0.0
    assert summary["difference_b_minus_a"]["value"] == -1.0 and len(summary["runs"]) == 3
    assert (tmp_path / "r" / "rates.png").exists()
    a = stylegan.save(spiked, tmp_path / "a.safetensors")
    b = stylegan.save(plain, tmp_path / "b.safetensors")
    code, out, err = run_cli(
        "analyze",
        "rates",
        "--a",
        a,
        "--b",
        b,
        "--b",
        b,
        "--labels",
        "sg1,pin",
        "--seeds",
        "0-2",
        "--layer",
        "b16.conv0",
        "--samples",
        "200",
        "--outdir",
        tmp_path / "c",
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert saved["labels"] == ["sg1", "pin"] and len(saved["b"]["per_run"]) == 2
    assert "pin - sg1: -1.000" in out
    code, _, err = run_cli("analyze", "rates", "--a", a, "--b", b, "--labels", "x", "--outdir", tmp_path / "d")
    assert code == 2 and "--labels must be two different names" in err
