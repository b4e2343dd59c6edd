"""``stylegan train`` end to end: a run killed with SIGKILL and resumed ends bit for bit where an
uninterrupted run ends; option errors are one-line messages."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import stylegan
from stylegan.cli.main import main
from stylegan.training import snapshot as snap
from stylegan.training.stats import read_stats

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("one_thread")

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = [
    "--cfg",
    "stylegan2",
    "--data",
    "toyfaces",
    "--res",
    "16",
    "--batch",
    "4",
    "--kimg",
    "0.048",
    "--tick",
    "0.008",
    "--snap",
    "2",
    "--img-snap",
    "100",
    "--cbase",
    "256",
    "--cmax",
    "16",
    "--map-depth",
    "2",
    "--z-dim",
    "16",
    "--w-dim",
    "16",
    "--aug",
    "ada",
    "--p",
    "0.2",
    "--workers",
    "0",
    "--seed",
    "5",
]


def stylegan_cmd(*args):
    return [sys.executable, "-m", "stylegan", "train", *args]


def env():
    e = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "src"))
    return e


def latest_state(outdir: Path) -> dict:
    return snap.load_state(snap.find_resume_state("latest", outdir))


def test_sigkill_then_resume_latest_is_bit_exact(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    done = subprocess.run(
        stylegan_cmd(*TINY, "--outdir", str(a)), env=env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr

    proc = subprocess.Popen(
        stylegan_cmd(*TINY, "--outdir", str(b)), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            if any(b.glob("*/training-state-*.pt")):
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    run_b = next(b.iterdir())
    assert not snap.state_path(run_b, 48).exists()  # killed before the end

    resumed = subprocess.run(
        stylegan_cmd("--resume", "latest", "--outdir", str(b)), env=env(), capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming from" in resumed.stdout

    run_a = next(a.iterdir())
    assert read_stats(run_a / "stats.jsonl") == read_stats(run_b / "stats.jsonl")
    sa, sb = latest_state(a), latest_state(b)
    assert sa["progress"] == sb["progress"] and sa["progress"]["cur_nimg"] == 48
    for key in ("G", "D", "G_ema"):
        for name, value in sa[key].items():
            assert torch.equal(value, sb[key][name]), f"{key}.{name}"
    for name in ("G", "D"):
        ga, gb = sa["optimizers"][name]["state"], sb["optimizers"][name]["state"]
        assert all(torch.equal(ga[i]["exp_avg_sq"], gb[i]["exp_avg_sq"]) for i in ga)
    assert sa["ada"] == sb["ada"]
    net_a, net_b = (stylegan.load(snap.network_path(r, 48)).state_dict() for r in (run_a, run_b))
    assert all(torch.equal(net_a[k], net_b[k]) for k in net_a)


def test_option_errors_are_one_line(tmp_path, capsys):
    assert main(["train", "--data", "toyfaces"]) == 2
    assert "missing option(s) --cfg" in capsys.readouterr().err
    code = main(
        [
            "train",
            "--cfg",
            "stylegan2",
            "--data",
            "toyfaces",
            "--res",
            "16",
            "--batch",
            "6",
            "--gpus",
            "4",
            "--outdir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "must be a multiple of --gpus" in capsys.readouterr().err
    assert main(["train", "--resume", "latest", "--outdir", str(tmp_path)]) == 2
    assert "no run in" in capsys.readouterr().err
    assert main(["train", "--cfg", "stylegan2", "--data", str(tmp_path / "missing"), "--outdir", str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == []  # nothing created for a run that cannot start


def test_resume_refuses_to_change_what_defines_the_run(tmp_path, capsys):
    tiny = [
        "--cfg",
        "stylegan2",
        "--data",
        "toyfaces",
        "--res",
        "16",
        "--batch",
        "4",
        "--cbase",
        "256",
        "--cmax",
        "16",
        "--map-depth",
        "2",
        "--z-dim",
        "16",
        "--w-dim",
        "16",
        "--aug",
        "none",
        "--workers",
        "0",
    ]
    code = main(["train", *tiny, "--kimg", "0.004", "--outdir", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    assert main(["train", "--resume", "latest", "--outdir", str(tmp_path), "--gamma", "3"]) == 2
    assert "cannot change --gamma when resuming" in capsys.readouterr().err
    assert main(["train", "--resume", "latest", "--outdir", str(tmp_path), "--kimg", "0.008"]) == 0
    assert latest_state(tmp_path)["progress"]["cur_nimg"] == 8


def test_grid_option_is_parsed(tmp_path, capsys):
    assert main(["train", "--cfg", "stylegan2", "--data", "toyfaces", "--grid", "8by4", "--outdir", str(tmp_path)]) == 2
    assert "--grid must look like 8x4" in capsys.readouterr().err


def test_compile_option_reaches_the_options(tmp_path, capsys):
    """``--compile 1`` is parsed into the options (their check refuses it with progressive growing)."""
    code = main(
        [
            "train",
            "--cfg",
            "stylegan1",
            "--data",
            "toyfaces",
            "--res",
            "16",
            "--compile",
            "1",
            "--outdir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "--compile does not apply to progressive growing" in capsys.readouterr().err


def test_small_recipe_is_stored_with_the_run_and_kept_on_resume(tmp_path, capsys):
    """``--recipe small`` fills the options not given from the measured small-scale settings; the
    resolved values go to training_options.json, and the recipe cannot change on resume."""
    args = ["--cfg", "stylegan2", "--recipe", "small", "--data", "toyfaces", "--res", "16", "--gpus", "1"]
    args += ["--cbase", "256", "--cmax", "16", "--z-dim", "16", "--w-dim", "16", "--workers", "0"]
    assert main(["train", *args, "--kimg", "0.008", "--outdir", str(tmp_path)]) == 0, capsys.readouterr().err
    (run,) = tmp_path.iterdir()
    stored = json.loads((run / "training_options.json").read_text())
    assert stored["recipe"] == "small"
    chosen = [stored[k] for k in ("batch", "glr", "gamma", "aug", "pl_weight")]
    assert chosen == [8, 0.005, 0.2, "none", 0]
    assert (stored["cmax"], stored["map_depth"]) == (16, 2)
    assert main(["train", "--resume", "latest", "--outdir", str(tmp_path), "--recipe", "paper"]) == 2
    assert "cannot change --recipe when resuming" in capsys.readouterr().err
