import pytest

from stylegan.errors import UserError
from stylegan.models import build_preset, preset_names


def test_stylegan2_preset_builds():
    spec = build_preset("stylegan2", 16, channel_base=128, channel_max=16, map_layers=2, z_dim=16, w_dim=16)
    G, D = spec.build()
    assert G.img_resolution == 16 and D.img_resolution == 16
    assert "stylegan2" in preset_names()


def test_unknown_preset_and_resolution():
    with pytest.raises(UserError, match="unknown preset"):
        build_preset("stylegan9", 64)
    with pytest.raises(UserError, match="power of two"):
        build_preset("stylegan2", 48)
