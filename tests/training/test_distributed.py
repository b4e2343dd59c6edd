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
        for key in ("Loss/G/loss", "Loss/D/loss", "Loss/scores/real", "Loss/scores/fake", "Loss/r1_penalty",
                    "Loss/pl_penalty"):
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
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "stylegan", "train",
           "--cfg", "stylegan2", "--data", "toyfaces", "--res", "16", "--batch", "8", "--kimg", "0.016", "--tick",
           "0.008", "--cbase", "256", "--cmax", "16", "--map-depth", "2", "--z-dim", "16", "--w-dim", "16", "--aug",
           "none", "--workers", "0", "--grid", "4x2", "--outdir", str(tmp_path)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (run_dir,) = tmp_path.iterdir()
    assert "gpus2" in run_dir.name and done.stdout.count("Run directory:") == 1
    assert [r["nimg"] for r in read_stats(run_dir / "stats.jsonl")] == [8, 16]


def test_cpu_processes_share_the_cores(monkeypatch):
    from stylegan.training.distributed import cpu_threads_per_process

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert cpu_threads_per_process(2) == 4
    assert cpu_threads_per_process(16) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's setting is kept
    import torch

    assert cpu_threads_per_process(2) == torch.get_num_threads()
