"""Tests of the ADA probability controller (Karras et al. 2020, Sec. 3)."""

from __future__ import annotations

import io
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from stylegan.errors import UserError
from stylegan.training.ada import AdaController, setup_augment
from stylegan.training.augment import AugmentPipe

STEP = 64 * 4 / 500_000  # batch * interval / (kimg * 1000) with the defaults


def logits(fraction_positive: float, n: int = 64) -> torch.Tensor:
    positive = round(fraction_positive * n)
    return torch.cat([torch.rand(positive) + 0.1, -torch.rand(n - positive) - 0.1])[:, None]


def test_p_rises_when_d_overfits_and_falls_otherwise():
    pipe = AugmentPipe(xflip=1)
    ada = AdaController(pipe, target=0.6, interval=4, kimg=500, batch_size=64)
    assert ada.adjustment_size == pytest.approx(STEP)
    for step in range(1, 41):
        ada.observe(logits(0.9))
        adjusted = ada.step()
        assert adjusted == (step % 4 == 0)
    assert ada.p == pytest.approx(10 * STEP, rel=1e-5)
    assert ada.last_rt == pytest.approx(0.8125, abs=1e-6)  # 58 of 64 positive: (58 - 6) / 64
    for _ in range(8):
        ada.observe(logits(0.2))
        ada.step()
    assert ada.p == pytest.approx(8 * STEP, rel=1e-5)
    assert ada.last_rt < 0.6


def test_p_is_clamped_at_zero_and_steady_at_target():
    pipe = AugmentPipe(xflip=1, p=STEP / 2)
    ada = AdaController(pipe, batch_size=64)
    for _ in range(4):
        ada.observe(logits(0.0))
        ada.step()
    assert ada.p == 0.0
    ada = AdaController(AugmentPipe(xflip=1, p=0.25), target=0.5, batch_size=64)
    for _ in range(4):
        ada.observe(torch.tensor([1.0, 2.0, 0.5, -3.0]))  # r_t == target exactly: no change
        ada.step()
    assert ada.p == 0.25 and ada.last_rt == 0.5


def test_nothing_observed_changes_nothing_and_statistics_reset():
    ada = AdaController(AugmentPipe(xflip=1, p=0.1), interval=2, batch_size=8)
    ada.step()
    ada.step()
    assert ada.p == pytest.approx(0.1) and ada.last_rt != ada.last_rt  # NaN: nothing seen
    ada.observe(torch.ones(8))
    ada.step()
    ada.observe(-torch.ones(8))
    ada.step()  # r_t = 0 over both steps since the last adjustment
    assert ada.last_rt == 0.0 and ada.p < 0.1
    ada.step(batch_idx=6)  # explicit step counts are honoured
    assert ada.num_steps == 6


def test_exact_resume_from_state_dict():
    torch.manual_seed(0)
    stream = [torch.randn(16, 1) + 1.0 for _ in range(23)]  # r_t near 0.68: p mostly rises, sometimes falls
    a = AdaController(AugmentPipe(xflip=1), batch_size=16, kimg=1)
    for x in stream[:10]:  # stop in the middle of an interval: pending statistics matter
        a.observe(x)
        a.step()
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    b = AdaController(AugmentPipe(xflip=1), batch_size=16, kimg=1)
    b.load_state_dict(state)
    for x in stream[10:]:
        for ctrl in (a, b):
            ctrl.observe(x)
            ctrl.step()
        assert torch.equal(a.pipe.p, b.pipe.p) and a.num_steps == b.num_steps
    assert a.p > 0 and a.state_dict() == b.state_dict()
    with pytest.raises(UserError, match="ADA state"):
        b.load_state_dict({"p": 0.1})


def test_setup_augment_modes():
    pipe, ada = setup_augment("ada", batch_size=32)
    assert isinstance(ada, AdaController) and ada.pipe is pipe and pipe.p.item() == 0.0 and pipe.hue == 1
    pipe, ada = setup_augment("fixed", p=0.3, preset="bg")
    assert ada is None and pipe.p.item() == pytest.approx(0.3) and pipe.brightness == 0
    assert setup_augment("none") == (None, None)
    pipe, _ = setup_augment("fixed", p=0.5, preset="blit", xint_max=0.25)
    assert pipe.xint_max == 0.25
    for kwargs, message in [({"mode": "strong"}, "unknown augmentation mode"),
                            ({"mode": "fixed"}, "needs an augmentation probability"),
                            ({"mode": "fixed", "p": 1.5}, "in \\[0, 1\\]"),
                            ({"mode": "none", "p": 0.2}, "needs --aug fixed or ada"),
                            ({"mode": "ada", "preset": "xyz"}, "unknown augmentation preset"),
                            ({"mode": "ada", "target": 2.0}, "target"),
                            ({"mode": "ada", "interval": 0}, "interval"),
                            ({"mode": "ada", "wobble": 1}, "bad augmentation option")]:  # fmt: skip
        with pytest.raises(UserError, match=message):
            setup_augment(**kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_worker(rank: int, world: int, port: int, results) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        ada = AdaController(AugmentPipe(xflip=1), interval=1, batch_size=2)
        # Rank 0 sees only positive logits, rank 1 mostly negative: globally r_t = (4 - 2) / 8 = 0.25 < 0.6.
        ada.observe(torch.ones(4) if rank == 0 else torch.tensor([1.0, -1.0, -1.0, -1.0]))
        ada.step()
        results[rank] = (ada.last_rt, ada.p)
    finally:
        dist.destroy_process_group()


def test_statistics_are_summed_with_all_reduce(monkeypatch):
    """Single process: stand in for a second rank whose reals all got negative logits."""
    calls = []

    def fake_all_reduce(tensor, op=None):
        calls.append(tensor.tolist())
        tensor += torch.tensor([-4.0, 4.0])

    monkeypatch.setattr(dist, "is_available", lambda: True)
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "all_reduce", fake_all_reduce)
    ada = AdaController(AugmentPipe(xflip=1), interval=1, batch_size=2)
    ada.observe(torch.ones(4))
    ada.step()
    assert calls == [[4.0, 4.0]] and ada.last_rt == 0.0 and ada.p == 0.0
    ada.step()  # ranks that saw nothing still take part in the reduction
    assert calls[-1] == [0.0, 0.0]


@pytest.mark.slow
@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not available")
def test_statistics_are_reduced_over_ranks():
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_rank_worker, args=(2, _free_port(), results), nprocs=2, join=True)
        assert dict(results) == {0: (0.25, 0.0), 1: (0.25, 0.0)}  # without reduction rank 0 would raise p
