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
