import copy

import pytest
import torch

from stylegan.editing.styles import affine_weights, capture_styles, offset_styles, style_dim, style_layers
from stylegan.models import build_preset
from stylegan.tools.generate import synthesize
from tests.tools.conftest import build_seeded


def test_stylegan2_style_layers_and_the_ws_they_read(G8):
    layers = style_layers(G8)
    assert [(s.name, s.ws_index) for s in layers] == [
        ("b4.conv1.affine", 0),
        ("b4.torgb.affine", 1),
        ("b8.conv0.affine", 1),
        ("b8.conv1.affine", 2),
        ("b8.torgb.affine", 3),
    ]
    assert [s.offset for s in layers] == [0, 8, 16, 24, 32] and style_dim(layers) == 40


@pytest.mark.parametrize("preset", ["stylegan1", "stylegan3-t"])
def test_every_generation_has_style_layers(preset):
    kw = dict(channel_base=64, channel_max=8, map_layers=1, z_dim=8, w_dim=8)
    G = build_seeded(build_preset(preset, 16, **kw))
    layers = style_layers(G)
    assert layers and all(0 <= s.ws_index < G.num_ws for s in layers)
    assert not any("input" in s.name for s in layers)  # StyleGAN3's Fourier input is no style


def test_captured_styles_are_the_affine_outputs(G8):
    ws = torch.randn(3, G8.num_ws, G8.w_dim)
    layers = style_layers(G8)
    with capture_styles(G8, layers) as captured:
        synthesize(G8, ws)
    modules = dict(G8.synthesis.named_modules())
    expected = torch.cat([modules[s.name](ws[:, s.ws_index]) for s in layers], dim=1)
    assert torch.allclose(captured[0], expected, atol=1e-6)


def test_a_style_offset_equals_shifting_the_affine_bias(G8):
    layers = style_layers(G8)
    ws = torch.randn(2, G8.num_ws, G8.w_dim)
    delta = torch.zeros(style_dim(layers))
    delta[layers[3].offset + 5] = 0.7
    with offset_styles(G8, delta, layers):
        shifted = synthesize(G8, ws)
    G2 = copy.deepcopy(G8)
    affine = dict(G2.synthesis.named_modules())[layers[3].name]
    with torch.no_grad():
        affine.bias[5] += 0.7 / affine.bias_gain
    assert torch.allclose(shifted, synthesize(G2, ws), atol=1e-5)
    assert not torch.allclose(shifted, synthesize(G8, ws), atol=1e-3)
    assert torch.allclose(synthesize(G8, ws), synthesize(copy.deepcopy(G8), ws))  # hooks removed


def test_affine_weights_include_the_equalised_lr_gain(G8):
    layers = style_layers(G8)
    W = affine_weights(G8, layers[:1])[0]
    m = dict(G8.synthesis.named_modules())[layers[0].name]
    x = torch.randn(4, G8.w_dim)
    assert torch.allclose(x @ W.T + m.bias * m.bias_gain, m(x), atol=1e-6)
