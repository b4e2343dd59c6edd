import numpy as np
import pytest
import torch

from stylegan.ops.upfirdn2d import (
    downsample2d,
    filter2d,
    setup_filter,
    upfirdn2d,
    upfirdn2d_numpy,
    upsample2d,
)


@pytest.mark.parametrize(
    "up,down,pad",
    [(1, 1, 0), (2, 1, (2, 1, 2, 1)), (1, 2, (1, 1, 1, 1)), (2, 2, 1), (4, 1, (3, 2, 3, 2)), (1, 1, (-1, 2, 0, -2))],
)
def test_matches_direct_convolution(up, down, pad):
    x = torch.randn(1, 1, 7, 9, dtype=torch.float64)
    f = setup_filter([1, 3, 3, 1]).double()
    y = upfirdn2d(x, f, up=up, down=down, padding=pad)
    ref = upfirdn2d_numpy(x[0, 0].numpy(), f.numpy(), up=up, down=down, padding=pad)
    np.testing.assert_allclose(y[0, 0].numpy(), ref, atol=1e-12)


@pytest.mark.parametrize(
    "up,down,pad",
    [(2, 1, (5, 4, 3, 2)), (2, 1, (-2, 3, 1, -1)), (4, 1, (-5, 7, 9, -3)), (2, 2, (3, 2, 2, 3)), (3, 1, 0)],
)
@pytest.mark.parametrize("flip", [False, True])
def test_upsampling_with_asymmetric_filters_matches_direct_convolution(up, down, pad, flip):
    """Upsampling runs as a strided transposed convolution: check orientation, padding and cropping
    against the direct zero-insert -> pad -> convolve -> subsample definition."""
    x = torch.randn(1, 2, 5, 7, dtype=torch.float64)
    taps = torch.tensor([0.5, -1.0, 2.0, 3.0, 0.25], dtype=torch.float64)
    f2 = torch.tensor([[1.0, 2.0, -1.0], [0.5, 4.0, 0.0], [3.0, -2.0, 1.0]], dtype=torch.float64)
    for f, dense in ((f2, f2), (taps, torch.outer(taps, taps))):
        y = upfirdn2d(x, f, up=up, down=down, padding=pad, flip_filter=flip, gain=1.5)
        kernel = dense.flip([0, 1]) if flip else dense
        for c in range(2):
            ref = upfirdn2d_numpy(x[0, c].numpy(), kernel.numpy(), up=up, down=down, padding=pad)
            np.testing.assert_allclose(y[0, c].numpy(), 1.5 * ref, atol=1e-12)


def test_flip_filter_is_correlation():
    x = torch.randn(1, 1, 6, 6, dtype=torch.float64)
    f = torch.tensor([[1.0, 2.0], [0.0, 5.0]], dtype=torch.float64)
    a = upfirdn2d(x, f, flip_filter=True, padding=1)
    b = upfirdn2d(x, f.flip([0, 1]), flip_filter=False, padding=1)
    torch.testing.assert_close(a, b)


def test_separable_equals_outer_product_and_gain():
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    taps = torch.tensor([1.0, 2.0, 4.0, 5.0, 4.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    f1 = setup_filter(taps, separable=True).double()
    f2 = setup_filter(taps, separable=False).double()
    assert f1.ndim == 1 and f2.ndim == 2
    a = upfirdn2d(x, f1, padding=3, gain=3.0)
    b = upfirdn2d(x, f2, padding=3, gain=3.0)
    torch.testing.assert_close(a, b)


def test_sizes_and_dc_gain_of_resampling():
    f = setup_filter([1, 3, 3, 1])
    x = torch.ones(1, 2, 8, 8)
    up = upsample2d(x, f)
    assert up.shape == (1, 2, 16, 16)
    torch.testing.assert_close(up[..., 2:-2, 2:-2], torch.ones_like(up[..., 2:-2, 2:-2]))
    down = downsample2d(x, f)
    assert down.shape == (1, 2, 4, 4)
    torch.testing.assert_close(down[..., 1:-1, 1:-1], torch.ones(1, 2, 2, 2))
    assert filter2d(x, f).shape == x.shape


def test_second_order_gradients():
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    f = setup_filter([1, 3, 3, 1]).double()
    assert torch.autograd.gradcheck(lambda t: upfirdn2d(t, f, up=2, down=1, padding=2), (x,))
    assert torch.autograd.gradgradcheck(lambda t: upfirdn2d(t, f, up=1, down=2, padding=1), (x,))
