"""stylegan generate --translate X,Y --rotate DEG (StyleGAN3 networks only)."""

import numpy as np
import pytest
import torch
from PIL import Image

import stylegan
from stylegan.models import build_preset
from stylegan.tools.generate import generate_images
from tests.cli.conftest import run_cli


@pytest.fixture(scope="module")
def tiny_sg3_path(tmp_path_factory):
    torch.manual_seed(0)
    spec = build_preset("stylegan3-t", 16, channel_base=64, channel_max=4, z_dim=8, w_dim=8)
    G, _ = spec.build()
    return stylegan.save(G, tmp_path_factory.mktemp("nets") / "g3.safetensors")


def png(path):
    return np.asarray(Image.open(path))


def test_translate_and_rotate_move_the_content(tiny_sg3_path, tmp_path):
    code, _, err = run_cli("generate", "--network", tiny_sg3_path, "--seeds", "3", "--outdir", tmp_path / "plain")
    assert code == 0, err
    code, _, err = run_cli(
        "generate",
        "--network",
        tiny_sg3_path,
        "--seeds",
        "3",
        "--outdir",
        tmp_path / "moved",
        "--translate",
        "0.25,-0.125",
        "--rotate",
        "30",
    )
    assert code == 0, err
    moved = png(tmp_path / "moved" / "seed0003.png")
    assert not np.array_equal(moved, png(tmp_path / "plain" / "seed0003.png"))

    # The PNG is what the generator makes with the gen_images.py transform, and G is left as it was.
    G = stylegan.load(tiny_sg3_path)
    G.set_transform(translate=(0.25, -0.125), angle_deg=30)
    ref = generate_images(G, [3])
    expected = (ref * 127.5 + 128).clamp(0, 255).byte()[0].permute(1, 2, 0).numpy()
    assert np.array_equal(moved, expected)
    G.set_transform()
    generate_images(G, [3], translate=(0.1, 0.0), rotate=5.0)
    assert torch.equal(G.synthesis.input.transform, torch.eye(3))


def test_whole_pixel_translation_shifts_the_image(tiny_sg3_path, tmp_path):
    """A random StyleGAN3-T is close to shift-equivariant in the image interior."""
    G = stylegan.load(tiny_sg3_path)
    plain = generate_images(G, [1, 2])
    moved = generate_images(G, [1, 2], translate=(2 / 16, 0))
    err = (moved[..., 4:-4, 6:-2] - plain[..., 4:-4, 4:-4]).abs().mean()
    assert err < 0.25 * plain.abs().mean()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--translate", "0.1"], "--translate must be two numbers"),
        (["--translate", "a,b"], "--translate must be two numbers"),
        (["--rotate", "nan"], "finite"),
    ],
)
def test_bad_transform_values(tiny_sg3_path, tmp_path, args, message):
    code, out, err = run_cli("generate", "--network", tiny_sg3_path, "--seeds", "1", "--outdir", tmp_path, *args)
    assert code == 2 and message in err and "Traceback" not in out + err


def test_transform_options_need_a_stylegan3_network(tiny_generator_path, tmp_path):
    for args in (["--translate", "0.1,0"], ["--rotate", "10"]):
        code, _, err = run_cli(
            "generate", "--network", tiny_generator_path, "--seeds", "1", "--outdir", tmp_path, *args
        )
        assert code == 2 and "need a StyleGAN3 network" in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_rendering_saved_ws_takes_the_transform_too(tiny_sg3_path):
    from stylegan.tools.generate import render_ws

    G = stylegan.load(tiny_sg3_path)
    ws = G.mapping(torch.randn(2, G.z_dim), None)
    moved = render_ws(G, ws, translate=(0.1, 0.2), rotate=-15.0)
    G.set_transform(translate=(0.1, 0.2), angle_deg=-15.0)
    with torch.no_grad():
        assert torch.equal(moved, G.synthesis(ws))
