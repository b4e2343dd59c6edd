import pytest
import torch

import stylegan
from stylegan.models import build_preset


def build_seeded(spec, seed=0):
    """Build a preset's generator with fixed random weights, leaving the global RNG as it was."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        G, _ = spec.build()
    return G.eval().requires_grad_(False)


def tiny_stylegan2(resolution=8, **kw):
    """A small random StyleGAN2 generator (8 px: 4 ws, 8 channels), the same weights every time."""
    settings = dict(channel_base=8 * resolution, channel_max=8, map_layers=2, z_dim=8, w_dim=8)
    settings.update(kw)
    return build_seeded(build_preset("stylegan2", resolution, **settings))


@pytest.fixture(scope="session")
def tiny_G():
    return tiny_stylegan2()


@pytest.fixture(scope="session")
def tiny_G_path(tmp_path_factory, tiny_G):
    return stylegan.save(tiny_G, tmp_path_factory.mktemp("nets") / "g8.safetensors")


@pytest.fixture(autouse=True)
def one_thread():
    """These networks are tiny: intra-op threads only add synchronisation, which on a busy machine
    costs far more than the work itself."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
