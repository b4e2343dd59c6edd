"""Run directories, RNG capture, atomic training-state files and --resume lookup."""

import random

import numpy as np
import pytest
import torch

from stylegan.errors import CheckpointError, UserError
from stylegan.training import snapshot as snap


def test_tags_round_trip():
    assert snap.snapshot_tag(120_000) == "000120"
    assert snap.snapshot_tag(16) == "000000.016"
    for n in (0, 16, 4000, 123_456):
        assert snap.tag_nimg(snap.state_path("x", n).name) == n
        assert snap.tag_nimg(snap.network_path("x", n).name) == n
    assert snap.tag_nimg("stats.jsonl") is None


def test_rng_capture_restores_every_source():
    state = snap.capture_rng()
    a = (torch.rand(3), np.random.rand(3), random.random())
    snap.restore_rng(state)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    with snap.preserved_rng():
        torch.rand(100), np.random.rand(5), random.random()
    c = (torch.rand(3), np.random.rand(3), random.random())
    snap.restore_rng(state)
    torch.rand(3), np.random.rand(3), random.random()
    d = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(c[0], d[0]) and np.array_equal(c[1], d[1]) and c[2] == d[2]


def test_state_loads_with_weights_only_and_rejects_junk(tmp_path):
    path = snap.save_state(tmp_path / "training-state-000001.pt", {"rng": snap.capture_rng(), "x": torch.ones(2)})
    state = torch.load(path, weights_only=True)
    assert state["format"] == snap.STATE_FORMAT and torch.equal(state["x"], torch.ones(2))
    assert torch.equal(snap.load_state(path)["x"], torch.ones(2))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable training state"):
        snap.load_state(tmp_path / "junk.pt")
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a stylegan training state"):
        snap.load_state(tmp_path / "other.pt")


def test_failed_write_keeps_the_previous_state(tmp_path):
    path = snap.save_state(tmp_path / "training-state-000001.pt", {"x": torch.zeros(1)})

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        snap.save_state(path, {"x": Unpicklable()})
    assert torch.equal(snap.load_state(path)["x"], torch.zeros(1))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_run_dirs_and_resume_lookup(tmp_path):
    a = snap.new_run_dir(tmp_path, "stylegan2-x")
    b = snap.new_run_dir(tmp_path, "stylegan2-x")
    assert (a.name, b.name) == ("00000-stylegan2-x", "00001-stylegan2-x")
    with pytest.raises(UserError, match="no run"):
        snap.find_resume_state("latest", tmp_path)
    for n in (16, 4000, 32):
        snap.save_state(snap.state_path(a, n), {})
    assert snap.find_resume_state("latest", tmp_path) == snap.state_path(a, 4000)
    assert snap.find_resume_state(str(a), tmp_path) == snap.state_path(a, 4000)
    snap.save_state(snap.state_path(b, 8), {})
    assert snap.find_resume_state("latest", tmp_path) == snap.state_path(b, 8)
    with pytest.raises(UserError, match="does not exist"):
        snap.find_resume_state(str(tmp_path / "nope.pt"), tmp_path)
    snap.prune_states(a, keep=2)
    assert [p.name for p in snap.training_states(a)] == ["training-state-000000.032.pt", "training-state-000004.pt"]
