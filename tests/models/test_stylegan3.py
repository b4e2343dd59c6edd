import math

import numpy as np
import pytest
import torch

from stylegan.errors import UserError
from stylegan.models import build_preset
from stylegan.models.registry import build
from stylegan.models.stylegan3 import (
    StyleGAN3Generator,
    StyleGAN3GeneratorConfig,
    input_transform,
    make_transform,
    synthesis_schedule,
)

RESOLUTIONS = [16, 32, 64, 128, 256, 512, 1024]


def spec_layer(i, res, channel_base, channel_max):
    """The SPEC formulas for layer i of 14 (+ ToRGB), written out one layer at a time."""
    e = min(i / 12, 1)
    f_c = 2 * (res / 4) ** e
    f_t = 2**2.1 * (res / 2 * 2**0.3 / 2**2.1) ** e
    s = 2 ** math.ceil(math.log2(min(2 * f_t, res)))
    f_h = max(f_t, s / 2) - f_c
    size = res if i >= 13 else s + 20
    channels = 3 if i == 14 else round(min(channel_base / 2 / f_c, channel_max))
    return f_c, f_t, s, f_h, size, channels


@pytest.mark.parametrize("res", RESOLUTIONS)
@pytest.mark.parametrize("channel_base,channel_max", [(32768, 512), (65536, 1024)])
def test_schedule_follows_the_formulas(res, channel_base, channel_max):
    sched = synthesis_schedule(res, 3, channel_base, channel_max)
    for i in range(15):
        f_c, f_t, s, f_h, size, channels = spec_layer(i, res, channel_base, channel_max)
        assert sched["cutoffs"][i] == pytest.approx(f_c, rel=1e-12)
        assert sched["stopbands"][i] == pytest.approx(f_t, rel=1e-12)
        assert sched["sampling_rates"][i] == s
        assert sched["half_widths"][i] == pytest.approx(f_h, rel=1e-9, abs=1e-9)
        assert sched["sizes"][i] == size
        assert sched["channels"][i] == channels
    # The last layers are critically sampled at the image resolution, with cutoff res / 2.
    assert sched["sampling_rates"][-1] == res and sched["cutoffs"][-1] == res / 2


@pytest.mark.parametrize("res", [16, 256, 1024])
def test_layers_wire_the_schedule(res):
    """Sizes chain, sampling rates change by integer factors (x4 upsampling where the rate doubles),
    filters have 6 taps per factor and names follow the official L{i}_{size}_{channels}."""
    cfg = StyleGAN3GeneratorConfig(img_resolution=res, channel_base=256, channel_max=8, use_radial_filters=True)
    net = StyleGAN3Generator(cfg).synthesis
    sched = synthesis_schedule(res, 3, 256, 8)
    assert net.input.size == sched["sizes"][0] and net.input.sampling_rate == sched["sampling_rates"][0]
    prev_size = net.input.size
    for i, (name, layer) in enumerate(zip(net.layer_names, net.layers())):
        assert name == f"L{i}_{int(sched['sizes'][i])}_{int(sched['channels'][i])}"
        assert layer.in_size == prev_size
        prev_size = layer.out_size
        if layer.is_torgb:
            assert (layer.up_filter, layer.down_filter, layer.conv_kernel) == (None, None, 1)
            continue
        doubles = layer.out_sampling_rate == 2 * layer.in_sampling_rate
        assert layer.up_factor == (4 if doubles else 2) and layer.down_factor == 2
        assert layer.up_filter.shape == (6 * layer.up_factor,)
        assert layer.down_filter.ndim == (1 if layer.is_critically_sampled else 2)
        assert layer.up_filter.sum().item() == pytest.approx(1, abs=1e-6)
    assert prev_size == res


def small_config(res=16, **kw):
    return StyleGAN3GeneratorConfig(
        z_dim=8, w_dim=8, img_resolution=res, channel_base=128, channel_max=8, num_fp16_res=0, **kw
    )


def test_forward_shapes_noise_modes_and_bad_ws():
    G = StyleGAN3Generator(small_config()).eval()
    with torch.no_grad():
        img = G(torch.randn(2, 8), None)
        assert img.shape == (2, 3, 16, 16) and img.dtype == torch.float32
        for mode in ("random", "const", "none"):
            G.synthesis(torch.zeros(1, 16, 8), noise_mode=mode)
        with pytest.raises(ValueError):
            G.synthesis(torch.zeros(1, 16, 8), noise_mode="loud")
        with pytest.raises(ValueError):
            G.synthesis(torch.zeros(1, 15, 8))


