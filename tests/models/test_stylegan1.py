import dataclasses

import pytest
import torch

import stylegan
from stylegan.layers.pin import PixelInstanceNorm, project_gates_
from stylegan.models import build_preset, mix_styles, preset_names
from stylegan.models.stylegan1 import (
    StyleGAN1Discriminator,
    StyleGAN1DiscriminatorConfig,
    StyleGAN1Generator,
    StyleGAN1GeneratorConfig,
    feature_maps,
)
from stylegan.ops.resample import upscale2d

SMALL = dict(channel_base=256, channel_max=32, map_layers=2, z_dim=16, w_dim=16)


def small_nets(preset="stylegan1", resolution=32, **kw):
    return build_preset(preset, resolution, **{**SMALL, **kw}).build()


def randomize_noise_weights(G, scale=0.5):
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise.weight") or name.endswith("epilogue.bias"):
                p.normal_(0, scale)


def test_presets_build_and_shapes():
    assert {"stylegan1", "stylegan1-pin"} <= set(preset_names())
    for preset in ("stylegan1", "stylegan1-pin"):
        G, D = small_nets(preset)
        assert G.kind == "stylegan1.generator" and D.kind == "stylegan1.discriminator"
        assert G.num_ws == 8 and G.mapping.num_ws == 8
        img = G(torch.randn(4, 16))
        assert img.shape == (4, 3, 32, 32)
        assert D(img).shape == (4, 1)
        pins = [m for m in G.modules() if isinstance(m, PixelInstanceNorm)]
        assert len(pins) == (8 if preset == "stylegan1-pin" else 0)
    G, _ = small_nets("stylegan1-pin", pin_gate_init=0.2)
    assert all(torch.all(m.gate == 0.2) for m in G.modules() if isinstance(m, PixelInstanceNorm))
    with pytest.raises(ValueError, match="stylegan1-pin"):
        build_preset("stylegan1", 32, pin_gate_init=0.3)
    with pytest.raises(ValueError, match="unknown option"):
        build_preset("stylegan1", 32, colour=1)


def test_channel_counts_follow_the_paper():
    # nf(stage) = min(8192 / 2^stage, 512): 512 up to 32x32, then 256, 128, 64, 32, 16 at 1024x1024.
    assert [feature_maps(s, 8192, 1.0, 512) for s in range(1, 10)] == [512, 512, 512, 512, 256, 128, 64, 32, 16]
    spec = build_preset("stylegan1", 1024)
    assert spec.G.fmap_base == 8192 and spec.G.fmap_max == 512 and spec.G.mapping.num_layers == 8
    G, D = small_nets()
    assert G.synthesis.b4.const.shape == (32, 4, 4) and torch.all(G.synthesis.b4.const == 1)
    assert G.synthesis.b32.conv1.conv.weight.shape[0] == feature_maps(4, 128, 1.0, 32) == 8
    assert D.b4.conv.weight.shape[1] == 32 + 1  # minibatch stddev feature
    assert D.b4.fc.weight.shape == (32, 32 * 16)


def _sub_network(big, cls, config, top):
    """A network at resolution ``top`` holding the big one's weights (names are per resolution)."""
    small = cls(dataclasses.replace(config, img_resolution=top))
    state = big.state_dict()
    missing = [k for k in small.state_dict() if k not in state]
    assert not missing
    small.load_state_dict({k: state[k] for k in small.state_dict()})
    return small


@pytest.mark.parametrize("lod", [1, 2, 3])
def test_generator_at_integer_lod_is_the_lower_resolution_path_upscaled(lod):
    torch.manual_seed(0)
    G, _ = small_nets()
    randomize_noise_weights(G)
    top = 32 >> lod
    small = _sub_network(G.synthesis, type(G.synthesis), G.config, top)
    ws = G.mapping(torch.randn(3, 16), None)
    G.set_lod(lod)
    assert G.lod == lod
    expected = upscale2d(small(ws[:, : small.num_ws], noise_mode="const"), 2**lod)
    torch.testing.assert_close(G.synthesis(ws, noise_mode="const"), expected, rtol=0, atol=1e-6)
    assert G.synthesis.num_active_ws() == 8 - 2 * lod


