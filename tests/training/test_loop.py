"""The training loop on a tiny StyleGAN2 (8x8, 16 channels): files of a run, exact resume,
divergence detection, unreadable images, fine-tuning from a network file."""

import json

import numpy as np
import pytest
import torch

import stylegan
from stylegan.errors import UserError
from stylegan.training import snapshot as snap
from stylegan.training.launch import train
from stylegan.training.loop import NonFiniteError
from stylegan.training.stats import read_stats
from tests.training.tiny import TinyDataset, TinySampler, tiny_options


def run(opts, dataset=None, **kwargs):
    dataset = dataset or TinyDataset(32, opts.resolution)
    return train(opts, dataset=dataset, sampler=TinySampler(len(dataset), opts.seed), verbose=False, **kwargs)


def final_state(run_dir):
    return snap.load_state(snap.training_states(run_dir)[-1])


def assert_same_tensors(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_a_run_writes_its_directory(tmp_path):
    opts = tiny_options(tmp_path, kimg=0.016, snap=2, img_snap=1)
    run_dir = run(opts)
    assert run_dir.name == "00000-stylegan2-tiny-gpus1-batch4-gamma0.0032"
    names = {p.name for p in run_dir.iterdir()}
    # Ticks end at 4 (the first step), 12 and 16 images; snapshots every 2 ticks and at the end.
    assert {"training_options.json", "stats.jsonl", "log.txt", "reals.png", "fakes_init.png"} <= names
    assert {"fakes000000.004.png", "fakes000000.012.png", "fakes000000.016.png"} <= names
    assert {"network-snapshot-000000.004.safetensors", "network-snapshot-000000.016.safetensors"} <= names
    assert "network-snapshot-000000.012.safetensors" not in names
    assert any(n.startswith("events.out.tfevents") for n in names)
    saved = json.loads((run_dir / "training_options.json").read_text())
    assert saved["cfg"] == "stylegan2" and saved["gamma"] == pytest.approx(0.0032) and saved["resolved"]
    rows = read_stats(run_dir / "stats.jsonl")
    assert [r["nimg"] for r in rows] == [4, 12, 16]
    assert rows[-1]["Progress/tick"]["mean"] == 2
    assert {"Loss/G/loss", "Loss/D/loss", "Loss/G/reg", "Loss/D/reg", "Loss/r1_penalty"} <= set(rows[0])
    # The network snapshot is the EMA generator as a native checkpoint.
    G = stylegan.load(run_dir / "network-snapshot-000000.016.safetensors")
    state = final_state(run_dir)
    assert_same_tensors(G.state_dict(), state["G_ema"])
    assert state["progress"]["cur_nimg"] == 16 and state["progress"]["batch_idx"] == 4
    log = (run_dir / "log.txt").read_text()
    assert "sec/kimg" in log and "img/s" in log and "left" in log


def test_resume_after_a_crash_continues_bit_for_bit(tmp_path):
    opts = tiny_options(tmp_path / "a", kimg=0.040, snap=2, seed=3)
    run_a = run(opts)

    # Run B dies 2 steps after the tick at 12 images (snapshot at 4 and 20 images; the stats line of
    # the tick at 12 images is written, the snapshot at 20 never happens).
    opts_b = tiny_options(tmp_path / "b", kimg=0.040, snap=2, seed=3)

    class Crash(Exception):
        pass

    def crash(trainer):
        if trainer.cur_nimg == 20:
            raise Crash

    with pytest.raises(Crash):
        run(opts_b, hooks={"after_step": crash})
    run_b = next((tmp_path / "b").iterdir())
    assert [p.name for p in snap.training_states(run_b)] == ["training-state-000000.004.pt"]
    assert [r["nimg"] for r in read_stats(run_b / "stats.jsonl")] == [4, 12]

    dataset = TinyDataset(32, 8)
    train(opts_b, resume="latest", dataset=dataset, sampler=TinySampler(len(dataset), 3), verbose=False)
    assert read_stats(run_b / "stats.jsonl") == read_stats(run_a / "stats.jsonl")
    a, b = final_state(run_a), final_state(run_b)
    for key in ("G", "D", "G_ema"):
        assert_same_tensors(a[key], b[key])
    assert torch.equal(a["pl_mean"], b["pl_mean"])
    assert a["progress"] == b["progress"]


def test_non_finite_weights_stop_the_run_and_keep_the_last_snapshot(tmp_path):
    opts = tiny_options(tmp_path, kimg=0.032, snap=1)

    def poison(trainer):
        if trainer.cur_nimg == 20:
            with torch.no_grad():
                trainer.G.synthesis.b8.conv1.weight[0, 0, 0, 0] = float("nan")

    with pytest.raises(NonFiniteError, match="diverged at 0.02 kimg.*G.synthesis.b8.conv1.weight.*last good snapshot"):
        run(opts, hooks={"after_step": poison})
    run_dir = next(tmp_path.iterdir())
    states = snap.training_states(run_dir)
    assert states[-1].name == "training-state-000000.012.pt"
    last = snap.load_state(states[-1])
    assert all(torch.isfinite(v).all() for v in last["G"].values() if v.is_floating_point())
    assert stylegan.load(snap.network_path(run_dir, 12)) is not None


def test_non_finite_gradients_skip_the_step(tmp_path):
    opts = tiny_options(tmp_path, kimg=0.016, snap=10)
    seen = {}

    def poison_once(trainer):
        # A NaN in D for exactly one step: the D steps that see it are skipped, weights stay finite.
        if trainer.cur_nimg == 8:
            with torch.no_grad():
                trainer.D.b4.out.bias.fill_(float("nan"))
        elif trainer.cur_nimg == 12:
            seen["skipped"] = trainer.skipped_in_tick
            with torch.no_grad():
                trainer.D.b4.out.bias.zero_()

    run_dir = run(opts, hooks={"after_step": poison_once})
    assert seen["skipped"] >= 1
    state = final_state(run_dir)
    assert all(torch.isfinite(v).all() for v in state["D"].values() if v.is_floating_point())
    rows = read_stats(run_dir / "stats.jsonl")
    assert sum(r["Progress/skipped_steps"]["mean"] for r in rows) >= 1
    assert "non-finite gradients" in (run_dir / "log.txt").read_text()


def test_unreadable_images_are_reported_and_skipped(tmp_path, capsys):
    opts = tiny_options(tmp_path, kimg=0.016, snap=10)
    dataset = TinyDataset(8, 8, bad=(2, 5))
    run_dir = run(opts, dataset=dataset)
    log = (run_dir / "log.txt").read_text()
    assert "img002.png" in log and "img005.png" in log and "next readable image" in log
    assert snap.load_state(snap.training_states(run_dir)[-1])["feed"]["bad"] == [2, 5]


def test_unreadable_image_can_stop_the_run_cleanly(tmp_path):
    opts = tiny_options(tmp_path, kimg=0.032, snap=1, bad_files="stop")
    order = np.random.RandomState(opts.seed).permutation(64)  # TinySampler's first epoch
    dataset = TinyDataset(64, 8, bad=tuple(order[10:12]))  # read in the third step
    with pytest.raises(UserError, match=r"training image #\d+ cannot be read: .*img0\d\d\.png.*snapshot is intact"):
        run(opts, dataset=dataset)
    run_dir = next(tmp_path.iterdir())
    states = snap.training_states(run_dir)
    assert [snap.load_state(p)["progress"]["cur_nimg"] for p in states] == [4]


def test_fine_tune_from_a_network_file(tmp_path):
    first = run(tiny_options(tmp_path / "a", kimg=0.004))
    net = snap.network_path(first, 4)
    second = run(tiny_options(tmp_path / "b", kimg=0.004, snap=1), resume=str(net))
    assert "initialised from" in (second / "log.txt").read_text()
    wrong = tiny_options(tmp_path / "c", kimg=0.004, cmax=8)
    with pytest.raises(UserError, match="does not fit"):
        run(wrong, resume=str(net))