def test_magnitude_ema_tracks_input_magnitude_only_when_asked():
    G = StyleGAN3Generator(small_config(magnitude_ema_beta=0.5))
    layer = G.synthesis.layers()[0]
    seen = {}
    layer.register_forward_pre_hook(lambda m, args: seen.__setitem__("x", args[0].detach().clone()))
    with torch.no_grad():
        G(torch.randn(3, 8), None)
        assert layer.magnitude_ema.item() == 1.0
        G(torch.randn(3, 8), None, update_emas=True)
    expected = 0.5 * seen["x"].square().mean().item() + 0.5 * 1.0
    assert layer.magnitude_ema.item() == pytest.approx(expected, rel=1e-6)


def test_input_gain_normalises_the_input_magnitude():
    """Scaling the input of a layer by k and its magnitude EMA by k^2 leaves the output unchanged."""
    G = StyleGAN3Generator(small_config())
    layer = G.synthesis.layers()[1]
    x = torch.randn(2, layer.in_channels, layer.in_size, layer.in_size)
    w = torch.randn(2, 8)
    with torch.no_grad():
        a = layer(x, w)
        layer.magnitude_ema.fill_(9.0)
        b = layer(3 * x, w)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_make_transform_conventions():
    m = make_transform((0.25, -0.5), 90)
    np.testing.assert_allclose(m, [[0, 1, 0.25], [-1, 0, -0.5], [0, 0, 1]], atol=1e-15)
    inv = input_transform((0.25, -0.5), 90)
    assert inv.dtype == torch.float32
    np.testing.assert_allclose(inv.numpy() @ m, np.eye(3), atol=1e-7)
    np.testing.assert_array_equal(input_transform(), np.eye(3))
    G = StyleGAN3Generator(small_config())
    G.set_transform(translate=(0.125, 0), angle_deg=0)
    assert G.synthesis.input.transform[0, 2].item() == -0.125  # moves the content right by 1/8 image
    G.set_transform()
    assert torch.equal(G.synthesis.input.transform, torch.eye(3))


def test_save_and_load_rebuild_the_same_network(tmp_path):
    from stylegan.io.checkpoint import load, save

    G = StyleGAN3Generator(small_config(use_radial_filters=True, conv_kernel=1)).eval()
    with torch.no_grad():
        G.synthesis.layers()[0].magnitude_ema.fill_(2.5)
    path = tmp_path / "g.safetensors"
    save(G, path)
    G2 = load(path).eval()
    assert G2.config == G.config
    z = torch.randn(2, 8)
    with torch.no_grad():
        torch.testing.assert_close(G2(z, None), G(z, None), atol=0, rtol=0)


@pytest.mark.parametrize("name", ["stylegan3-t", "stylegan3-r"])
def test_presets_build_at_16_and_1024(name):
    is_r = name.endswith("r")
    spec = build_preset(name, 16, channel_max=16, z_dim=16, w_dim=16)
    G, D = spec.build()
    assert (spec.G_kind, spec.D_kind) == ("stylegan3.generator", "stylegan2.discriminator")
    assert G.config.conv_kernel == (1 if is_r else 3) and G.config.use_radial_filters == is_r
    assert G.config.channel_max == (32 if is_r else 16) and spec.D.channel_max == 16
    with torch.no_grad():
        img = G(torch.randn(2, 16), None)
        assert img.shape == (2, 3, 16, 16)
        assert D(img, None).shape == (2, 1)

    spec = build_preset(name, 1024)  # official capacity; built, not run
    assert spec.G.channel_base == (65536 if is_r else 32768) and spec.D.channel_base == 32768
    assert (spec.G.mapping.num_layers, spec.G.mapping.w_avg_beta, spec.G.conv_clamp) == (2, 0.998, 256)
    G = build("stylegan3.generator", spec.G)
    assert (G.num_ws, G.img_resolution) == (16, 1024)
    assert G.synthesis.layer_names[-1] == "L14_1024_3"


def test_preset_rejects_bad_resolutions_and_options():
    with pytest.raises(UserError):
        build_preset("stylegan3-t", 8)
    with pytest.raises(UserError):
        build_preset("stylegan3-r", 48)
    with pytest.raises(ValueError):
        build_preset("stylegan3-t", 64, magic=1)
