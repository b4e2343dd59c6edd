"""``--precision fp32|bf16|auto`` on every command that runs a generator: accepted, refused in one line,
and bfloat16 images close to float32 ones."""

from __future__ import annotations

import importlib

import click
import numpy as np
import pytest
from PIL import Image

from stylegan.cli.main import SUBCOMMANDS
from tests.cli.conftest import run_cli

pytestmark = pytest.mark.usefixtures("one_thread")

# Commands (and analyze subcommands) that run a generator.
RUNS_A_GENERATOR = ["generate", "mix", "video", "project", "metrics"]
ANALYZE_WITH_NETWORKS = [
    "layers",
    "artifacts",
    "compare",
    "noise",
    "truncation",
    "contribution",
    "internals",
    "sticking",
    "attribute",
    "ablation",
    "amplification",
    "rates",
]


def _command(name: str) -> click.Command:
    return importlib.import_module(SUBCOMMANDS[name][0]).command


def _precision_option(command: click.Command) -> click.Option | None:
    return next((p for p in command.params if p.name == "precision"), None)


@pytest.mark.parametrize("name", RUNS_A_GENERATOR + [f"analyze {sub}" for sub in ANALYZE_WITH_NETWORKS])
def test_every_command_that_runs_a_generator_takes_precision(name):
    parts = name.split()
    command = _command(parts[0])
    if len(parts) > 1:
        command = command.commands[parts[1]]
    option = _precision_option(command)
    assert option is not None, name
    assert list(option.type.choices) == ["fp32", "bf16", "auto"] and option.default == "fp32"


def test_bfloat16_generate_is_close_to_float32(tiny_generator_path, tmp_path):
    images = {}
    for precision in ("fp32", "bf16", "auto"):
        code, _, err = run_cli(
            "generate",
            "--network",
            tiny_generator_path,
            "--seeds",
            "0-1",
            "--precision",
            precision,
            "--outdir",
            tmp_path / precision,
        )
        assert code == 0, err
        images[precision] = np.asarray(Image.open(tmp_path / precision / "seed0001.png"), dtype=np.float64)
    difference = np.abs(images["bf16"] - images["fp32"])
    assert 0 < difference.mean() < 2.0  # bfloat16 differs, by under 1 % of the 255 levels on average
    assert difference.max() <= 32


@pytest.mark.parametrize("value", ["bf17", "fp16", ""])
def test_a_bad_precision_is_one_error_line(value, tiny_generator_path, tmp_path):
    code, out, err = run_cli(
        "generate", "--network", tiny_generator_path, "--seeds", "0", "--precision", value, "--outdir", tmp_path
    )
    assert code == 2
    assert "--precision" in err and "fp32" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bf16_on_a_gpu_is_refused_in_one_line(tiny_generator_path, tmp_path, monkeypatch):
    """Where the device is not the CPU, bf16 is refused before anything runs (auto falls back to fp32)."""
    import torch

    monkeypatch.setattr("stylegan.utils.device.pick_device", lambda device: torch.device("meta"))
    code, _, err = run_cli(
        "generate", "--network", tiny_generator_path, "--seeds", "0", "--precision", "bf16", "--outdir", tmp_path
    )
    assert code == 2 and "bf16 is bfloat16 inference on the CPU" in err
    assert len(err.strip().splitlines()) == 1
