"""Every preset trains a few steps: StyleGAN with progressive growing, PIN gates projected onto
[0, 1], StyleGAN3-T/R with D input blur."""

import pytest
import torch

import stylegan
from stylegan.training import snapshot as snap
from stylegan.training.launch import train
from stylegan.training.stats import read_stats
from tests.training.tiny import TinyDataset, tiny_options

TINY_16 = dict(resolution=16, cbase=256, cmax=16, batch=4, kimg=0.016, tick=0.008, snap=10)


def run(tmp_path, cfg, **changes):
    opts = tiny_options(tmp_path, cfg=cfg, **{**TINY_16, **changes})
    return train(opts, dataset=TinyDataset(16, 16), verbose=False)


@pytest.mark.parametrize("cfg", ["stylegan3-t", "stylegan3-r"])
def test_stylegan3_trains(tmp_path, cfg):
    run_dir = run(tmp_path, cfg)
    rows = read_stats(run_dir / "stats.jsonl")
    assert [r["nimg"] for r in rows] == [4, 12, 16]
    assert "Loss/G/reg" not in rows[0]  # no path-length regularisation for StyleGAN3
    G = stylegan.load(snap.network_path(run_dir, 16))
    assert G.kind == "stylegan3.generator" and G.mapping.num_layers == 2
    state = snap.load_state(snap.training_states(run_dir)[-1])
    assert state["options"]["blur_sigma"] == (10 if cfg == "stylegan3-r" else 0)
    # The input-magnitude EMA has a 20 kimg half-life at this batch.
    assert G.config.magnitude_ema_beta == pytest.approx(0.5 ** (4 / 20e3))
    assert all(torch.isfinite(v).all() for v in state["G"].values() if v.is_floating_point())


@pytest.mark.parametrize("cfg", ["stylegan1", "stylegan1-pin"])
def test_stylegan1_grows_progressively(tmp_path, cfg):
    # 4x4 (lod 2) for 8 images, fade in 8x8 over 8, train 8x8 for 8, fade in 16x16 over 8, then 16x16.
    pin = dict(pin_gate_init=1.0) if cfg == "stylegan1-pin" else {}
    run_dir = run(tmp_path, cfg, lod_initial_res=4, lod_kimg=0.008, kimg=0.040, tick=0.004, glr=0.05, **pin)
    rows = read_stats(run_dir / "stats.jsonl")
    lods = [r["Progress/lod"]["mean"] for r in rows]
    assert lods[0] == 2 and lods[-1] == 0 and all(b <= a for a, b in zip(lods, lods[1:]))
    assert any(0 < lod < 2 and lod != 1 for lod in lods)  # seen mid-fade
    assert "Loss/D/reg" in rows[0]  # R1 at every step (no lazy regularisation)
    G = stylegan.load(snap.network_path(run_dir, 40))
    assert G.lod == 0
    state = snap.load_state(snap.training_states(run_dir)[-1])
    assert state["progressive"]["prev_lod"] == 0
    if cfg == "stylegan1-pin":
        gates = [v for k, v in state["G"].items() if k.endswith("gate")]
        assert gates and all(((g >= 0) & (g <= 1)).all() for g in gates)
        # Starting at 1 (pure pixel norm): gates pushed up are held at 1 by the projection, others move.
        assert any((g == 1).any() for g in gates) and any((g < 0.99).any() for g in gates)


def test_stylegan1_uses_the_per_resolution_minibatch_without_batch(tmp_path):
    opts = tiny_options(tmp_path, cfg="stylegan1", **{**TINY_16, "batch": None, "kimg": 0.128, "tick": 1.0})
    assert opts.batch is None and opts.progressive
    run_dir = train(opts, dataset=TinyDataset(16, 16), verbose=False)
    assert "batchauto" in run_dir.name
    rows = read_stats(run_dir / "stats.jsonl")
    assert rows[0]["Progress/batch"]["mean"] == 128  # the official single-GPU minibatch at 8x8
