"""The training loop on a tiny StyleGAN2 (8x8, 16 channels): files of a run, exact resume,
divergence detection, unreadable images, fine-tuning from a network file."""

import json

import pytest
import torch

import stylegan
from stylegan.data.loader import InfiniteSampler
from stylegan.errors import UserError
from stylegan.training import snapshot as snap
from stylegan.training.launch import train
from stylegan.training.loop import NonFiniteError
from stylegan.training.stats import read_stats
from tests.training.tiny import (
    Crash,
    TinyDataset,
    assert_same_tensors,
    crash_at,
    final_state,
    run,
    tiny_options,
    write_image_folder,
)


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
    # With ADA on (p starting at 0.3): augmentation draws random numbers and the controller has state.
    aug = dict(aug="ada", aug_p=0.3, ada_kimg=1.0, ada_interval=2)
    opts = tiny_options(tmp_path / "a", kimg=0.040, snap=2, seed=3, **aug)
    run_a = run(opts)

    # Run B dies 2 steps after the tick at 12 images (snapshot at 4 and 20 images; the stats line of
    # the tick at 12 images is written, the snapshot at 20 never happens).
    opts_b = tiny_options(tmp_path / "b", kimg=0.040, snap=2, seed=3, **aug)

    with pytest.raises(Crash):
        run(opts_b, hooks={"after_step": crash_at(20)})
    run_b = next((tmp_path / "b").iterdir())
    assert [p.name for p in snap.training_states(run_b)] == ["training-state-000000.004.pt"]
    assert [r["nimg"] for r in read_stats(run_b / "stats.jsonl")] == [4, 12]

    train(opts_b, resume="latest", dataset=TinyDataset(32, 8), verbose=False)
    assert read_stats(run_b / "stats.jsonl") == read_stats(run_a / "stats.jsonl")
    a, b = final_state(run_a), final_state(run_b)
    for key in ("G", "D", "G_ema"):
        assert_same_tensors(a[key], b[key])
    assert torch.equal(a["pl_mean"], b["pl_mean"])
    assert a["progress"] == b["progress"] and a["ada"] == b["ada"] and a["ada"]["p"] != 0.3


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


def test_unreadable_images_are_reported_and_skipped(tmp_path):
    folder = write_image_folder(tmp_path / "images", 16, 8, corrupt=(2, 5), no_header=(7,))
    opts = tiny_options(tmp_path / "runs", data=str(folder), kimg=0.032, snap=10)
    run_dir = train(opts, verbose=False)
    log = (run_dir / "log.txt").read_text()
    assert "img007.png" in log and "left out" in log  # found when the dataset opens
    assert "img002.png" in log and "img005.png" in log and "next readable image" in log  # found when read
    assert snap.load_state(snap.training_states(run_dir)[-1])["progress"]["cur_nimg"] == 32


def test_unreadable_image_can_stop_the_run_cleanly(tmp_path):
    order = InfiniteSampler(16, seed=1).epoch_order(0)
    folder = write_image_folder(tmp_path / "images", 16, 8, corrupt=(int(order[6]),))  # read in the second step
    opts = tiny_options(tmp_path / "runs", data=str(folder), kimg=0.032, snap=1, bad_files="stop")
    with pytest.raises(UserError, match=rf"img{order[6]:03d}.png.*the run stops here.*snapshot is intact"):
        train(opts, verbose=False)
    run_dir = next((tmp_path / "runs").iterdir())
    states = snap.training_states(run_dir)
    assert [snap.load_state(p)["progress"]["cur_nimg"] for p in states] == [4]
    assert [r["nimg"] for r in read_stats(run_dir / "stats.jsonl")] == [4]


def test_fine_tune_from_a_network_file(tmp_path):
    first = run(tiny_options(tmp_path / "a", kimg=0.004))
    net = snap.network_path(first, 4)
    second = run(tiny_options(tmp_path / "b", kimg=0.004, snap=1), resume=str(net))
    assert "initialised from" in (second / "log.txt").read_text()
    smaller = run(tiny_options(tmp_path / "c", kimg=0.004, cmax=8), resume=str(net))  # copies what fits
    assert "tensors copied" in (smaller / "transfer.txt").read_text()  # see test_finetune.py


def test_ada_adjusts_p_and_saves_it(tmp_path):
    # A very fast controller (p moves by batch * interval / (kimg * 1000) = 0.1 per step).
    opts = tiny_options(tmp_path, kimg=0.016, snap=1, aug="ada", aug_p=0.5, ada_interval=1, ada_kimg=0.04)
    run_dir = run(opts)
    rows = read_stats(run_dir / "stats.jsonl")
    ps = [r["Progress/augment"]["mean"] for r in rows]
    state = final_state(run_dir)
    assert state["ada"]["p"] == pytest.approx(ps[-1]) and state["ada"]["num_steps"] == 4
    assert len(set(ps)) == len(ps) and all(abs(p - 0.5) > 0.05 for p in ps)
    assert "augment" in (run_dir / "log.txt").read_text()


