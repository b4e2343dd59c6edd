import json

import numpy as np
import pytest
import torch
from PIL import Image

from stylegan.editing.directions import load_direction
from tests.cli.conftest import run_cli


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def sefa_file(tiny_generator_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("dirs") / "sefa.safetensors"
    code, stdout, err = run_cli(
        "directions",
        "--network",
        tiny_generator_path,
        "--method",
        "sefa",
        "--layers",
        "0-2",
        "--components",
        "4",
        "--samples",
        "100",
        "--out",
        out,
    )
    assert code == 0, err
    assert "sefa in w" in stdout
    return out


def test_directions_sefa_and_ganspace_files(sefa_file, tiny_generator_path, tmp_path):
    d = load_direction(sefa_file)
    assert d.method == "sefa" and d.layers == [0, 1, 2] and d.names == ["sefa0", "sefa1", "sefa2", "sefa3"]
    out = tmp_path / "gs.safetensors"
    code, _, err = run_cli(
        "directions",
        "--network",
        tiny_generator_path,
        "--method",
        "ganspace",
        "--samples",
        "300",
        "--components",
        "3",
        "--out",
        out,
    )
    assert code == 0, err
    g = load_direction(out)
    assert g.method == "ganspace" and len(g) == 3 and g.info["samples"] == 300 and g.info["network"]
    code, _, err = run_cli("directions", "--network", tiny_generator_path, "--method", "ganspace", "--out", out)
    assert code == 2 and "--force" in err  # an existing output is replaced only with --force
    code, _, err = run_cli(
        "directions",
        "--network",
        tiny_generator_path,
        "--method",
        "ganspace",
        "--activations",
        "b8.conv1",
        "--samples",
        "100",
        "--components",
        "2",
        "--out",
        out,
        "--force",
    )
    assert code == 0, err
    assert load_direction(out).info["layer"] == "synthesis.b8.conv1"


def test_directions_interfacegan_from_the_probe_and_from_a_scores_file(tiny_generator_path, tmp_path):
    out = tmp_path / "smile.safetensors"
    code, _, err = run_cli(
        "directions",
        "--network",
        tiny_generator_path,
        "--method",
        "interfacegan",
        "--attribute",
        "smile",
        "--samples",
        "200",
        "--keep",
        "0.1",
        "--out",
        out,
    )
    assert code == 0, err
    d = load_direction(out)
    assert d.names == ["smile"] and d.info["positives"] == d.info["negatives"] == 20 and d.vectors.shape == (1, 16)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((400, 16)).astype(np.float32)
    np.savez(tmp_path / "labels.npz", w=w, scores=(w[:, 3] > 0).astype(np.float32))
    out2 = tmp_path / "labels.safetensors"
    code, _, err = run_cli(
        "directions",
        "--network",
        tiny_generator_path,
        "--method",
        "interfacegan",
        "--scores",
        tmp_path / "labels.npz",
        "--keep",
        "0.5",
        "--condition",
        out,
        "--out",
        out2,
    )
    assert code == 0, err
    d2 = load_direction(out2)
    assert abs(float(d2.vectors[0] @ d.vectors[0])) < 1e-5  # conditioned on the smile direction
    assert d2.info["conditioned_on"] == ["smile"]


def test_directions_stylespace(tiny_generator_path, tmp_path):
    out = tmp_path / "ss.safetensors"
    code, _, err = run_cli(
        "directions",
        "--network",
        tiny_generator_path,
        "--method",
        "stylespace",
        "--attribute",
        "glasses",
        "--samples",
        "100",
        "--examples",
        "10",
        "--channels",
        "3",
        "--out",
        out,
    )
    assert code == 0, err
    d = load_direction(out)
    assert d.space == "s" and len(d) == 3 and all(":" in n and "affine[" in n for n in d.names)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "interfacegan"], "needs --attribute or --scores"),
        (["--method", "stylespace", "--attribute", "beard"], "unknown toyfaces factor"),
        (["--method", "sefa", "--attribute", "smile"], "unsupervised"),
        (["--method", "sefa", "--layers", "0-40"], "--layers must be within"),
        (["--method", "ganspace", "--condition", "x.safetensors"], "--condition applies to interfacegan"),
        (["--method", "sefa", "--activations", "b8.conv1"], "--activations applies to ganspace"),
        (["--method", "ganspace", "--samples", "1"], "--samples must be at least 2"),
        (["--method", "ganspace", "--activations", "b99.conv1"], "no layer named"),
        (["--method", "interfacegan", "--scores", "missing.npz"], "scores file not found"),
    ],
)
def test_directions_bad_input_is_one_line(tiny_generator_path, tmp_path, args, message):
    code, _, err = run_cli("directions", "--network", tiny_generator_path, "--out", tmp_path / "d.safetensors", *args)
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_edit_strips_grid_summary_and_video(tiny_generator_path, sefa_file, tmp_path):
    code, out, err = run_cli(
        "edit",
        "--network",
        tiny_generator_path,
        "--seeds",
        "0-2",
        "--direction",
        sefa_file,
        "--vector",
        "sefa1",
        "--strength",
        "-2..2",
        "--steps",
        "5",
        "--video",
        "4",
        "--outdir",
        tmp_path,
    )
    assert code == 0, err
    assert "3 input(s) along sefa1" in out
    strip = np.asarray(Image.open(tmp_path / "seed0001.png"))
    assert strip.shape == (16, 5 * 16, 3)
    assert np.asarray(Image.open(tmp_path / "grid.png")).shape == (3 * 16, 5 * 16, 3)
    summary = json.loads((tmp_path / "edit.json").read_text())
    assert summary["strengths"] == [-2, -1, 0, 1, 2] and summary["vector"] == "sefa1" and summary["layers"] == [0, 1, 2]
    assert (tmp_path / "edit.mp4").exists() or (tmp_path / "edit.gif").exists()
    # the middle image is the plain generated image
    code, _, err = run_cli("generate", "--network", tiny_generator_path, "--seeds", "1", "--outdir", tmp_path / "g")
    assert code == 0, err
    plain = np.asarray(Image.open(tmp_path / "g" / "seed0001.png"))
    assert np.array_equal(strip[:, 32:48], plain)


