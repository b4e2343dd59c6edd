"""Truncation sweep: psi 1 is the plain image, psi 0 the average image for every seed, and the
images in between follow w_avg + psi (w - w_avg)."""

from __future__ import annotations

import pytest
import torch

from stylegan.errors import UserError
from stylegan.tools.generate import generate_images, synthesize, truncation_sweep
from tests.tools.conftest import tiny_stylegan2


def test_sweep_rows_and_ends():
    G = tiny_stylegan2()
    G.mapping.w_avg.normal_(generator=torch.Generator().manual_seed(1))  # a w_avg that is not zero
    seeds, psis = [3, 4, 5], [-1.0, 0.0, 0.5, 1.0]
    sweep = truncation_sweep(G, seeds, psis)
    assert sweep.shape == (3, 4, G.img_channels, G.img_resolution, G.img_resolution)
    torch.testing.assert_close(sweep[:, 3], generate_images(G, seeds))
    average = synthesize(G, G.mapping.w_avg.expand(1, G.num_ws, -1), noise_mode="const")
    for row in range(3):
        torch.testing.assert_close(sweep[row, 1], average[0])
    assert (sweep[0, 0] - sweep[0, 3]).abs().max() > 1e-3


def test_sweep_needs_psis(tiny_G):
    with pytest.raises(UserError):
        truncation_sweep(tiny_G, [0], [])
