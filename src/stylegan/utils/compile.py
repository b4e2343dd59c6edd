"""Optional ``torch.compile`` of whole networks that never turns a missing compiler into a failure.

``maybe_compile(module)`` returns a module that runs the compiled graph when compilation works
and the plain (eager) module otherwise: when ``torch.compile`` is missing, when
``STYLEGAN_COMPILE=0`` or ``enabled=False``, when the CPU backend has no C++ compiler, or when the
first compiled call fails for any reason (then it warns once and stays eager).
"""

from __future__ import annotations

import os
import shutil
import warnings

import torch
from torch import nn


def compile_available(device: torch.device | str = "cpu") -> bool:
    """Whether ``torch.compile`` can be expected to work for ``device``."""
    if not hasattr(torch, "compile") or os.environ.get("STYLEGAN_COMPILE", "1").strip() in ("0", "false", "no"):
        return False
    if torch.device(device).type == "cpu":
        return any(shutil.which(c) for c in ("c++", "g++", "clang++"))
    return True


class CompiledOrEager(nn.Module):
    """Runs ``torch.compile(module)``; on the first failure falls back to ``module`` for good."""

    def __init__(self, module: nn.Module, **compile_kwargs):
        super().__init__()
        self.module = module
        self._compiled = torch.compile(module, **compile_kwargs)
        self.failed: str | None = None

    def forward(self, *args, **kwargs):
        if self.failed is None:
            try:
                return self._compiled(*args, **kwargs)
            except Exception as exc:  # any compiler/backend error: the eager module still works
                self.failed = f"{type(exc).__name__}: {exc}"
                warnings.warn(
                    f"torch.compile failed, running eagerly: {self.failed[:300]}", RuntimeWarning, stacklevel=2
                )
        return self.module(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def maybe_compile(module: nn.Module, enabled: bool = True, device: torch.device | str = "cpu", **compile_kwargs):
    """``module`` wrapped in ``CompiledOrEager`` when compilation is enabled and available, else as is."""
    if not enabled or not compile_available(device):
        return module
    return CompiledOrEager(module, **compile_kwargs)
