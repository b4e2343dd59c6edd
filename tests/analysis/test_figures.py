import numpy as np
import torch
from PIL import Image

from stylegan.analysis.artifacts import detect_artifact, energy_map
from stylegan.analysis.figures import (
    LINE_COLORS,
    colorize,
    energy_figure,
    feature_grid,
    intensity_plot,
    save_figure,
)
from tests.analysis.test_artifacts import BLOB, planted_map


def test_colorize_runs_dark_to_bright():
    rgb = colorize(np.linspace(0, 1, 11).reshape(1, 11))
    assert rgb.shape == (1, 11, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == (0, 0, 4) and tuple(rgb[0, -1]) == (252, 255, 164)
    assert np.all(np.diff(rgb[0].astype(int).sum(1)) > 0)
    assert np.all(colorize(np.ones((2, 2))) == colorize(np.zeros((2, 2))))


def test_feature_grid_layout():
    x = torch.randn(10, 8, 8)
    fig = feature_grid(x, channels=[3, 1, 2, 0], tile=32, pad=2)
    assert fig.size == (2 * 34 + 2, 2 * 34 + 2)
    assert feature_grid(x, max_channels=9, tile=16, pad=0).size == (48, 48)


def test_energy_figure_marks_the_artifact_region(tmp_path):
    x = planted_map()
    region = detect_artifact(x)
    image = torch.zeros(3, 64, 64)
    fig = energy_figure(image, energy_map(x), region, size=128, caption="seed 0")
    assert fig.size == (3 * 128 + 16, 128 + 8 + 16)
    px = np.asarray(fig)
    assert np.any(np.all(px == (0, 255, 0), axis=-1))  # green circle: an artifact
    # The brightest heat sits at the blob, in the middle panel.
    heat = px[4 : 4 + 128, 4 + 132 : 4 + 132 + 128].astype(int).sum(-1)
    y, xx = np.unravel_index(np.argmax(heat), heat.shape)
    assert abs(y / 2 - BLOB[0]) <= 2 and abs(xx / 2 - BLOB[1]) <= 2
    path = save_figure(fig, tmp_path / "sub" / "energy.png")
    assert Image.open(path).size == fig.size


def test_intensity_plot_draws_one_line_per_pixel():
    profiles = {"object": np.linspace(-1, 1, 32), "background": np.zeros(32), "artifact": np.linspace(0, 20, 32)}
    fig = intensity_plot(profiles, title="test", size=(400, 300))
    assert fig.size == (400, 300)
    px = np.asarray(fig).reshape(-1, 3)
    for color in LINE_COLORS[:3]:
        assert np.any(np.all(px == color, axis=-1))
