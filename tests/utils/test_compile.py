import pytest
import torch
from torch import nn

from stylegan.utils import compile as compile_mod
from stylegan.utils.compile import CompiledOrEager, compile_available, maybe_compile


def test_disabled_returns_module(monkeypatch):
    m = nn.Linear(3, 2)
    assert maybe_compile(m, enabled=False) is m
    monkeypatch.setenv("STYLEGAN_COMPILE", "0")
    assert not compile_available()
    assert maybe_compile(m) is m


def test_no_cpp_compiler_means_eager(monkeypatch):
    monkeypatch.setattr(compile_mod.shutil, "which", lambda name: None)
    m = nn.Linear(3, 2)
    assert maybe_compile(m, device="cpu") is m


def test_failing_compiler_falls_back(monkeypatch):
    def broken_compile(module, **kwargs):
        def run(*args, **kw):
            raise RuntimeError("no compiler here")

        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    monkeypatch.setattr(compile_mod, "compile_available", lambda device="cpu": True)
    m = nn.Linear(3, 2)
    wrapped = maybe_compile(m)
    assert isinstance(wrapped, CompiledOrEager)
    x = torch.randn(4, 3)
    with pytest.warns(RuntimeWarning, match="running eagerly"):
        y = wrapped(x)
    torch.testing.assert_close(y, m(x))
    assert "no compiler here" in wrapped.failed
    assert wrapped.in_features == 3  # attributes of the wrapped module stay reachable


@pytest.mark.skipif(not compile_available("cpu"), reason="torch.compile needs a C++ compiler on the CPU")
# StyleGAN2's G and D (which StyleGAN3 shares), forward and backward: tests/training/test_compile.py.
@pytest.mark.parametrize(
    "preset,check_D",
    [
        ("stylegan1", True),
        ("stylegan3-t", False),
        pytest.param("stylegan3-r", False, marks=pytest.mark.slow),
    ],
)
def test_compiled_networks_compute_what_eager_ones_do(preset, check_D, one_thread):
    """Generator images, and D's logits with their input gradients (the G side of training),
    compiled vs eager. Guards against graphs that differ silently (e.g. numpy scalars in a layer)."""
    from stylegan.models import build_preset

    torch._dynamo.reset()
    torch.manual_seed(0)
    G, D = build_preset(preset, 16, channel_base=256, channel_max=16, map_layers=1, z_dim=8, w_dim=8).build()
    G.eval()
    z = torch.randn(4, 8)
    G_compiled = maybe_compile(G)
    with torch.no_grad():
        torch.testing.assert_close(
            G_compiled(z, None, noise_mode="const"), G(z, None, noise_mode="const"), rtol=1e-5, atol=1e-5
        )
    assert G_compiled.failed is None
    if not check_D:
        return
    D_compiled = maybe_compile(D)
    img = torch.randn(4, 3, 16, 16)
    results = []
    for net in (D, D_compiled):
        x = img.clone().requires_grad_(True)
        logits = net(x, None)
        logits.square().sum().backward()
        results.append((logits.detach(), x.grad))
    torch.testing.assert_close(results[1], results[0], rtol=1e-4, atol=1e-5)
    assert D_compiled.failed is None
