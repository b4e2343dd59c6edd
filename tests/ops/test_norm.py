import torch

from stylegan.ops.norm import instance_norm, normalize_2nd_moment, pixel_instance_norm, pixel_norm


def test_pixel_norm_unit_rms_across_channels():
    x = torch.randn(2, 8, 4, 4) * 5
    y = pixel_norm(x)
    torch.testing.assert_close(y.square().mean(1), torch.ones(2, 4, 4), atol=1e-5, rtol=0)


def test_instance_norm_zero_mean_unit_rms():
    x = torch.randn(2, 3, 8, 8) * 3 + 7
    y = instance_norm(x)
    torch.testing.assert_close(y.mean([2, 3]), torch.zeros(2, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.square().mean([2, 3]), torch.ones(2, 3), atol=1e-5, rtol=0)


def test_normalize_2nd_moment_vectors():
    z = torch.randn(5, 16) * 4
    torch.testing.assert_close(normalize_2nd_moment(z).square().mean(1), torch.ones(5), atol=1e-5, rtol=0)


def test_pin_endpoints_and_mix():
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(pixel_instance_norm(x, torch.zeros(4)), instance_norm(x), rtol=0, atol=0)
    torch.testing.assert_close(pixel_instance_norm(x, torch.ones(4)), pixel_norm(x), rtol=0, atol=0)
    p = torch.tensor([0.0, 0.25, 0.5, 1.0])
    y = pixel_instance_norm(x, p)
    expected = p.reshape(1, -1, 1, 1) * pixel_norm(x) + (1 - p.reshape(1, -1, 1, 1)) * instance_norm(x)
    torch.testing.assert_close(y, expected)
