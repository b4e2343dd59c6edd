import pytest
import torch

from tests.tools.conftest import build_seeded, tiny_stylegan2  # noqa: F401


@pytest.fixture(scope="module")
def G8():
    """A small random StyleGAN2 generator (8 px: 4 ws, w_dim 8)."""
    return tiny_stylegan2()


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
