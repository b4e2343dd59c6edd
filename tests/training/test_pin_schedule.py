"""--pin-schedule: PIN gates held to instance norm early and moved to pixel norm later (the PIN
paper's "IN early, PN later"), the gate values logged per layer at every tick, and their plot."""

from __future__ import annotations

import pytest
import torch

from stylegan.analysis.gates import gates_report
from stylegan.errors import UserError
from stylegan.training import snapshot as snap
from stylegan.training.launch import train
from stylegan.training.options import pin_gate_schedule
from stylegan.training.stats import read_stats
from tests.cli.conftest import run_cli
from tests.training.tiny import TinyDataset, tiny_options

TINY = dict(
    cfg="stylegan1-pin",
    resolution=8,
    cbase=128,
    cmax=16,
    batch=4,
    kimg=0.016,
    tick=0.004,
    snap=10,
    progressive=False,
    glr=0.05,
)


def test_schedule_forms():
    assert pin_gate_schedule("none") is None
    forced = pin_gate_schedule("10:30")
    assert forced.bounds(0) == (0.0, 0.0) and forced.bounds(10) == (0.0, 0.0)
    assert forced.bounds(20) == pytest.approx((0.5, 0.5)) and forced.bounds(40) == (1.0, 1.0)
    free = pin_gate_schedule("0:10:free")
    assert free.bounds(0) == (0.0, 0.0) and free.bounds(5) == (0.0, 0.5) and free.bounds(10) == (0.0, 1.0)
    assert pin_gate_schedule("5:5").bounds(4.9) == (0.0, 0.0) and pin_gate_schedule("5:5").bounds(5) == (1.0, 1.0)
    for bad in ("", "10", "30:10", "a:b", "1:2:3", "-1:2", "1:inf", "1:2:fixed"):
        with pytest.raises(UserError, match="--pin-schedule must be"):
            pin_gate_schedule(bad)


def test_schedule_is_for_pin_only(tmp_path):
    with pytest.raises(UserError, match="--pin-schedule applies to --cfg stylegan1-pin"):
        tiny_options(tmp_path, cfg="stylegan1", pin_schedule="0:10")
    with pytest.raises(UserError, match="--pin-schedule must be"):
        tiny_options(tmp_path, **{**TINY, "pin_schedule": "later"})


def _gates(run_dir):
    state = snap.load_state(snap.training_states(run_dir)[-1])
    return {k: v for k, v in state["G"].items() if k.endswith("norm.gate")}


@pytest.mark.parametrize("schedule, expected", [("100:200", 0.0), ("0:0", 1.0), ("none", None)])
def test_training_follows_the_schedule_and_logs_the_gates(tmp_path, schedule, expected):
    run_dir = train(
        tiny_options(tmp_path, **{**TINY, "pin_schedule": schedule}), dataset=TinyDataset(16, 8), verbose=False
    )
    gates = _gates(run_dir)
    assert gates
    rows = read_stats(run_dir / "stats.jsonl")
    logged = {k: v for k, v in rows[-1].items() if k.startswith("PIN/gate/")}
    assert set(logged) == {
        f"PIN/gate/{k.removeprefix('synthesis.').removesuffix('.epilogue.norm.gate')}" for k in gates
    }
    for key, gate in gates.items():
        name = f"PIN/gate/{key.removeprefix('synthesis.').removesuffix('.epilogue.norm.gate')}"
        assert logged[name]["mean"] == pytest.approx(float(gate.double().mean()), abs=1e-6)
        assert logged[name]["std"] == pytest.approx(float(gate.double().std(unbiased=False)), abs=1e-6)
        if expected is not None:  # held at the schedule's bound: pure instance norm (0) or pixel norm (1)
            assert torch.all(gate == expected)
    if expected is None:
        assert "PIN/gate_high" not in rows[-1]
        assert any(((g > 0) & (g < 1) & (g != 0.5)).any() for g in gates.values())  # learned freely
    else:
        assert rows[0]["PIN/gate_low"]["mean"] == expected and rows[-1]["PIN/gate_high"]["mean"] == expected

    summary = gates_report(run_dir, tmp_path / "plot")
    assert summary["kimg"] == [r["nimg"] / 1e3 for r in rows]
    assert list(summary["layers"]) == ["b4.conv0", "b4.conv1", "b8.conv0", "b8.conv1"]  # by resolution
    assert (tmp_path / "plot" / "gates.png").exists()
    code, out, err = run_cli("analyze", "gates", "--run", run_dir, "--outdir", tmp_path / "cli")
    assert code == 0, err
    assert "last mean gate per layer" in out


def test_gates_of_a_run_without_pin(tmp_path):
    (tmp_path / "stats.jsonl").write_text('{"Loss/G/loss": {"num": 1, "mean": 0.5, "std": 0}, "nimg": 4}\n')
    code, _, err = run_cli("analyze", "gates", "--run", tmp_path, "--outdir", tmp_path / "o")
    assert code == 2 and "holds no PIN gate values" in err
    code, _, err = run_cli("analyze", "gates", "--run", tmp_path / "nowhere", "--outdir", tmp_path / "o")
    assert code == 2 and "no stats.jsonl" in err
