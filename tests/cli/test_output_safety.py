"""What every command does with its outputs: an unwritable place and a full disk end in one error line
and leave nothing under the final name; an output that is one of the command's inputs is refused;
an existing output file named by the user is replaced only with --force."""

from __future__ import annotations

import errno
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.cli.conftest import run_cli

pytestmark = pytest.mark.usefixtures("one_thread")

TRAIN = [
    "--cfg",
    "stylegan2",
    "--data",
    "toyfaces",
    "--res",
    "16",
    "--batch",
    "4",
    "--kimg",
    "0.004",
    "--tick",
    "0.004",
    "--cbase",
    "64",
    "--cmax",
    "16",
    "--map-depth",
    "1",
    "--z-dim",
    "16",
    "--w-dim",
    "16",
    "--aug",
    "none",
    "--workers",
    "0",
]
METRICS = [
    "--data",
    "toyfaces",
    "--metrics",
    "fid50k_full",
    "--detector",
    "probe",
    "--num",
    "4",
    "--max-real",
    "4",
    "--batch",
    "4",
    "--quiet",
    "--device",
    "cpu",
]


def args_for(name: str, net, out, tmp_path) -> list:
    """Arguments of command ``name`` with ``out`` as its output (a file or a folder, as the command takes)."""
    target = tmp_path / "target.png"
    if not target.exists():
        Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(target)
    return {
        "generate": ["generate", "--network", net, "--seeds", "0-1", "--outdir", out],
        "mix": ["mix", "--network", net, "--rows", "0", "--cols", "1", "--output", out],
        "video": ["video", "--network", net, "--seeds", "0-1", "--frames-per-seed", "2", "--output", out],
        "project": [
            "project",
            "--network",
            net,
            "--target",
            target,
            "--outdir",
            out,
            "--steps",
            "1",
            "--w-avg-samples",
            "10",
            "--distance",
            "mse",
        ],
        "spectra": ["spectra", "--network", net, "--num", "2", "--outdir", out],
        "analyze artifacts": ["analyze", "artifacts", "--network", net, "--seeds", "0", "--outdir", out],
        "analyze compare": ["analyze", "compare", net, net, "--seeds", "0", "--json", out],
        "analyze noise": ["analyze", "noise", "--network", net, "--seeds", "0", "--draws", "2", "--outdir", out],
        "analyze sticking": ["analyze", "sticking", net, "--seeds", "0", "--frames", "2", "--outdir", out],
        "metrics --results": [
            "metrics",
            "--network",
            net,
            *METRICS,
            "--cache-dir",
            tmp_path / "cache",
            "--results",
            out,
        ],
        "metrics --cache-dir": ["metrics", "--network", net, *METRICS, "--cache-dir", out],
        "convert": ["convert", net, out],
        "export": ["export", net, "--format", "official-pytorch", "--out", out],
        "dataset zip": ["dataset", "--source", "toyfaces", "--dest", out, "--resolution", "16", "--max-images", "2"],
        "dataset folder": ["dataset", "--source", "toyfaces", "--dest", out, "--resolution", "16", "--max-images", "2"],
        "train": ["train", *TRAIN, "--outdir", out],
        "directions": ["directions", "--network", net, "--method", "sefa", "--samples", "0", "--out", out],
        "edit": [
            "edit",
            "--network",
            net,
            "--seeds",
            "0",
            "--direction",
            _direction(tmp_path),
            "--steps",
            "2",
            "--outdir",
            out,
        ],
        "pti": [
            "pti",
            "--network",
            net,
            "--target",
            target,
            "--outdir",
            out,
            "--distance",
            "mse",
            "--project-steps",
            "1",
            "--steps",
            "1",
            "--w-avg-samples",
            "10",
        ],
    }[name]


def _direction(tmp_path):
    """A direction file for the 16-dimensional W of the test network."""
    import torch

    from stylegan.editing.directions import Direction, save_direction

    path = tmp_path / "dir" / "d.safetensors"
    if not path.exists():
        save_direction(Direction(torch.eye(16)[:1], torch.ones(1), "w", "ganspace", ["pc0"]), path)
    return path