@pytest.mark.parametrize("lod", [1, 2])
def test_discriminator_at_integer_lod_is_the_lower_resolution_path(lod):
    torch.manual_seed(0)
    _, D = small_nets()
    top = 32 >> lod
    small = _sub_network(D, StyleGAN1Discriminator, D.config, top)
    img = torch.randn(4, 3, top, top)
    D.set_lod(lod)
    torch.testing.assert_close(D(upscale2d(img, 2**lod)), small(img), rtol=1e-5, atol=1e-5)


def test_fractional_lod_cross_fades_linearly_and_continuously():
    torch.manual_seed(0)
    G, D = small_nets()
    randomize_noise_weights(G)
    ws = G.mapping(torch.randn(4, 16), None)

    with torch.no_grad():
        at = {k: G.synthesis(ws, noise_mode="const", lod=k) for k in range(4)}
        for k, f in ((0, 0.5), (1, 0.25), (2, 0.9)):
            mixed = G.synthesis(ws, noise_mode="const", lod=k + f)
            torch.testing.assert_close(mixed, torch.lerp(at[k], at[k + 1], f), rtol=0, atol=1e-5)
        img = torch.randn(4, 3, 32, 32)
        for k in (0, 2):
            torch.testing.assert_close(D(img, lod=k + 1e-6), D(img, lod=k), rtol=0, atol=1e-5)
            torch.testing.assert_close(D(img, lod=k + 1 - 1e-6), D(img, lod=k + 1), rtol=0, atol=1e-5)
    assert not torch.allclose(D(img, lod=0.5), D(img, lod=0))


def test_lod_limits_and_fixed_structure():
    G, D = small_nets()
    for bad in (-0.5, 3.5):
        with pytest.raises(ValueError, match="lod"):
            G.set_lod(bad)
        with pytest.raises(ValueError, match="lod"):
            D.set_lod(bad)
    Gf, Df = small_nets(progressive=False)
    assert Gf.synthesis.b16.torgb is None and Gf.synthesis.b32.torgb is not None
    assert Df.b16.fromrgb is None and Df.b32.fromrgb is not None and Df.b4.fromrgb is None
    with pytest.raises(ValueError, match="fixed"):
        Gf.set_lod(1)
    assert Gf(torch.randn(2, 16)).shape == (2, 3, 32, 32)


def test_save_load_roundtrip_keeps_lod_gates_and_outputs(tmp_path):
    torch.manual_seed(0)
    G, D = small_nets("stylegan1-pin")
    randomize_noise_weights(G)
    with torch.no_grad():
        G.synthesis.b16.conv0.epilogue.norm.gate.uniform_()
    G.set_lod(0.75)
    D.set_lod(0.75)
    z = torch.randn(2, 16)
    for net, x in ((G, z), (D, G(z, noise_mode="const"))):
        path = stylegan.save(net, tmp_path / f"{net.kind}.safetensors")
        loaded = stylegan.load(path)
        assert loaded.config == net.config and loaded.config.__class__ in (
            StyleGAN1GeneratorConfig,
            StyleGAN1DiscriminatorConfig,
        )
        assert loaded.lod.item() == pytest.approx(0.75) if net is D else loaded.lod == pytest.approx(0.75)
        kwargs = {"noise_mode": "const"} if net is G else {}
        torch.testing.assert_close(loaded(x, **kwargs), net.eval()(x, **kwargs))
    loaded = stylegan.load(tmp_path / "stylegan1.generator.safetensors")
    assert torch.equal(loaded.synthesis.b16.conv0.epilogue.norm.gate, G.synthesis.b16.conv0.epilogue.norm.gate)
    assert loaded.config.normalization == "pin"


def test_truncation_with_cutoff_and_w_avg_tracking():
    torch.manual_seed(0)
    G, _ = small_nets()
    z = torch.randn(4, 16)
    G.mapping(z, None, update_emas=True)
    assert G.w_avg.abs().sum() > 0
    ws = G.mapping(z, None)
    wt = G.mapping(z, None, truncation_psi=0.7, truncation_cutoff=2)
    torch.testing.assert_close(wt[:, :2], G.w_avg + 0.7 * (ws[:, :2] - G.w_avg))
    assert torch.equal(wt[:, 2:], ws[:, 2:])
    img = G(z, None, truncation_psi=0.7, truncation_cutoff=2, noise_mode="const")
    torch.testing.assert_close(img, G.synthesis(wt, noise_mode="const"))


