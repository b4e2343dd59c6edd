import pytest
import torch

import stylegan
from stylegan.errors import CheckpointError
from stylegan.models import StyleGAN2Discriminator, StyleGAN2Generator
from stylegan.models.mapping import MappingConfig
from stylegan.models.stylegan2 import StyleGAN2DiscriminatorConfig, StyleGAN2GeneratorConfig


def small_g(**kw):
    return StyleGAN2Generator(
        StyleGAN2GeneratorConfig(
            z_dim=8,
            c_dim=2,
            w_dim=8,
            img_resolution=8,
            channel_base=64,
            channel_max=8,
            mapping=MappingConfig(num_layers=2),
            **kw,
        )
    )


def test_generator_round_trip(tmp_path):
    G = small_g(architecture="resnet")
    G.mapping.w_avg.normal_()
    path = stylegan.save(G, tmp_path / "g.safetensors")
    G2 = stylegan.load(path)
    assert type(G2) is type(G) and G2.config == G.config
    for (k, a), (_, b) in zip(G.state_dict().items(), G2.state_dict().items()):
        assert torch.equal(a, b), k
    z, c = torch.randn(2, 8), torch.eye(2)
    torch.testing.assert_close(G.eval()(z, c, noise_mode="const"), G2(z, c, noise_mode="const"), rtol=0, atol=0)


def test_discriminator_round_trip(tmp_path):
    D = StyleGAN2Discriminator(
        StyleGAN2DiscriminatorConfig(img_resolution=8, channel_base=64, channel_max=8, mbstd_group_size=2)
    )
    D2 = stylegan.load(stylegan.save(D, tmp_path / "d.safetensors"))
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(D(x), D2(x), rtol=0, atol=0)


def test_bad_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        stylegan.load(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError):
        stylegan.load(junk)
    G = small_g()
    path = stylegan.save(G, tmp_path / "g.safetensors")
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        stylegan.load(cut)
    with pytest.raises(CheckpointError, match="directory"):
        stylegan.load(tmp_path)


def test_plain_safetensors_is_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(2)}, tmp_path / "plain.safetensors")
    with pytest.raises(CheckpointError, match="not a stylegan checkpoint"):
        stylegan.load(tmp_path / "plain.safetensors")