def test_edit_projected_ws(tiny_generator_path, sefa_file, tmp_path):
    np.savez(tmp_path / "w.npz", w=np.zeros((2, 1, 16), np.float32))
    code, _, err = run_cli(
        "edit",
        "--network",
        tiny_generator_path,
        "--projected-w",
        tmp_path / "w.npz",
        "--direction",
        sefa_file,
        "--strength",
        "1",
        "--steps",
        "3",
        "--outdir",
        tmp_path / "o",
    )
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "edit.json",
        "grid.png",
        "proj0000.png",
        "proj0001.png",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seeds", "0"], "--direction"),  # required option
        (["--seeds", "0", "--direction", "nope.safetensors"], "direction file not found"),
        (["--direction", "SEFA"], "either --seeds or --projected-w"),
        (["--seeds", "0", "--direction", "SEFA", "--vector", "pc7"], "no vector 'pc7'"),
        (["--seeds", "0", "--direction", "SEFA", "--strength", "a..b"], "strength must be"),
        (["--seeds", "0", "--direction", "SEFA", "--layers", "9"], "layers must be within"),
    ],
)
def test_edit_bad_input_is_one_line(tiny_generator_path, sefa_file, tmp_path, args, message):
    args = [str(sefa_file) if a == "SEFA" else a for a in args]
    code, _, err = run_cli("edit", "--network", tiny_generator_path, "--outdir", tmp_path, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_edit_refuses_a_direction_of_another_shape(tiny_conditional_generator_path, sefa_file, tmp_path):
    code, _, err = run_cli(
        "edit",
        "--network",
        tiny_conditional_generator_path,
        "--seeds",
        "0",
        "--class",
        "1",
        "--direction",
        sefa_file,
        "--outdir",
        tmp_path,
    )
    assert code == 2 and "16 dimensions" in err


def test_pti_writes_the_tuned_network_and_edits_it_quietly(tiny_generator_path, sefa_file, tmp_path):
    target = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
    Image.fromarray(target).save(tmp_path / "t.png")
    code, out, err = run_cli(
        "pti",
        "--network",
        tiny_generator_path,
        "--target",
        tmp_path / "t.png",
        "--outdir",
        tmp_path / "p",
        "--distance",
        "mse",
        "--project-steps",
        "5",
        "--steps",
        "10",
        "--lr",
        "0.003",
        "--w-avg-samples",
        "100",
    )
    assert code == 0, err
    summary = json.loads((tmp_path / "p" / "pti.json").read_text())
    assert summary["after"]["mse"] < summary["before"]["mse"] and len(summary["per_step"]["reconstruction"]) == 10
    assert np.asarray(Image.open(tmp_path / "p" / "side_by_side.png")).shape == (16, 48, 3)
    code, _, err = run_cli(
        "edit",
        "--network",
        tmp_path / "p" / "tuned.safetensors",
        "--projected-w",
        tmp_path / "p" / "projected_w.npz",
        "--direction",
        sefa_file,
        "--outdir",
        tmp_path / "e",
    )
    assert code == 0, err
    assert "another network" not in err  # the tuned network names the one it was tuned from
    code, _, err = run_cli(
        "pti",
        "--network",
        tiny_generator_path,
        "--target",
        tmp_path / "t.png",
        "--outdir",
        tmp_path / "p3",
        "--distance",
        "mse",
        "--projected-w",
        tmp_path / "p" / "projected_w.npz",
        "--steps",
        "3",
    )
    assert code == 0, err
    again = json.loads((tmp_path / "p3" / "pti.json").read_text())
    assert again["pivot"] == "given" and again["before"]["mse"] == pytest.approx(summary["before"]["mse"], rel=1e-5)
    code, _, err = run_cli(
        "pti",
        "--network",
        tiny_generator_path,
        "--target",
        tmp_path / "missing.png",
        "--outdir",
        tmp_path / "p2",
        "--distance",
        "mse",
    )
    assert code == 2 and "target image not found" in err


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(w=np.zeros((4, 16), np.float32)), "no array named 'scores'"),
        (dict(scores=np.zeros(4)), "exactly one of the arrays"),
        (dict(scores=np.zeros(4), w=np.zeros((4, 5), np.float32)), "'w' must be floating-point [N, 16]"),
        (dict(scores=np.arange(4.0), ws=np.full((4, 6, 16), np.nan, np.float32)), "NaN"),
        (dict(scores=np.arange(3.0), w=np.zeros((4, 16), np.float32)), "one score per latent"),
    ],
)
def test_directions_bad_scores_files(tiny_generator_path, tmp_path, arrays, message):
    np.savez(tmp_path / "s.npz", **arrays)
    code, _, err = run_cli(
        "directions",
        "--network",
        tiny_generator_path,
        "--method",
        "interfacegan",
        "--scores",
        tmp_path / "s.npz",
        "--out",
        tmp_path / "d.safetensors",
    )
    assert code == 2 and message in err, err


