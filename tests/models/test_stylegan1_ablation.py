"""The StyleGAN paper's ablation configurations (Table 1: traditional input; Table 4: mapping depth 0)."""

import math

import pytest
import torch

import stylegan
from stylegan.errors import UserError
from stylegan.models import build_preset
from stylegan.ops.norm import normalize_2nd_moment
from stylegan.training.options import TrainingOptions, resolve_options

SMALL = dict(channel_base=256, channel_max=32, map_layers=2, z_dim=16, w_dim=16, progressive=False)


@pytest.mark.parametrize("preset", ["stylegan1", "stylegan1-pin"])
def test_traditional_input_feeds_the_first_w_through_a_dense_layer(preset):
    G, _ = build_preset(preset, 16, const_input=False, **SMALL).build()
    b4 = G.synthesis.b4
    assert not hasattr(b4, "const") and b4.dense.weight.shape == (32 * 16, 16)
    # Official scale: gain sqrt(2) / 4 over sqrt(fan-in), no bias of its own (the epilogue adds it).
    assert b4.dense.weight_gain == pytest.approx(math.sqrt(2) / 4 / math.sqrt(16)) and b4.dense.bias is None
    seen = {}
    b4.conv0.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))  # returns None: args unchanged
    z = torch.randn(3, 16)
    img = G(z, None, noise_mode="const")
    ws = G.mapping(z, None)
    expected = ws[:, 0] @ (b4.dense.weight * b4.dense.weight_gain).t()
    torch.testing.assert_close(seen["x"], expected.view(3, 32, 4, 4))
    assert img.shape == (3, 3, 16, 16)
    img.square().mean().backward()
    assert b4.dense.weight.grad.abs().sum() > 0
    # Different first ws give different 4x4 inputs: the input is no longer shared by all images.
    assert (seen["x"][0] - seen["x"][1]).abs().max() > 1e-3
    # The choice is part of the config: a checkpoint round trip keeps it.
    assert G.config.const_input is False


def test_traditional_input_survives_a_checkpoint(tmp_path):
    G, _ = build_preset("stylegan1", 16, const_input=False, **SMALL).build()
    loaded = stylegan.load(stylegan.save(G, tmp_path / "g.safetensors"))
    z = torch.randn(2, 16)
    torch.testing.assert_close(loaded(z, None, noise_mode="const"), G(z, None, noise_mode="const"))


def test_mapping_depth_zero_makes_w_the_normalised_z():
    G, _ = build_preset("stylegan1", 16, **{**SMALL, "map_layers": 0}).build()
    assert not [n for n, _ in G.mapping.named_parameters()]
    z = torch.randn(4, 16)
    ws = G.mapping(z, None)
    torch.testing.assert_close(ws, normalize_2nd_moment(z).unsqueeze(1).repeat(1, G.num_ws, 1))
    with pytest.raises(ValueError, match="w_dim = z_dim"):
        build_preset("stylegan1", 16, **{**SMALL, "map_layers": 0, "w_dim": 8}).build()


def test_the_ablation_is_selectable_from_training_options():
    from stylegan.training.build import model_spec

    opts = resolve_options(
        TrainingOptions(
            cfg="stylegan1",
            resolution=16,
            batch=4,
            cbase=256,
            cmax=32,
            z_dim=16,
            w_dim=16,
            map_depth=0,
            const_input=False,
            noise=False,
            style_mixing=0.0,
            progressive=False,
        ),
        16,
    )
    assert opts.map_depth == 0 and opts.style_mixing == 0.0
    G, _ = model_spec(opts, 3, 0).build()
    assert G.config.const_input is False and G.config.mapping.num_layers == 0 and G.config.use_noise is False
    with pytest.raises(UserError, match="--const-input 0 applies to stylegan1"):
        resolve_options(TrainingOptions(cfg="stylegan2", resolution=16, batch=4, const_input=False), 16)
