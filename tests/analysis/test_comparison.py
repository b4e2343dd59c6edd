"""The same artifact measurement on two networks side by side (`analyze compare --figures`)."""

from __future__ import annotations

import numpy as np
from PIL import Image

import stylegan
from stylegan.analysis.figures import energy_figure
from stylegan.analysis.report import comparison_figures
from tests.analysis.conftest import plant_noise_spike, tiny_stylegan1
from tests.cli.conftest import run_cli
from tests.tools.conftest import tiny_stylegan2


def test_figures_stack_one_energy_figure_per_network(tmp_path):
    spiked, sg2 = plant_noise_spike(tiny_stylegan1()), tiny_stylegan2(16)
    paths = comparison_figures({"sg1": spiked, "sg2": sg2}, [0, 3], tmp_path, layer="b16.conv0")
    assert [p.name for p in paths] == ["seed0000_compare.png", "seed0003_compare.png"]
    one = energy_figure(np.zeros((3, 16, 16)), np.zeros((16, 16)), caption="x")
    picture = Image.open(paths[0])
    assert picture.size == (one.width, 2 * one.height)


def test_cli_compare_with_figures(tmp_path):
    a = stylegan.save(plant_noise_spike(tiny_stylegan1()), tmp_path / "sg1.safetensors")
    b = stylegan.save(tiny_stylegan2(16), tmp_path / "sg2.safetensors")
    code, out, err = run_cli(
        "analyze",
        "compare",
        a,
        b,
        "--seeds",
        "0-5",
        "--layer",
        "b16.conv0",
        "--figures",
        tmp_path / "figs",
        "--figure-seeds",
        "2",
    )
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["seed0000_compare.png", "seed0001_compare.png"]
    assert "wrote 2 figures" in out