@pytest.mark.parametrize("space, dim", [("z", 16), ("w+", 6 * 16)])
def test_interfacegan_in_z_and_w_plus_and_editing_with_it(tiny_generator_path, tmp_path, space, dim):
    out = tmp_path / "d.safetensors"
    code, _, err = run_cli(
        "directions",
        "--network",
        tiny_generator_path,
        "--method",
        "interfacegan",
        "--attribute",
        "yaw",
        "--space",
        space,
        "--samples",
        "200",
        "--keep",
        "0.1",
        "--out",
        out,
    )
    assert code == 0, err
    d = load_direction(out)
    assert d.space == space and d.vectors.shape == (1, dim)
    code, _, err = run_cli(
        "edit",
        "--network",
        tiny_generator_path,
        "--seeds",
        "0-1",
        "--direction",
        out,
        "--steps",
        "3",
        "--outdir",
        tmp_path / "e",
    )
    assert code == 0, err
    np.savez(tmp_path / "w.npz", w=np.zeros((1, 16), np.float32))
    code, _, err = run_cli(
        "edit",
        "--network",
        tiny_generator_path,
        "--projected-w",
        tmp_path / "w.npz",
        "--direction",
        out,
        "--outdir",
        tmp_path / "p",
    )
    if space == "z":
        assert code == 2 and "needs seeds" in err
    else:
        assert code == 0, err
