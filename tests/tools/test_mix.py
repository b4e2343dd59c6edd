import numpy as np
import pytest
import torch

from stylegan.errors import UserError
from stylegan.tools.generate import generate_images, synthesize
from stylegan.tools.mix import mix_figure, mix_ws, preset_boundaries, preset_layers, resolve_styles, style_mix
from stylegan.utils.images import to_uint8
from stylegan.utils.seeds import z_from_seeds


def test_presets_follow_the_paper_for_18_ws_and_scale_for_others():
    assert preset_layers("coarse", 18) == [0, 1, 2, 3]
    assert preset_layers("middle", 18) == [4, 5, 6, 7]
    assert preset_layers("fine", 18) == list(range(8, 18))
    assert preset_boundaries(16) == (4, 7)
    assert preset_boundaries(14) == (3, 6)
    assert preset_boundaries(6) == (1, 3)
    for n in range(3, 40):
        layers = [preset_layers(name, n) for name in ("coarse", "middle", "fine")]
        assert all(layers) and sum(layers, []) == list(range(n))
    with pytest.raises(UserError, match="at least 3 ws"):
        preset_layers("fine", 2)


def test_resolve_styles():
    assert resolve_styles(18) == list(range(7))  # official default 0-6
    assert resolve_styles(4) == [0, 1, 2, 3]  # the default is limited to the network's ws
    assert resolve_styles(18, "8-9,2") == [2, 8, 9]
    assert resolve_styles(18, presets=["coarse", "fine"]) == [0, 1, 2, 3] + list(range(8, 18))
    with pytest.raises(UserError, match="out of range"):
        resolve_styles(4, "0-4")
    with pytest.raises(UserError, match="not both"):
        resolve_styles(18, "0-3", ["coarse"])
    with pytest.raises(UserError, match="malformed style list"):
        resolve_styles(18, "a-b")


def test_mix_ws_copies_only_the_chosen_layers():
    a, b = torch.zeros(2, 5, 3), torch.ones(2, 5, 3)
    mixed = mix_ws(a, b, [1, 3])
    assert mixed[:, [1, 3]].eq(1).all() and mixed[:, [0, 2, 4]].eq(0).all()
    assert a.eq(0).all()  # inputs untouched


def test_style_mix_cells(tiny_G):
    rows, cols = [1, 2, 3], [2, 7]
    result = style_mix(tiny_G, rows, cols, styles=[0, 1], truncation_psi=0.8)
    assert result.cells.shape == (3, 2, 3, 8, 8)
    # The top row and left column are the seeds' own images.
    assert torch.allclose(result.row_images, generate_images(tiny_G, rows, truncation_psi=0.8), atol=1e-6)
    assert torch.allclose(result.col_images, generate_images(tiny_G, cols, truncation_psi=0.8), atol=1e-6)
    # Mixing a row with itself gives the row (seed 2 is both row 1 and column 0).
    assert torch.allclose(result.cells[1, 0], result.row_images[1], atol=1e-5)
    # Any other cell is the row's ws with the column's first two ws.
    ws = tiny_G.mapping(z_from_seeds([3, 7], 8), None, truncation_psi=0.8)
    expected = synthesize(tiny_G, torch.cat([ws[1:, :2], ws[:1, 2:]], dim=1), noise_mode="const")
    assert torch.allclose(result.cells[2, 1], expected[0], atol=1e-6)
    assert not torch.allclose(result.cells[2, 1], result.row_images[2], atol=1e-3)


def test_style_mix_extremes(tiny_G):
    none = style_mix(tiny_G, [4, 5], [6], styles=[])
    assert torch.allclose(none.cells[:, 0], none.row_images, atol=1e-5)
    every = style_mix(tiny_G, [4, 5], [6], styles=list(range(tiny_G.num_ws)))
    assert torch.allclose(every.cells[:, 0], every.col_images[0].expand(2, -1, -1, -1), atol=1e-5)
    with pytest.raises(UserError, match="style layers"):
        style_mix(tiny_G, [1], [2], styles=[4])


def test_mix_figure_layout(tiny_G):
    result = style_mix(tiny_G, [1, 2, 3], [4, 5], styles=[2, 3])
    figure = mix_figure(result)
    assert figure.shape == (4 * 8, 3 * 8, 3)
    assert (figure[:8, :8] == 255).all()
    assert np.array_equal(figure[:8, 8:16], to_uint8(result.col_images)[0])
    assert np.array_equal(figure[8:16, :8], to_uint8(result.row_images)[0])
    assert np.array_equal(figure[24:32, 16:24], to_uint8(result.cells[2, 1:2])[0])
