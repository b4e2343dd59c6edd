import json

import numpy as np
import pytest
import torch
from PIL import Image

import stylegan
from stylegan.models import build_preset
from tests.cli.conftest import run_cli
from tests.tools.conftest import build_seeded

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def g8(tmp_path_factory):
    """An 8 px random StyleGAN2 generator file (4 ws)."""
    spec = build_preset("stylegan2", 8, channel_base=64, channel_max=8, map_layers=2, z_dim=8, w_dim=8)
    return stylegan.save(build_seeded(spec), tmp_path_factory.mktemp("nets") / "g8.safetensors")


def test_mix(g8, tmp_path):
    out = tmp_path / "mix.png"
    code, stdout, err = run_cli(
        "mix", "--network", g8, "--rows", "1-3", "--cols", "4,5", "--styles", "0-1", "--output", out
    )
    assert code == 0, err
    assert np.asarray(Image.open(out)).shape == (32, 24, 3) and "styles 0-1 of 4 ws" in stdout
    again = ("mix", "--network", g8, "--rows", "1", "--cols", "2", "--coarse", "--fine", "--output", out)
    code, stdout, err = run_cli(*again)
    assert code == 2 and "exists; pass --force" in err  # a named output file is replaced only with --force
    code, stdout, err = run_cli(*again, "--force")
    assert code == 0 and "styles 0,2-3" in stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["--styles", "0-9"], "out of range"),
        (["--styles", "0", "--fine"], "not both"),
        (["--rows", "x"], "malformed seed list"),
    ],
)
def test_mix_errors(g8, tmp_path, args, message):
    base = {"--rows": "1", "--cols": "2"}
    for i in range(0, len(args) - 1, 2):
        base.pop(args[i], None)
    flat = [a for kv in base.items() for a in kv]
    code, out, err = run_cli("mix", "--network", g8, *flat, *args, "--output", tmp_path / "m.png")
    assert code == 2 and message in err and "Traceback" not in err + out


def test_video(g8, tmp_path):
    out = tmp_path / "v.mp4"
    code, stdout, err = run_cli(
        "video",
        "--network",
        g8,
        "--seeds",
        "0-3",
        "--grid",
        "2x1",
        "--frames-per-seed",
        "2",
        "--space",
        "z",
        "--trunc",
        "0.7",
        "--output",
        out,
    )
    assert code == 0, err
    assert out.stat().st_size > 0 and str(out) in stdout


def test_video_stylegan3_translate_rotate(tmp_path):
    spec = build_preset("stylegan3-t", 16, channel_base=256, channel_max=16, map_layers=2, z_dim=8, w_dim=8)
    path = stylegan.save(spec.build()[0], tmp_path / "sg3.safetensors")
    out = tmp_path / "move.gif"
    code, _, err = run_cli(
        "video",
        "--network",
        path,
        "--seeds",
        "3",
        "--frames-per-seed",
        "4",
        "--translate",
        "0.1,-0.1",
        "--rotate",
        "15",
        "--output",
        out,
    )
    assert code == 0, err
    assert Image.open(out).n_frames == 4


@pytest.mark.parametrize(
    "args,message",
    [
        (["--seeds", "0-2", "--grid", "2x1"], "multiple of the grid"),
        (["--seeds", "0-1", "--translate", "0.1,0"], "only StyleGAN3"),
        (["--seeds", "0-1", "--translate", "0.1"], "two numbers"),
        (["--seeds", "0-1", "--grid", "2by2"], "WxH"),
        (["--seeds", "0-1", "--output", "x.avi"], ".mp4 or .gif"),
    ],
)
def test_video_errors(g8, tmp_path, args, message):
    code, out, err = run_cli("video", "--network", g8, "--output", tmp_path / "v.mp4", *args)
    assert code == 2 and message in err and "Traceback" not in err + out


def test_project_then_generate_from_the_saved_w(g8, tmp_path):
    code, _, err = run_cli("generate", "--network", g8, "--seeds", "11", "--outdir", tmp_path / "gen")
    assert code == 0, err
    target = tmp_path / "gen" / "seed0011.png"
    outdir = tmp_path / "proj"
    code, stdout, err = run_cli(
        "project",
        "--network",
        g8,
        "--target",
        target,
        "--outdir",
        outdir,
        "--steps",
        "40",
        "--w-avg-samples",
        "200",
        "--distance",
        "mse",
        "--w-plus",
        "--save-video",
    )
    assert code == 0, err
    names = sorted(p.name for p in outdir.iterdir())
    assert names == ["proj.mp4", "proj.png", "projected_w.npz", "projection.json", "side_by_side.png", "target.png"]
    summary = json.loads((outdir / "projection.json").read_text())
    assert summary["mode"] == "w+" and summary["distance"] == "mse" and summary["steps"] == 40
    assert summary["final"]["distance"] < summary["per_step"]["distance"][0] / 5
    with np.load(outdir / "projected_w.npz") as data:
        assert data["w"].shape == (4, 8)
    # generate --projected-w renders exactly proj.png.
    code, _, err = run_cli(
        "generate", "--network", g8, "--projected-w", outdir / "projected_w.npz", "--outdir", tmp_path / "again"
    )
    assert code == 0, err
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "again" / "proj0000.png")), np.asarray(Image.open(outdir / "proj.png"))
    )


