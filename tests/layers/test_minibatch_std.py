"""Minibatch standard deviation (ProGAN Section 3): values, grouping, and float16 safety."""

from __future__ import annotations

import torch

from stylegan.layers.minibatch_std import minibatch_stddev


def test_values_and_grouping():
    torch.manual_seed(0)
    x = torch.randn(4, 6, 3, 3, dtype=torch.float64)
    y = minibatch_stddev(x, group_size=2, num_channels=2)
    assert y.shape == (4, 8, 3, 3) and torch.equal(y[:, :6], x)
    # Sample i is in group i % (n / G): samples 0 and 2 form one group, 1 and 3 the other.
    for members in ([0, 2], [1, 3]):
        std = x[members].std(dim=0, unbiased=False)  # [6, 3, 3]
        expected = (std.square() + 1e-8).sqrt().reshape(2, 3, 3, 3).mean(dim=[1, 2, 3])
        for i in members:
            torch.testing.assert_close(y[i, 6:, 0, 0], expected)
            assert torch.equal(y[i, 6:], y[i, 6:, :1, :1].expand(2, 3, 3))


def test_identical_samples_in_float16_give_finite_gradients():
    """A zero spread in float16 would hit sqrt(0) (1e-8 underflows); the statistic runs in float32."""
    x = torch.ones(4, 8, 4, 4, dtype=torch.float16, requires_grad=True)
    y = minibatch_stddev(x, group_size=4)
    assert y.dtype == torch.float16
    y.sum().backward()
    assert torch.isfinite(x.grad).all()
