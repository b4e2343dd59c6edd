import json

import numpy as np
import pytest
from PIL import Image

import stylegan
from stylegan.tools.generate import generate_images
from stylegan.utils.seeds import parse_seeds
from tests.cli.conftest import run_cli


def test_generate_writes_one_png_per_seed_and_grid(tiny_generator_path, tmp_path):
    code, out, err = run_cli(
        "generate", "--network", tiny_generator_path, "--seeds", "0-2,7", "--trunc", "0.7", "--outdir", tmp_path
    )
    assert code == 0, err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["grid.png", "seed0000.png", "seed0001.png", "seed0002.png", "seed0007.png"]
    img = np.asarray(Image.open(tmp_path / "seed0007.png"))
    assert img.shape == (16, 16, 3)
    # The PNG is the generator's output for that seed.
    G = stylegan.load(tiny_generator_path)
    ref = generate_images(G, [7], truncation_psi=0.7)
    expected = (ref * 127.5 + 128).clamp(0, 255).byte()[0].permute(1, 2, 0).numpy()
    assert np.array_equal(img, expected)
    assert np.asarray(Image.open(tmp_path / "grid.png")).shape == (32, 32, 3)


def test_conditional_generation_needs_a_valid_class(tiny_conditional_generator_path, tmp_path):
    code, _, err = run_cli(
        "generate",
        "--network",
        tiny_conditional_generator_path,
        "--seeds",
        "1",
        "--class",
        "2",
        "--outdir",
        tmp_path,
        "--noise-mode",
        "random",
    )
    assert code == 0, err
    code, _, err = run_cli(
        "generate", "--network", tiny_conditional_generator_path, "--seeds", "1", "--outdir", tmp_path
    )
    assert code == 2 and "conditional" in err
    code, _, err = run_cli(
        "generate", "--network", tiny_conditional_generator_path, "--seeds", "1", "--class", "3", "--outdir", tmp_path
    )
    assert code == 2 and "outside" in err


@pytest.mark.parametrize(
    "args,message",
    [
        (["--seeds", "1-x"], "malformed seed list"),
        (["--seeds", "5-2"], "backwards"),
        (["--seeds", "1", "--trunc", "2.5"], "within [-2, 2]"),
        (["--seeds", "1", "--class", "0"], "unconditional"),
        (["--seeds", "1", "--noise-mode", "loud"], "noise-mode"),
    ],
)
def test_generate_bad_input_is_one_clear_line(tiny_generator_path, tmp_path, args, message):
    code, out, err = run_cli("generate", "--network", tiny_generator_path, "--outdir", tmp_path, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_bad_network_files(tmp_path):
    code, _, err = run_cli(
        "generate", "--network", tmp_path / "missing.safetensors", "--seeds", "1", "--outdir", tmp_path
    )
    assert code == 2 and "not found" in err
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x00garbage" * 10)
    code, _, err = run_cli("info", junk)
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1


def test_info(tiny_generator_path):
    code, out, _ = run_cli("info", tiny_generator_path)
    assert code == 0
    assert "stylegan2.generator" in out and "mapping" in out and "resolutions  4, 8, 16" in out
    code, out, _ = run_cli("info", tiny_generator_path, "--json")
    info = json.loads(out)
    assert info["num_ws"] == 6 and info["config"]["img_resolution"] == 16
    assert info["total_parameters"] == sum(info["parameters"].values())


def test_parse_seeds():
    assert parse_seeds("0-3,9") == [0, 1, 2, 3, 9]
    assert parse_seeds(" 5 ") == [5]


def test_help_lists_commands():
    code, out, _ = run_cli("--help")
    assert code == 0 and "generate" in out and "info" in out


def test_generate_compile_flag_gives_the_same_images(tiny_generator_path, tmp_path, monkeypatch):
    """``--compile`` wraps the generator; where compiling is unavailable (here: switched off) it
    runs eagerly and writes the same images."""
    monkeypatch.setenv("STYLEGAN_COMPILE", "0")
    code, _, err = run_cli("generate", "--network", tiny_generator_path, "--seeds", "3", "--outdir", tmp_path / "a")
    assert code == 0, err
    code, _, err = run_cli(
        "generate", "--network", tiny_generator_path, "--seeds", "3", "--compile", "--outdir", tmp_path / "b"
    )
    assert code == 0, err
    a = np.asarray(Image.open(tmp_path / "a" / "seed0003.png"))
    assert np.array_equal(a, np.asarray(Image.open(tmp_path / "b" / "seed0003.png")))
