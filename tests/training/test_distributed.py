"""Two gloo processes train like one process with the same global batch and seeds."""

import pytest

from stylegan.training import snapshot as snap
from stylegan.training.launch import train
from stylegan.training.stats import read_stats
from tests.training.tiny import TinyDataset, tiny_options


def test_two_gloo_processes_match_one_process(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    dataset = TinyDataset(32, 8)
    common = dict(batch=8, batch_gpu=4, kimg=0.024, tick=0.008, snap=100, img_snap=100)
    one = train(tiny_options(tmp_path / "one", **common), dataset=dataset, verbose=False)
    two = train(tiny_options(tmp_path / "two", gpus=2, **common), dataset=dataset, verbose=False)
    assert "gpus2" in two.name
    rows_one, rows_two = read_stats(one / "stats.jsonl"), read_stats(two / "stats.jsonl")
    assert [r["nimg"] for r in rows_one] == [r["nimg"] for r in rows_two] == [8, 16, 24]
    for a, b in zip(rows_one, rows_two):
        for key in (
            "Loss/G/loss",
            "Loss/D/loss",
            "Loss/scores/real",
            "Loss/scores/fake",
            "Loss/r1_penalty",
            "Loss/pl_penalty",
        ):
            if key in a:
                assert b[key]["num"] == a[key]["num"], key
                assert b[key]["mean"] == pytest.approx(a[key]["mean"], rel=1e-2, abs=1e-3), (a["nimg"], key)
    # The first G pass is the same computation (noise strengths start at zero); everything after it
    # differs only through the per-process noise inputs of the synthesis network.
    assert rows_two[0]["Loss/G/loss"]["mean"] == pytest.approx(rows_one[0]["Loss/G/loss"]["mean"], rel=1e-6)
    # Both runs end with one snapshot written by process 0, at the same point.
    assert [p.name for p in snap.training_states(one)] == [p.name for p in snap.training_states(two)]


@pytest.mark.slow
def test_torchrun_starts_a_two_process_run(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(src))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "-m",
        "stylegan",
        "train",
        "--cfg",
        "stylegan2",
        "--data",
        "toyfaces",
        "--res",
        "16",
        "--batch",
        "8",
        "--kimg",
        "0.016",
        "--tick",
        "0.008",
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
        "--grid",
        "4x2",
        "--outdir",
        str(tmp_path),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (run_dir,) = tmp_path.iterdir()
    assert "gpus2" in run_dir.name and done.stdout.count("Run directory:") == 1
    assert [r["nimg"] for r in read_stats(run_dir / "stats.jsonl")] == [8, 16]


def test_cpu_processes_share_the_cores(monkeypatch):
    from stylegan.training.distributed import cpu_threads_per_process

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("stylegan.training.distributed.available_cores", lambda: 8)
    assert cpu_threads_per_process(2) == 4
    assert cpu_threads_per_process(16) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's setting is kept
    import torch

    assert cpu_threads_per_process(2) == torch.get_num_threads()


def test_auto_layout_is_one_single_thread_process_per_core(monkeypatch):
    from stylegan.training.distributed import MAX_AUTO_PROCESSES, auto_process_count

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert auto_process_count(16, 4, "cpu", cores=2) == 2
    assert auto_process_count(32, 4, "cpu", cores=4) == 4
    assert auto_process_count(24, 4, "cpu", cores=8) == 6  # the largest count that splits 24 into groups of 4
    assert auto_process_count(12, 4, "cpu", cores=2) == 1  # 6 per process is no whole number of groups
    assert auto_process_count(4, 4, "cpu", cores=2) == 1  # 2 per process would shrink the groups
    assert auto_process_count(256, 4, "cpu", cores=64) == MAX_AUTO_PROCESSES
    assert auto_process_count(16, 4, "cpu", cores=1) == 1
    assert auto_process_count(16, 4, "cuda", cores=2) == 1  # GPUs are asked for by number
    assert auto_process_count(None, 4, "cpu", cores=2) == 1  # progressive growing's batch schedule
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user chose the threads: one process uses them
    assert auto_process_count(16, 4, "cpu", cores=2) == 1


def test_auto_layout_resolves_into_the_options(monkeypatch):
    from stylegan.training.distributed import AUTO_PROCESSES
    from stylegan.training.options import TrainingOptions, resolve_options

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("stylegan.training.distributed.available_cores", lambda: 2)
    opts = TrainingOptions(cfg="stylegan2", data="toyfaces", batch=16, gpus=AUTO_PROCESSES)
    resolved = resolve_options(opts, 32, device_type="cpu")
    assert (resolved.gpus, resolved.batch_gpu) == (2, 8)
    assert resolve_options(opts, 32, device_type="cuda").gpus == 1
    # An explicit per-process share keeps one process; an explicit count is kept as given.
    import dataclasses

    assert resolve_options(dataclasses.replace(opts, batch_gpu=4), 32, device_type="cpu").gpus == 1
    assert resolve_options(dataclasses.replace(opts, gpus=1), 32, device_type="cpu").gpus == 1


def test_cli_chooses_the_layout_of_a_new_run_only(monkeypatch):
    """A new run from the CLI asks for the automatic layout; a resumed run keeps its own unless told."""
    from stylegan.cli import train as cli_train
    from stylegan.errors import UserError
    from stylegan.training.distributed import AUTO_PROCESSES

    seen = []
    monkeypatch.setattr("stylegan.training.launch.train", lambda opts, **kw: seen.append((opts, kw)) or "run")
    from click.testing import CliRunner

    runner = CliRunner()
    assert runner.invoke(cli_train.command, ["--cfg", "stylegan2", "--data", "toyfaces"]).exit_code == 0
    assert seen[-1][0].gpus == AUTO_PROCESSES
    assert runner.invoke(cli_train.command, ["--cfg", "stylegan2", "--data", "toyfaces", "--gpus", "3"]).exit_code == 0
    assert seen[-1][0].gpus == 3
    assert runner.invoke(cli_train.command, ["--resume", "latest"]).exit_code == 0
    assert "gpus" not in seen[-1][1]["overrides"]
    assert runner.invoke(cli_train.command, ["--resume", "latest", "--gpus", "auto"]).exit_code == 0
    assert seen[-1][1]["overrides"]["gpus"] == AUTO_PROCESSES
    for bad in ("0", "two", "-1"):
        result = runner.invoke(cli_train.command, ["--cfg", "stylegan2", "--data", "toyfaces", "--gpus", bad])
        assert isinstance(result.exception, UserError) and "--gpus" in str(result.exception)
