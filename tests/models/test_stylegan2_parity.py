"""StyleGAN2 networks against the official implementation's outputs (../shared/reference)."""

import pytest
import torch

from stylegan.io import import_official
from stylegan.models import mix_styles
from tests.conftest import load_reference

CASES = ["sg2_uncond", "sg2_cond"]
ATOL_IMG = 1e-5
ATOL_WS = 1e-6


def networks(case):
    d = load_reference(case)
    G = import_official(d["class"]["G"], d["init_kwargs"]["G"], d["G_state"])
    D = import_official(d["class"]["D"], d["init_kwargs"]["D"], d["D_state"])
    return d, G, D


def max_diff(a, b):
    return (a - b).abs().max().item()


@pytest.mark.parametrize("case", CASES)
def test_mapping_and_images_for_every_truncation_and_noise_mode(case):
    d, G, _ = networks(case)
    z, c = d["inputs"]["z"], d["inputs"]["c"]
    assert G.num_ws == d["num_ws"]
    with torch.no_grad():
        for t in d["outputs"]["trunc"]:
            ws = G.mapping(z, c, truncation_psi=t["psi"], truncation_cutoff=t["cutoff"])
            assert max_diff(ws, t["ws"]) < ATOL_WS
            for mode in ("const", "none"):
                assert max_diff(G.synthesis(t["ws"], noise_mode=mode), t[f"img_{mode}"]) < ATOL_IMG
            img = G(z, c, truncation_psi=t["psi"], truncation_cutoff=t["cutoff"], noise_mode="const")
            assert max_diff(img, t["img_full"]) < ATOL_IMG


@pytest.mark.parametrize("case", CASES)
def test_unfused_modconv_path(case):
    d, G, _ = networks(case)
    with torch.no_grad():
        img = G.synthesis(d["outputs"]["trunc"][0]["ws"], noise_mode="const", fused_modconv=False)
    assert max_diff(img, d["outputs"]["img_const_unfused"]) < ATOL_IMG


@pytest.mark.parametrize("case", CASES)
def test_style_mixing(case):
    d, G, _ = networks(case)
    mix = d["outputs"]["mix"]
    ws = d["outputs"]["trunc"][0]["ws"]
    mixed = mix_styles(ws, ws[list(mix["perm"])], mix["k"])
    assert max_diff(mixed, mix["ws"]) == 0
    with torch.no_grad():
        assert max_diff(G.synthesis(mixed, noise_mode="const"), mix["img"]) < ATOL_IMG


@pytest.mark.parametrize("case", CASES)
def test_block_intermediates(case):
    d, G, _ = networks(case)
    captured = {}

    def hook(name):
        def fn(module, inputs, output):
            outs = output if isinstance(output, tuple) else (output,)
            for i, o in enumerate(outs):
                key = f"{name}#out{i}" if isinstance(output, tuple) else name
                if o is not None:
                    captured[key] = o[0, :4].detach()

        return fn

    for name, module in G.synthesis.named_modules():
        if name:
            module.register_forward_hook(hook(name))
    with torch.no_grad():
        G.synthesis(d["outputs"]["trunc"][0]["ws"], noise_mode="const")
    for key, ref in d["outputs"]["G_intermediates"].items():
        assert max_diff(captured[key], ref) < ATOL_IMG, key


@pytest.mark.parametrize("case", CASES)
def test_discriminator_logits_and_r1(case):
    d, _, D = networks(case)
    o = d["outputs"]["D"]
    c = d["inputs"]["c"]
    img = d["inputs"]["img_real"].clone().requires_grad_(True)
    logits = D(img, c)
    assert max_diff(logits, o["logits_real"]) < ATOL_IMG
    (grads,) = torch.autograd.grad(logits.sum(), img)
    assert max_diff(grads, o["r1_grads"]) < ATOL_IMG
    assert max_diff(grads.square().sum([1, 2, 3]), o["r1_penalty"]) < ATOL_IMG
    with torch.no_grad():
        assert max_diff(D(d["outputs"]["trunc"][0]["img_const"], c), o["logits_fake"]) < ATOL_IMG


@pytest.mark.parametrize("case", CASES)
def test_path_length(case):
    d, G, _ = networks(case)
    pl = d["outputs"]["pl"]
    ws = pl["ws"].clone().requires_grad_(True)
    img = G.synthesis(ws, noise_mode="const")
    (grads,) = torch.autograd.grad((img * pl["y"]).sum(), ws, create_graph=True)
    lengths = grads.square().sum(2).mean(1).sqrt()
    assert max_diff(grads, pl["pl_grads"]) < ATOL_IMG
    assert max_diff(lengths, pl["pl_lengths"]) < ATOL_IMG
    lengths.sum().backward()  # second order through the whole synthesis network
    assert all(p.grad is not None for p in [G.synthesis.b4.conv1.weight])


def test_unsupported_kwarg_is_named():
    from stylegan.errors import CheckpointError

    d = load_reference("sg2_uncond")
    kwargs = dict(d["init_kwargs"]["G"], magic_option=3)
    with pytest.raises(CheckpointError, match="magic_option"):
        import_official(d["class"]["G"], kwargs, d["G_state"])
    kwargs = dict(d["init_kwargs"]["G"], mapping_kwargs={"num_layers": 2, "odd": 1})
    with pytest.raises(CheckpointError, match="mapping_kwargs.odd"):
        import_official(d["class"]["G"], kwargs, d["G_state"])
