"""Generator EMA with ramp-up."""

import pytest
import torch

from stylegan.training.ema import ema_beta, update_ema


def test_beta_half_life_and_rampup():
    # Half-life of 10 kimg: after 10k images at batch 32 the old weights weigh 1/2.
    beta = ema_beta(32, 10**7, 10, None)
    assert beta ** (10_000 / 32) == pytest.approx(0.5)
    # Ramp-up: early on the half-life is rampup * images seen.
    assert ema_beta(32, 1000, 10, 0.05) == pytest.approx(0.5 ** (32 / 50))
    assert ema_beta(32, 10**7, 10, 0.05) == pytest.approx(beta)
    assert ema_beta(32, 0, 10, 0.05) == pytest.approx(0.0)  # the first step copies the weights


def test_update_lerps_parameters_and_copies_buffers():
    a = torch.nn.BatchNorm1d(3)
    b = torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        a.weight.fill_(1.0)
        b.weight.fill_(3.0)
        b.running_mean.fill_(7.0)
    update_ema(a, b, beta=0.25)
    assert torch.allclose(a.weight, torch.full([3], 0.25 * 1 + 0.75 * 3))
    assert torch.equal(a.running_mean, b.running_mean)
