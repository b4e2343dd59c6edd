"""rosinality/stylegan2-pytorch checkpoints: names, layouts and numbers."""

import argparse
import os

import pytest
import torch

from stylegan.errors import CheckpointError
from stylegan.io import detect_format, load_network, load_networks
from stylegan.io.rosinality import convert_discriminator, convert_generator
from stylegan.models import StyleGAN2Discriminator, StyleGAN2Generator
from stylegan.models.mapping import MappingConfig
from stylegan.models.stylegan2 import StyleGAN2DiscriminatorConfig, StyleGAN2GeneratorConfig
from tests.io import rosinality_reference as ref
from tests.io.malicious import Payload

COMMON = dict(img_resolution=16, channel_base=128, channel_max=16, num_fp16_res=0, conv_clamp=None)


def perturbed(module, seed):
    """Random weights where every parameter matters (biases, noise strengths, style biases, w_avg)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen))
        if hasattr(module, "mapping") and hasattr(module.mapping, "w_avg"):
            module.mapping.w_avg.copy_(torch.randn(module.mapping.w_avg.shape, generator=gen))
    return module.eval()


@pytest.fixture(scope="module")
def nets():
    G = perturbed(
        StyleGAN2Generator(
            StyleGAN2GeneratorConfig(
                z_dim=16, w_dim=16, mapping=MappingConfig(num_layers=2, w_avg_beta=0.995), **COMMON
            )
        ),
        1,
    )
    D = perturbed(StyleGAN2Discriminator(StyleGAN2DiscriminatorConfig(mbstd_group_size=4, **COMMON)), 2)
    return G, D, ref.generator_state(G), ref.discriminator_state(D)


def test_round_trip_through_the_rosinality_layout(nets):
    G, D, gsd, dsd = nets
    G2 = convert_generator(gsd, latent_avg=G.mapping.w_avg)
    D2 = convert_discriminator(dsd)
    assert G2.config == G.config and D2.config == D.config
    for a, b in ((G, G2), (D, D2)):
        sa, sb = a.state_dict(), b.state_dict()
        assert list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_imported_networks_compute_what_rosinality_computes(nets):
    G, D, gsd, dsd = nets
    G2 = convert_generator(gsd, latent_avg=G.mapping.w_avg)
    D2 = convert_discriminator(dsd)
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        w_ref = ref.mapping(gsd, z)
        assert (G2.mapping(z, None)[:, 0] - w_ref).abs().max() < 1e-6
        latent = w_ref.unsqueeze(1).repeat(1, G2.num_ws, 1)
        img_ref = ref.generator(gsd, latent)
        assert img_ref.abs().mean() > 0.1  # a non-trivial image
        assert (G2.synthesis(latent, noise_mode="const") - img_ref).abs().max() < 1e-5
        # rosinality truncation: truncation_latent + psi * (style - truncation_latent), all layers.
        avg = G.mapping.w_avg
        trunc_ref = ref.generator(gsd, (avg + 0.7 * (w_ref - avg)).unsqueeze(1).repeat(1, G2.num_ws, 1))
        assert (G2(z, None, truncation_psi=0.7, noise_mode="const") - trunc_ref).abs().max() < 1e-5
        for batch in (4, 2):
            imgs = torch.randn(batch, 3, 16, 16, generator=torch.Generator().manual_seed(batch))
            logits_ref = ref.discriminator(dsd, imgs)
            assert (D2(imgs) - logits_ref).abs().max() < 1e-5


def adam_state(num):
    p = torch.nn.Parameter(torch.randn(num))
    opt = torch.optim.Adam([p], lr=0.002, betas=(0.0, 0.99))
    p.sum().backward()
    opt.step()
    return opt.state_dict()


def train_checkpoint(nets, path, **extra):
    G, D, gsd, dsd = nets
    args = argparse.Namespace(
        arch="stylegan2",
        size=16,
        latent=16,
        n_mlp=2,
        channel_multiplier=2,
        r1=10.0,
        path="data/lmdb",
        iter=800000,
        batch=16,
    )
    ema_sd = {k: v + 0.01 if v.is_floating_point() and "kernel" not in k else v for k, v in gsd.items()}
    ckpt = {
        "g": gsd,
        "d": dsd,
        "g_ema": ema_sd,
        "g_optim": adam_state(5),
        "d_optim": adam_state(3),
        "args": args,
        "ada_aug_p": 0.25,
        **extra,
    }
    torch.save(ckpt, path)
    return ckpt


def test_training_checkpoint_loads_with_every_network(nets, tmp_path):
    path = tmp_path / "100000.pt"
    ckpt = train_checkpoint(nets, path)
    assert detect_format(path) == "torch"
    loaded = load_networks(path)
    assert sorted(loaded) == ["D", "G", "G_ema"]
    G = load_network(path, "G")  # g_ema
    assert torch.equal(G.synthesis.b16.conv1.weight, ckpt["g_ema"]["convs.3.conv.weight"][0])
    assert torch.equal(loaded["G"].synthesis.b16.conv1.weight, ckpt["g"]["convs.3.conv.weight"][0])
    assert load_network(path, "D").kind == "stylegan2.discriminator"
    # No latent_avg in training checkpoints: w_avg is estimated from mapped samples.
    with torch.no_grad():
        w = G.mapping(torch.randn(20000, 16, generator=torch.Generator().manual_seed(7)), None)[:, 0]
    assert (G.mapping.w_avg - w.mean(0)).abs().max() < 5 * w.std(0).max() / 100


def test_converted_official_weights_use_latent_avg(nets, tmp_path):
    G, _, gsd, _ = nets
    path = tmp_path / "stylegan2-ffhq-config-f.pt"
    torch.save({"g_ema": gsd, "latent_avg": G.mapping.w_avg.clone()}, path)
    G2 = load_network(path)
    assert torch.equal(G2.mapping.w_avg, G.mapping.w_avg)
    with pytest.raises(CheckpointError, match="holds no discriminator"):
        load_network(path, "D")


def test_checkpoints_without_noise_buffers_get_fixed_noise(nets):
    gsd = {k: v for k, v in nets[2].items() if not k.startswith("noises.")}
    a, b = convert_generator(gsd), convert_generator(gsd)
    assert torch.equal(a.synthesis.b8.conv0.noise_const, b.synthesis.b8.conv0.noise_const)


def test_unsupported_checkpoints_are_named(nets, tmp_path):
    _, _, gsd, dsd = nets
    with pytest.raises(CheckpointError, match="does not understand: to_rgbs.0.iwt.ll"):
        convert_generator({**gsd, "to_rgbs.0.iwt.ll": torch.zeros(1, 1, 2, 2)})
    with pytest.raises(CheckpointError, match="'final_conv.1.bias' is missing"):
        convert_discriminator({k: v for k, v in dsd.items() if k != "final_conv.1.bias"})
    path = tmp_path / "swagan.pt"
    torch.save({"g_ema": gsd, "args": argparse.Namespace(arch="swagan")}, path)
    with pytest.raises(CheckpointError, match="'swagan' is not supported"):
        load_network(path)
    torch.save({"model": {"weight": torch.zeros(2)}}, path)
    with pytest.raises(CheckpointError, match="not a rosinality"):
        load_network(path)


def test_hostile_and_damaged_torch_files(nets, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"g_ema": nets[2], "args": Payload(os.system, f"touch {marker}")}, path)
    with pytest.raises(CheckpointError, match="system"):
        load_network(path)
    assert not marker.exists()
    good = tmp_path / "good.pt"
    train_checkpoint(nets, good)
    data = good.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 10):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            load_network(path)
