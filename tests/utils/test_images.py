"""One rounding of float images to uint8, the official one (x * 127.5 + 128, clamped, truncated)."""

import numpy as np
import torch

from stylegan.utils.images import from_uint8, quantize, to_uint8


def test_quantize_rounds_the_official_way():
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.003, 0.5, 1.0, 3.0]).view(1, 1, 2, 4)
    q = quantize(x)
    assert q.dtype == torch.uint8 and q.shape == x.shape
    # -1 -> 0.5 -> 0; -0.5 -> 64.25 -> 64; 0 -> 128; 0.003 -> 128.38 -> 128; 0.5 -> 191.75 -> 191; 1 -> 255.5 -> 255
    assert q.flatten().tolist() == [0, 0, 64, 128, 128, 191, 255, 255]
    assert quantize(x.to(torch.bfloat16)).flatten().tolist() == q.flatten().tolist()


def test_to_uint8_is_quantize_in_image_layout():
    x = torch.rand(2, 3, 4, 5) * 2 - 1
    a = to_uint8(x)
    assert isinstance(a, np.ndarray) and a.shape == (2, 4, 5, 3)
    assert np.array_equal(a, quantize(x).permute(0, 2, 3, 1).numpy())
    # Every uint8 value survives the round trip through [-1, 1].
    levels = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    assert torch.equal(quantize(from_uint8(levels)), levels)