def test_style_mixing_routes_styles_per_layer():
    torch.manual_seed(0)
    G, _ = small_nets()
    wa = G.mapping(torch.randn(2, 16), None)
    wb = G.mapping(torch.randn(2, 16), None)
    mixed = mix_styles(wa, wb, 4)  # 4x4 and 8x8 layers from a, the rest from b
    feats = {}
    hook = G.synthesis.b8.register_forward_hook(lambda m, i, o: feats.setdefault(len(feats), o))
    G.synthesis(wa, noise_mode="const")
    G.synthesis(mixed, noise_mode="const")
    hook.remove()
    torch.testing.assert_close(feats[0], feats[1])
    assert not torch.allclose(G.synthesis(mixed, noise_mode="const"), G.synthesis(wa, noise_mode="const"))


def test_noise_modes():
    torch.manual_seed(0)
    G, _ = small_nets()
    ws = G.mapping(torch.randn(2, 16), None)
    assert torch.equal(G.synthesis(ws, noise_mode="const"), G.synthesis(ws, noise_mode="none"))  # weights are 0
    randomize_noise_weights(G)
    const = G.synthesis(ws, noise_mode="const")
    assert not torch.allclose(const, G.synthesis(ws, noise_mode="none"))
    torch.manual_seed(5)
    a = G.synthesis(ws)
    torch.manual_seed(5)
    torch.testing.assert_close(G.synthesis(ws), a)
    assert not torch.allclose(a, const)


def test_gradients_reach_every_pin_gate_and_projection_after_a_step():
    torch.manual_seed(0)
    G, D = small_nets("stylegan1-pin")
    opt = torch.optim.Adam(G.parameters(), lr=0.6)
    loss = torch.nn.functional.softplus(-D(G(torch.randn(4, 16)))).mean()
    loss.backward()
    gates = [m.gate for m in G.modules() if isinstance(m, PixelInstanceNorm)]
    assert all(g.grad is not None and g.grad.abs().sum() > 0 for g in gates)
    opt.step()
    assert any(((g < 0) | (g > 1)).any() for g in gates)
    project_gates_(G)
    assert all(((g >= 0) & (g <= 1)).all() for g in gates)


def test_fused_scale_matches_separate_resampling():
    """Fused upsampling (official conv2d_transpose) is the separate one with each Conv0_up kernel
    rotated by 180 degrees; fused downsampling is the separate one with the same kernel."""
    torch.manual_seed(0)
    G, D = small_nets()
    Gf = StyleGAN1Generator(dataclasses.replace(G.config, fused_scale=True))
    Df = StyleGAN1Discriminator(dataclasses.replace(D.config, fused_scale=True))
    state = {k: v.flip([2, 3]) if k.endswith("conv0.conv.weight") else v for k, v in G.state_dict().items()}
    Gf.load_state_dict(state)
    Df.load_state_dict(D.state_dict())
    assert Gf.synthesis.b8.conv0.conv.fused and not G.synthesis.b8.conv0.conv.fused
    assert Df.b32.conv1.fused and not D.b32.conv1.fused
    z = torch.randn(2, 16)
    img = G(z, noise_mode="const")
    torch.testing.assert_close(Gf(z, noise_mode="const"), img, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(Df(img), D(img), rtol=1e-4, atol=1e-4)
    assert StyleGAN1Generator(
        StyleGAN1GeneratorConfig(img_resolution=128, fmap_base=64, fmap_max=8, z_dim=8, w_dim=8)
    ).synthesis.b128.conv0.conv.fused


def test_discriminator_options():
    torch.manual_seed(0)
    D = StyleGAN1Discriminator(StyleGAN1DiscriminatorConfig(c_dim=3, img_resolution=8, fmap_base=32, fmap_max=16))
    img = torch.randn(4, 3, 8, 8)
    c = torch.eye(3)[[0, 1, 2, 0]]
    out = D(img, c)
    assert out.shape == (4, 1)
    with pytest.raises(ValueError, match="labels"):
        D(img)
    nombstd = StyleGAN1Discriminator(
        StyleGAN1DiscriminatorConfig(img_resolution=8, fmap_base=32, fmap_max=16, mbstd_group_size=1)
    )
    assert nombstd.b4.mbstd is None and nombstd.b4.conv.weight.shape[1] == 16
    with pytest.raises(ValueError, match="shape"):
        nombstd(torch.randn(2, 3, 16, 16))
    # Group size larger than the batch: one group of the whole batch.
    assert D(img[:2], c[:2]).shape == (2, 1)
