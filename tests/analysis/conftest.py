import pytest
import torch

from stylegan.models import build_preset


def tiny_stylegan1(preset="stylegan1", seed=0):
    torch.manual_seed(seed)
    G, _ = build_preset(preset, 32, channel_base=256, channel_max=32, map_layers=2, z_dim=16, w_dim=16).build()
    return G.eval()


def plant_noise_spike(G, layer="b16.conv0", at=(5, 9), value=30.0, weight=3.0):
    """Make the stored noise of one layer a 2x2 spike that every channel picks up strongly: the
    mechanism of the paper's Claim 1 (an artifact born from the noise inputs)."""
    noise = G.synthesis.get_submodule(layer).epilogue.noise
    with torch.no_grad():
        noise.weight.fill_(weight)
        noise.noise_const.zero_()
        noise.noise_const[at[0] : at[0] + 2, at[1] : at[1] + 2] = value
    return G


@pytest.fixture(scope="module")
def spiked_generator():
    return plant_noise_spike(tiny_stylegan1())