def test_project_with_the_probe_distance(g8, tmp_path):
    """--distance probe end to end, with a probe file of random weights (the shipped one where present)."""
    from stylegan.metrics import probe

    code, _, err = run_cli("generate", "--network", g8, "--seeds", "2", "--outdir", tmp_path)
    assert code == 0, err
    torch.manual_seed(0)
    weights = tmp_path / "probe.safetensors"
    probe.save_probe(probe.ToyfacesProbe(probe.ProbeHeads.toyfaces()), weights)
    runs = [["--distance-weights", weights]] + ([[]] if probe.WEIGHTS.is_file() else [])
    for extra in runs:
        outdir = tmp_path / f"proj{len(extra)}"
        code, _, err = run_cli(
            "project",
            "--network",
            g8,
            "--target",
            tmp_path / "seed0002.png",
            "--outdir",
            outdir,
            "--steps",
            "20",
            "--w-avg-samples",
            "100",
            "--distance",
            "probe",
            *extra,
        )
        assert code == 0, err
        summary = json.loads((outdir / "projection.json").read_text())
        assert summary["distance"] == "probe"
        assert summary["final"]["distance"] < summary["per_step"]["distance"][0] / 2


def test_project_errors(g8, tmp_path):
    (tmp_path / "bad.png").write_text("no image here")
    code, out, err = run_cli("project", "--network", g8, "--target", tmp_path / "bad.png", "--outdir", tmp_path)
    assert code == 2 and "not a readable image" in err and "Traceback" not in err + out
    code, out, err = run_cli("project", "--network", g8, "--target", tmp_path / "none.png", "--outdir", tmp_path)
    assert code == 2 and "not found" in err
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "ok.png")
    code, out, err = run_cli(
        "project", "--network", g8, "--target", tmp_path / "ok.png", "--outdir", tmp_path, "--distance", "cosine"
    )
    assert code == 2 and "--distance" in err
    code, out, err = run_cli(
        "project",
        "--network",
        g8,
        "--target",
        tmp_path / "ok.png",
        "--outdir",
        tmp_path,
        "--distance",
        "lpips",
        "--distance-weights",
        tmp_path / "missing-vgg16.pt",
    )
    assert code == 2 and "not found" in err and "Traceback" not in err + out


def test_generate_projected_w_errors(g8, tmp_path):
    np.savez(tmp_path / "wrong.npz", w=np.zeros((3, 8), np.float32))
    np.savez(tmp_path / "nokey.npz", x=np.zeros((1, 8), np.float32))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    np.savez(tmp_path / "ok.npz", w=np.zeros((2, 4, 8), np.float32))
    cases = [
        (["--projected-w", tmp_path / "wrong.npz"], "has shape [3, 8]; this network needs [4, 8]"),
        (["--projected-w", tmp_path / "nokey.npz"], "no array named 'w'"),
        (["--projected-w", tmp_path / "junk.npz"], "not a readable .npz"),
        (["--projected-w", tmp_path / "missing.npz"], "not found"),
        (["--projected-w", tmp_path / "ok.npz", "--seeds", "1"], "either --seeds or --projected-w"),
        ([], "either --seeds or --projected-w"),
        (["--projected-w", tmp_path / "ok.npz", "--trunc", "0.5"], "apply to seeds"),
    ]
    for args, message in cases:
        code, out, err = run_cli("generate", "--network", g8, "--outdir", tmp_path / "out", *args)
        assert code == 2 and message in err and "Traceback" not in err + out, (args, err)
    code, _, err = run_cli(
        "generate", "--network", g8, "--outdir", tmp_path / "out", "--projected-w", tmp_path / "ok.npz"
    )
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["grid.png", "proj0000.png", "proj0001.png"]


def test_spectra(g8, tmp_path):
    code, stdout, err = run_cli(
        "spectra", "--network", g8, "--num", "6", "--batch", "4", "--interp", "2", "--outdir", tmp_path
    )
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heatmap_generated.png", "slices.png", "spectra.npz"]
    with np.load(tmp_path / "spectra.npz") as data:
        assert data["generated"].shape == (16, 16)
    code, _, err = run_cli("spectra", "--outdir", tmp_path)
    assert code == 2 and "--network, --data" in err


def test_spectra_of_a_network_and_a_dataset(tiny_generator_path, tmp_path):
    code, stdout, err = run_cli(
        "spectra",
        "--network",
        tiny_generator_path,
        "--data",
        "toyfaces",
        "--num",
        "3",
        "--interp",
        "1",
        "--outdir",
        tmp_path,
    )
    assert code == 0, err
    assert "generated 3, dataset 3" in stdout
    with np.load(tmp_path / "spectra.npz") as data:
        assert data["generated"].shape == data["dataset"].shape == (16, 16)
    code, _, err = run_cli("spectra", "--data", "toyfaces", "--outdir", tmp_path)
    assert code == 2 and "resolution" in err
    code, _, err = run_cli("spectra", "--network", tiny_generator_path, "--resolution", "32", "--outdir", tmp_path)
    assert code == 2 and "differs" in err


def test_help_lists_the_tools():
    code, out, _ = run_cli("--help")
    assert code == 0 and all(name in out for name in ("mix", "video", "project", "spectra"))
