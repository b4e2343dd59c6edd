"""Internal representations as RGB (StyleGAN3 Figure 6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylegan.analysis.figures import channels_as_rgb
from stylegan.analysis.representations import default_layers, internals_report
from stylegan.errors import UserError
from stylegan.models import build_preset
from tests.cli.conftest import run_cli
from tests.tools.conftest import build_seeded, tiny_stylegan2


def test_three_channels_become_red_green_blue():
    x = torch.zeros(4, 8, 8)
    x[1, :, 4:] = 5.0  # channel 1: right half high
    x[3] = torch.arange(8.0).expand(8, 8)  # channel 3: a ramp from left to right
    rgb = channels_as_rgb(x, (1, 0, 3), lo_q=0.0, hi_q=1.0)
    assert rgb.shape == (8, 8, 3) and rgb.dtype == np.uint8
    assert (rgb[:, 4:, 0] == 255).all() and (rgb[:, :4, 0] == 0).all()
    assert (rgb[..., 1] == 0).all()  # a constant channel shows as black
    assert list(rgb[0, :, 2]) == [round(255 * k / 7) for k in range(8)]


def tiny_stylegan3():
    return build_seeded(
        build_preset("stylegan3-t", 16, channel_base=256, channel_max=16, map_layers=2, z_dim=8, w_dim=8)
    )


def test_default_layers_skip_rgb_and_repeated_block_outputs():
    layers = default_layers(tiny_stylegan2(16), count=10)
    assert layers == [
        "synthesis.b4.conv1",
        "synthesis.b8.conv0",
        "synthesis.b8.conv1",
        "synthesis.b16.conv0",
        "synthesis.b16.conv1",
    ]
    sg3 = default_layers(tiny_stylegan3(), count=4)
    assert len(sg3) == 4 and sg3[0] == "synthesis.input" and not sg3[-1].endswith("_3")


@pytest.mark.parametrize("make", [lambda: tiny_stylegan2(16), tiny_stylegan3])
def test_report_for_stylegan2_and_3(tmp_path, make):
    G = make()
    summary = internals_report(G, [0, 1], tmp_path, channels=(2, 0, 1), tile=16)
    assert summary["channels"] == [2, 0, 1] and len(summary["layers"]) >= 4
    assert (tmp_path / "internals.png").exists()
    with pytest.raises(UserError, match="channel 99 does not exist"):
        internals_report(G, [0], tmp_path / "b", channels=(0, 1, 99))


def test_cli_internals(tmp_path):
    import stylegan

    tiny_G_path = stylegan.save(tiny_stylegan2(8), tmp_path / "g.safetensors")
    code, out, err = run_cli(
        "analyze",
        "internals",
        "--network",
        tiny_G_path,
        "--seeds",
        "0",
        "--layers",
        "b8.conv1,b4.conv1",
        "--outdir",
        tmp_path / "a",
    )
    assert code == 0, err
    assert out.splitlines()[0].startswith("synthesis.b8.conv1") and (tmp_path / "a" / "internals.png").exists()
    code, _, err = run_cli(
        "analyze", "internals", "--network", tiny_G_path, "--channels", "0,1", "--outdir", tmp_path / "b"
    )
    assert code == 2 and "three channel indices" in err
    code, _, err = run_cli(
        "analyze", "internals", "--network", tiny_G_path, "--layers", "nope", "--outdir", tmp_path / "c"
    )
    assert code == 2 and "no layer named 'nope'" in err


def test_conditional_networks_take_a_class(tmp_path):
    import stylegan

    G = build_seeded(
        build_preset("stylegan2", 8, c_dim=3, channel_base=64, channel_max=8, map_layers=1, z_dim=8, w_dim=8)
    )
    net = stylegan.save(G, tmp_path / "g.safetensors")
    for command in (["internals"], ["contribution"], ["sticking", net, "--frames", "2"]):
        args = ["analyze", *command, *([] if command[0] == "sticking" else ["--network", net]), "--seeds", "0"]
        code, _, err = run_cli(*args, "--outdir", tmp_path / command[0])
        assert code == 2 and "give a class index" in err
        code, _, err = run_cli(*args, "--class", "2", "--outdir", tmp_path / command[0])
        assert code == 0, err
