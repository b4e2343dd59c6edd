"""Shared fixtures. Parity tests read the official reference outputs from STYLEGAN_REFERENCE
(default ../shared/reference); they skip with a reason where it is absent (a user's clone) but
fail in CI, where STYLEGAN_REQUIRE_REFERENCE=1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see stylegan/__init__.py; before torch loads
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def reference_dir() -> Path:
    return Path(os.environ.get("STYLEGAN_REFERENCE", REPO.parent / "shared" / "reference"))


def reference_file(name: str) -> Path:
    path = reference_dir() / name
    if not path.exists():
        if os.environ.get("STYLEGAN_REQUIRE_REFERENCE") == "1":
            pytest.fail(f"reference file {path} is required (STYLEGAN_REQUIRE_REFERENCE=1)")
        pytest.skip(f"official reference outputs not found at {path} (set STYLEGAN_REFERENCE)")
    return path


_cache: dict[str, dict] = {}


def load_reference(name: str) -> dict:
    """A reference case (e.g. 'sg2_uncond'), loaded once per session with weights_only=True."""
    if name not in _cache:
        _cache[name] = torch.load(reference_file(f"{name}.pt"), weights_only=True)
    return _cache[name]


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture
def one_thread():
    """One intra-op thread for the test: tests that run many tiny steps would otherwise oversubscribe
    a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