# The output each command is given: a file name (with the suffix it needs) or a folder name.
OUTPUT_NAME = {
    "generate": "out",
    "mix": "m.png",
    "video": "v.mp4",
    "project": "proj",
    "spectra": "spectra",
    "analyze artifacts": "artifacts",
    "analyze compare": "c.json",
    "metrics --results": "r.jsonl",
    "analyze noise": "noise",
    "analyze sticking": "sticking",
    "metrics --cache-dir": "cache",
    "convert": "c.safetensors",
    "dataset zip": "d.zip",
    "dataset folder": "d",
    "train": "runs",
    "export": "e.pkl",
    "directions": "d.safetensors",
    "edit": "edit",
    "pti": "pti",
}
COMMANDS = list(OUTPUT_NAME)


def assert_one_error_line(code, out, err, *fragments):
    lines = [line for line in err.splitlines() if line.strip() and "\r" not in line and "%|" not in line]
    assert code not in (0, None) and "Traceback" not in out + err, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def leftovers(folder) -> list[str]:
    """Temporary files anywhere below ``folder``."""
    return [os.path.join(d, n) for d, dirs, files in os.walk(folder) for n in files + dirs if n.endswith(".tmp")]


@pytest.mark.parametrize("name", COMMANDS)
def test_unwritable_output_is_one_error_line(name, tiny_generator_path, tmp_path):
    """The output lies under a regular file (ENOTDIR): like a read-only or forbidden folder, also for root."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    out = blocker / "sub" / OUTPUT_NAME[name]
    code, stdout, err = run_cli(*args_for(name, tiny_generator_path, out, tmp_path))
    assert_one_error_line(code, stdout, err, "file.txt")
    assert blocker.read_text() == "not a folder" and not leftovers(tmp_path)


@pytest.fixture
def full_disk(monkeypatch):
    """Every atomic write fails as on a full disk when it renames its temporary file into place."""
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if os.path.basename(str(src)).endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("name", [n for n in COMMANDS if n != "metrics --cache-dir"] + ["train --resume"])
def test_full_disk_is_one_error_line_and_leaves_nothing(name, tiny_generator_path, tmp_path, request):
    if name == "train --resume":
        assert run_cli("train", *TRAIN, "--outdir", tmp_path / "runs")[0] == 0
        args = ["train", "--resume", "latest", "--outdir", tmp_path / "runs", "--kimg", "0.008"]
        before = sorted(p.name for p in next((tmp_path / "runs").iterdir()).iterdir())
    else:
        args = args_for(name, tiny_generator_path, tmp_path / OUTPUT_NAME[name], tmp_path)
    if name == "metrics --results":
        (tmp_path / "r.jsonl").write_text('{"earlier": "result"}\n')
    request.getfixturevalue("full_disk")
    code, out, err = run_cli(*args)
    assert_one_error_line(code, out, err, "cannot write", "No space left on device")
    assert not leftovers(tmp_path)
    if name == "metrics --results":
        assert (tmp_path / "r.jsonl").read_text() == '{"earlier": "result"}\n'
    elif name == "train --resume":
        assert sorted(p.name for p in next((tmp_path / "runs").iterdir()).iterdir()) == before
    elif name == "train":
        assert not list((tmp_path / "runs").iterdir())  # the run that could not start is gone
    elif name in (
        "generate",
        "project",
        "spectra",
        "analyze artifacts",
        "analyze noise",
        "analyze sticking",
        "edit",
        "pti",
    ):
        assert not list((tmp_path / OUTPUT_NAME[name]).iterdir())
    else:
        assert not (tmp_path / OUTPUT_NAME[name]).exists()


def test_video_reports_an_ffmpeg_that_could_not_write(tmp_path):
    from stylegan.tools import media

    if not media.ffmpeg_available():
        pytest.skip("ffmpeg (imageio-ffmpeg) is not installed")
    frames = [np.zeros((8, 8, 3), np.uint8)] * 2
    with pytest.raises(OSError, match="ffmpeg could not write"):  # ffmpeg cannot open its output
        media._write_mp4(frames, str(tmp_path / "missing-folder" / "v.mp4"), fps=10, bitrate="1M")


def _copy(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


@pytest.mark.parametrize(
    "name",
    [
        "generate",
        "mix",
        "video",
        "project",
        "spectra",
        "analyze artifacts",
        "analyze compare",
        "metrics --results",
        "convert",
        "export",
        "dataset folder",
        "train",
        "directions",
        "edit",
        "pti",
    ],
)
def test_an_output_that_is_an_input_is_refused(name, tiny_generator_path, tmp_path):
    net = tiny_generator_path
    if name == "generate":  # the network saved where a generated image would go
        net = _copy(tiny_generator_path, tmp_path / "out" / "grid.png")
        args = args_for(name, net, tmp_path / "out", tmp_path)
    elif name == "mix":
        net = _copy(tiny_generator_path, tmp_path / "net.png")
        args = args_for(name, net, net, tmp_path)
    elif name == "video":
        net = _copy(tiny_generator_path, tmp_path / "net.mp4")
        args = args_for(name, net, net, tmp_path)
    elif name in ("project", "pti"):  # the target image lies in --outdir under the name of the target copy
        args = args_for(name, net, tmp_path, tmp_path)
    elif name == "directions":  # the direction file written over the network
        net = _copy(tiny_generator_path, tmp_path / "n.safetensors")
        args = args_for(name, net, net, tmp_path) + ["--force"]
    elif name == "edit":  # the direction file lies in --outdir under the name of the grid
        args = args_for(name, net, tmp_path / "e", tmp_path)
        args[args.index("--direction") + 1] = _copy(_direction(tmp_path), tmp_path / "e" / "grid.png")
    elif name == "spectra":  # into the dataset measured
        data = tmp_path / "data"
        data.mkdir()
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(data / "a.png")
        args = ["spectra", "--data", data, "--outdir", data / "spectra"]
    elif name == "analyze artifacts":
        net = _copy(tiny_generator_path, tmp_path / "a" / "summary.json")
        args = args_for(name, net, tmp_path / "a", tmp_path)
    elif name == "analyze compare":
        net = _copy(tiny_generator_path, tmp_path / "A.safetensors")
        args = args_for(name, net, net, tmp_path) + ["--force"]
    elif name in ("metrics --results", "convert", "export"):
        net = _copy(tiny_generator_path, tmp_path / "n.safetensors")
        args = args_for(name, net, net, tmp_path) + (["--force"] if name in ("convert", "export") else [])
    elif name == "dataset folder":
        src = tmp_path / "images"
        src.mkdir()
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(src / "a.png")
        args = ["dataset", "--source", src, "--dest", src / "out", "--resolution", "16"]
    else:  # train into the image folder it trains on
        src = tmp_path / "images"
        src.mkdir()
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(src / "a.png")
        args = ["train", *TRAIN, "--outdir", src / "runs"]
        args[args.index("toyfaces")] = src
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, out, err = run_cli(*args)
    assert_one_error_line(code, out, err)
    assert "overwrite that input" in err or "inside the" in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("name", ["mix", "video", "analyze compare", "convert", "export", "dataset zip", "directions"])
def test_an_existing_output_file_is_replaced_only_with_force(name, tiny_generator_path, tmp_path):
    out = tmp_path / OUTPUT_NAME[name]
    out.write_bytes(b"precious")
    args = args_for(name, tiny_generator_path, out, tmp_path)
    code, stdout, err = run_cli(*args)
    assert_one_error_line(code, stdout, err, "exists; pass --force")
    assert out.read_bytes() == b"precious"
    code, _, err = run_cli(*args, "--force")
    assert code == 0, err
    assert out.read_bytes() != b"precious" and not leftovers(tmp_path)


def test_output_names(tiny_generator_path, tmp_path):
    code, out, err = run_cli(
        "mix", "--network", tiny_generator_path, "--rows", "0", "--cols", "1", "--output", tmp_path / "x.txt"
    )
    assert_one_error_line(code, out, err, "must be a .png file")
    # DEST: .zip is an archive, any other name a folder (a dotted one too); a folder DEST must be new or empty.
    dest = tmp_path / "faces.v2"
    assert run_cli(*args_for("dataset folder", None, dest, tmp_path))[0] == 0
    assert (dest / "00000" / "img00000000.png").exists() and (tmp_path / "faces.v2.report.json").exists()
    code, out, err = run_cli(*args_for("dataset folder", None, dest, tmp_path), "--force")
    assert_one_error_line(code, out, err, "not empty")


def test_outputs_get_the_permissions_of_the_umask(tiny_generator_path, tmp_path):
    old = os.umask(0o022)
    try:
        assert run_cli("convert", tiny_generator_path, tmp_path / "c.safetensors")[0] == 0
        assert run_cli(*args_for("generate", tiny_generator_path, tmp_path / "g", tmp_path))[0] == 0
    finally:
        os.umask(old)
    for path in (tmp_path / "c.safetensors", tmp_path / "g" / "grid.png"):
        assert os.stat(path).st_mode & 0o777 == 0o644
