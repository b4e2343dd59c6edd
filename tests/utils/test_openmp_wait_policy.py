"""Importing stylegan before torch makes OpenMP threads sleep instead of spin (stylegan/__init__.py)."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = "import stylegan, os, torch; print(os.environ.get('OMP_WAIT_POLICY'))"


def _run(env_value):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_value is not None:
        env["OMP_WAIT_POLICY"] = env_value
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_default_is_passive():
    assert _run(None) == "PASSIVE"


def test_user_value_is_kept():
    assert _run("ACTIVE") == "ACTIVE"