def test_metrics_at_snapshots_with_the_offline_probe(tmp_path):
    from stylegan.metrics.probe import WEIGHTS

    if not WEIGHTS.is_file():
        pytest.skip(f"the toyfaces probe weights are not in this checkout ({WEIGHTS})")
    opts = tiny_options(
        tmp_path,
        cfg="stylegan2",
        resolution=16,
        kimg=0.008,
        snap=1,
        metrics=("fid50k_full",),
        metrics_detector="probe",
        metrics_num=32,
    )
    run_dir = train(opts, dataset=TinyDataset(32, 16), verbose=False)
    lines = (run_dir / "metric-fid50k_full.jsonl").read_text().splitlines()
    assert len(lines) == 2  # snapshots at 4 and 8 images
    record = json.loads(lines[-1])
    assert record["network"] == "network-snapshot-000000.008.safetensors" and "probe" in record["detector"]
    assert record["results"]["fid50k_full"] > 0
    assert "Metrics: fid50k_full" in (run_dir / "log.txt").read_text()


def test_unknown_metrics_stop_before_training(tmp_path):
    with pytest.raises(UserError, match="unknown metric fid1"):
        train(tiny_options(tmp_path, metrics=("fid1",)), dataset=TinyDataset(8, 8), verbose=False)
    with pytest.raises(UserError, match="metrics-detector"):
        train(
            tiny_options(tmp_path, metrics=("fid50k",), metrics_detector="x"), dataset=TinyDataset(8, 8), verbose=False
        )
    assert list(tmp_path.iterdir()) == []  # no run directory for a run that cannot start


def test_time_limit_ends_the_run_with_a_snapshot(tmp_path):
    run_dir = run(tiny_options(tmp_path, kimg=1000, snap=100, time_limit=1e-4))
    states = snap.training_states(run_dir)
    assert len(states) == 1 and snap.load_state(states[0])["progress"]["cur_nimg"] < 1000_000
    assert "or 0.0001 minutes" in (run_dir / "log.txt").read_text()


def test_conditional_training_uses_the_labels(tmp_path):
    run_dir = run(tiny_options(tmp_path, kimg=0.008, cond=True), dataset=TinyDataset(16, 8, label_dim=3))
    G = stylegan.load(snap.network_path(run_dir, 8))
    assert G.c_dim == 3
    folder = write_image_folder(tmp_path / "unlabelled", 8, 8)
    with pytest.raises(UserError, match="label"):
        train(tiny_options(tmp_path, data=str(folder), cond=True, kimg=0.004), verbose=False)


def test_resume_may_lower_the_learning_rates_and_keeps_adam_moments(tmp_path):
    opts = tiny_options(tmp_path, kimg=0.016, glr=0.002, dlr=0.002)
    run_dir = run(opts)
    first = final_state(run_dir)["optimizers"]
    moments = first["G"]["state"]
    # Lazy regularisation scales each rate by k / (k + 1); the factor stays when the rate changes.
    factor = {n: first[n]["param_groups"][0]["lr"] / 0.002 for n in ("G", "D")}
    seen = {}

    def record(trainer):
        if not seen:  # the first step after the resume: the new rates (times the lazy-R1 factor for D)
            seen.update({n: [g["lr"] for g in o.param_groups] for n, o in trainer.opt.items()})
            seen["moments"] = trainer.opt["G"].state_dict()["state"]

    train(
        opts,
        resume="latest",
        overrides={"glr": 0.0005, "dlr": 0.001, "kimg": 0.024},
        dataset=TinyDataset(32, 8),
        verbose=False,
        hooks={"after_step": record},
    )
    assert factor["D"] == pytest.approx(16 / 17)  # lazy R1 every 16 steps
    assert seen["G"] == [pytest.approx(0.0005 * factor["G"])]
    assert seen["D"] == [pytest.approx(0.001 * factor["D"])]
    stored = snap.load_state(snap.training_states(run_dir)[-1])["options"]
    assert (stored["glr"], stored["dlr"]) == (0.0005, 0.001)
    assert len(seen["moments"]) == len(moments)  # Adam's state came along (after one more step)


def test_resume_prints_what_changed(tmp_path, capsys):
    opts = tiny_options(tmp_path, kimg=0.008, glr=0.002)
    run(opts)
    capsys.readouterr()
    train(opts, resume="latest", overrides={"glr": 0.001, "kimg": 0.016}, dataset=TinyDataset(32, 8), verbose=True)
    out = capsys.readouterr().out
    assert "Changed on resume: --glr 0.002 -> 0.001, --kimg 0.008 -> 0.016" in out
