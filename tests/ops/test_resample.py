import pytest
import torch
import torch.nn.functional as F

from stylegan.ops.resample import blur2d, conv_downscale2d, downscale2d, lerp_clip, upscale2d, upscale_conv2d
from stylegan.ops.upfirdn2d import setup_filter


def test_upscale_is_nearest_and_downscale_is_box_mean():
    x = torch.arange(4.0).reshape(1, 1, 2, 2)
    up = upscale2d(x)
    assert up.shape == (1, 1, 4, 4)
    assert torch.equal(up[0, 0], torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]))
    assert torch.equal(downscale2d(up), x)
    y = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(downscale2d(y, 4)[0, 1, 1, 0], y[0, 1, 4:8, 0:4].mean())
    assert upscale2d(y, 1) is y and downscale2d(y, 1) is y


def test_blur_is_normalised_121_with_same_padding():
    f = setup_filter([1, 2, 1])
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 16
    y = blur2d(x, f)
    expected = torch.tensor([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert y.shape == x.shape
    torch.testing.assert_close(y[0, 0, 1:4, 1:4], expected)
    assert y.sum().item() == pytest.approx(16)
    assert blur2d(x, None) is x


@pytest.mark.parametrize("size", [4, 8])
def test_fused_upscale_conv_equals_upscale_then_conv_with_the_kernel_rotated(size):
    """As the official fused op (conv2d_transpose) computes; its exact parity with a transcription of
    the official ops is in tests/models/test_stylegan1_fused_scale.py."""
    x = torch.randn(2, 5, size, size, dtype=torch.float64)
    w = torch.randn(4, 5, 3, 3, dtype=torch.float64)
    reference = F.conv2d(upscale2d(x), w, padding=1)
    torch.testing.assert_close(upscale_conv2d(x, w, fused=False), reference)
    torch.testing.assert_close(upscale_conv2d(x, w.flip([2, 3]), fused=True), reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize("size", [4, 8])
def test_fused_conv_downscale_equals_conv_then_box(size):
    x = torch.randn(2, 5, size, size, dtype=torch.float64)
    w = torch.randn(4, 5, 3, 3, dtype=torch.float64)
    reference = F.avg_pool2d(F.conv2d(x, w, padding=1), 2)
    torch.testing.assert_close(conv_downscale2d(x, w, fused=False), reference)
    torch.testing.assert_close(conv_downscale2d(x, w, fused=True), reference, rtol=0, atol=1e-12)


def test_lerp_clip_clamps_t():
    a, b = torch.zeros(3), torch.ones(3) * 2
    assert torch.equal(lerp_clip(a, b, -0.5), a)
    assert torch.equal(lerp_clip(a, b, 1.5), b)
    torch.testing.assert_close(lerp_clip(a, b, 0.25), torch.full([3], 0.5))
