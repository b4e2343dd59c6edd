"""StyleGAN2 networks over the official configuration space (shapes, num_ws, architectures)."""

import pytest
import torch

from stylegan.io.official import import_official
from stylegan.models import StyleGAN2Discriminator, StyleGAN2Generator
from stylegan.models.mapping import MappingConfig
from stylegan.models.stylegan2 import StyleGAN2DiscriminatorConfig, StyleGAN2GeneratorConfig


@pytest.mark.parametrize("res", [4, 8, 16, 64])
@pytest.mark.parametrize("arch", ["orig", "skip", "resnet"])
def test_generator_shapes_and_num_ws(res, arch):
    cfg = StyleGAN2GeneratorConfig(
        z_dim=8,
        w_dim=8,
        img_resolution=res,
        channel_base=64,
        channel_max=8,
        architecture=arch,
        mapping=MappingConfig(num_layers=1),
    )
    G = StyleGAN2Generator(cfg)
    log2 = res.bit_length() - 1
    assert G.num_ws == 2 * log2 - 2
    img = G(torch.randn(2, 8), None, noise_mode="random")
    assert img.shape == (2, 3, res, res)


@pytest.mark.parametrize("arch", ["orig", "skip", "resnet"])
@pytest.mark.parametrize("c_dim", [0, 3])
def test_discriminator_shapes(arch, c_dim):
    D = StyleGAN2Discriminator(
        StyleGAN2DiscriminatorConfig(
            c_dim=c_dim, img_resolution=16, img_channels=1, architecture=arch, channel_base=64, channel_max=8
        )
    )
    c = torch.eye(3)[[0, 1, 2, 0]] if c_dim else None
    assert D(torch.randn(4, 1, 16, 16), c).shape == (4, 1)


def test_noise_modes_differ_as_expected():
    G = StyleGAN2Generator(
        StyleGAN2GeneratorConfig(
            z_dim=8, w_dim=8, img_resolution=8, channel_base=64, channel_max=8, mapping=MappingConfig(num_layers=1)
        )
    )
    for name, p in G.named_parameters():
        if name.endswith("noise_strength"):
            p.data.fill_(1.0)
    z = torch.randn(1, 8)
    with torch.no_grad():
        a = G(z, noise_mode="const")
        assert torch.equal(a, G(z, noise_mode="const"))
        assert not torch.equal(G(z, noise_mode="random"), G(z, noise_mode="random"))
        assert not torch.equal(a, G(z, noise_mode="none"))
    with pytest.raises(ValueError, match="noise_mode"):
        G(z, noise_mode="bogus")


def test_truncation_psi_zero_gives_w_avg_and_cutoff():
    G = StyleGAN2Generator(
        StyleGAN2GeneratorConfig(
            z_dim=8, w_dim=8, img_resolution=8, channel_base=64, channel_max=8, mapping=MappingConfig(num_layers=2)
        )
    )
    G.mapping.w_avg.normal_()
    z = torch.randn(3, 8)
    ws = G.mapping(z, None, truncation_psi=0)
    torch.testing.assert_close(ws, G.mapping.w_avg.expand_as(ws))
    ws1 = G.mapping(z, None)
    ws2 = G.mapping(z, None, truncation_psi=0.5, truncation_cutoff=2)
    torch.testing.assert_close(ws2[:, 2:], ws1[:, 2:])
    torch.testing.assert_close(ws2[:, :2], G.mapping.w_avg.lerp(ws1[:, :2], 0.5))


def test_w_avg_tracking():
    G = StyleGAN2Generator(
        StyleGAN2GeneratorConfig(
            z_dim=8,
            w_dim=8,
            img_resolution=4,
            channel_base=64,
            channel_max=8,
            mapping=MappingConfig(num_layers=1, w_avg_beta=0.5),
        )
    )
    z = torch.randn(16, 8)
    w = G.mapping(z, None)[:, 0]
    G.mapping(z, None, update_emas=True)
    torch.testing.assert_close(G.mapping.w_avg, 0.5 * w.mean(0))


@pytest.mark.parametrize("res", [4, 32, 256, 1024])
def test_importer_is_general_over_official_kwargs(res):
    """Build from official-style kwargs at several resolutions; the state dict must round-trip."""
    kwargs = dict(
        z_dim=16,
        c_dim=2,
        w_dim=16,
        img_resolution=res,
        img_channels=1,
        mapping_kwargs=dict(num_layers=3),
        channel_base=4096,
        channel_max=16,
        num_fp16_res=2,
        conv_clamp=256,
        architecture="orig",
    )
    ref = StyleGAN2Generator(
        StyleGAN2GeneratorConfig(
            z_dim=16,
            c_dim=2,
            w_dim=16,
            img_resolution=res,
            img_channels=1,
            channel_base=4096,
            channel_max=16,
            num_fp16_res=2,
            conv_clamp=256,
            architecture="orig",
            mapping=MappingConfig(num_layers=3),
        )
    )
    G = import_official("training.networks_stylegan2.Generator", kwargs, ref.state_dict())
    assert G.num_ws == ref.num_ws
    z = torch.randn(2, 16)
    c = torch.eye(2)
    torch.testing.assert_close(G(z, c, noise_mode="const"), ref(z, c, noise_mode="const"))


def test_stylegan2_ada_pytorch_kwargs_layout():
    kwargs = dict(
        z_dim=8,
        c_dim=0,
        w_dim=8,
        img_resolution=8,
        img_channels=3,
        mapping_kwargs=dict(num_layers=2),
        synthesis_kwargs=dict(channel_base=64, channel_max=8, num_fp16_res=0, conv_clamp=None),
    )
    ref = StyleGAN2Generator(
        StyleGAN2GeneratorConfig(
            z_dim=8,
            w_dim=8,
            img_resolution=8,
            channel_base=64,
            channel_max=8,
            num_fp16_res=0,
            conv_clamp=None,
            mapping=MappingConfig(num_layers=2),
        )
    )
    G = import_official("training.networks.Generator", kwargs, ref.state_dict())
    assert G.config.channel_base == 64
