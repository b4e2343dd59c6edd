"""Shipped networks by name: ``stylegan.load(name)``, every tool's ``--network NAME``, and the shipped files."""

from __future__ import annotations

import pytest
import torch

import stylegan
from stylegan.io import load_network, zoo
from stylegan.models import build_preset
from tests.cli.conftest import run_cli


@pytest.fixture
def networks_dir(tmp_path, monkeypatch):
    """A package networks folder holding one tiny generator named ``toyfaces-tiny-16``."""
    folder = tmp_path / "networks"
    folder.mkdir()
    G, _ = build_preset("stylegan2", 16, channel_base=128, channel_max=16, map_layers=2, z_dim=16, w_dim=16).build()
    stylegan.save(G, folder / "toyfaces-tiny-16.safetensors")
    monkeypatch.setattr(zoo, "NETWORKS_DIR", folder)
    return folder


def test_name_resolves_to_the_shipped_file(networks_dir):
    assert zoo.shipped_networks() == {"toyfaces-tiny-16": networks_dir / "toyfaces-tiny-16.safetensors"}
    assert zoo.resolve_network("toyfaces-tiny-16") == networks_dir / "toyfaces-tiny-16.safetensors"
    assert zoo.resolve_network("toyfaces-tiny-16.safetensors") == networks_dir / "toyfaces-tiny-16.safetensors"
    G = stylegan.load("toyfaces-tiny-16")
    assert G.img_resolution == 16
    assert load_network("toyfaces-tiny-16").img_resolution == 16


def test_an_existing_path_wins_over_a_name(networks_dir, tmp_path, monkeypatch):
    G, _ = build_preset("stylegan2", 8, channel_base=64, channel_max=8, map_layers=1, z_dim=8, w_dim=8).build()
    monkeypatch.chdir(tmp_path)
    stylegan.save(G, tmp_path / "toyfaces-tiny-16")
    assert load_network("toyfaces-tiny-16").img_resolution == 8


def test_tools_take_a_name_and_a_wrong_name_lists_the_shipped_ones(networks_dir, tmp_path):
    code, out, err = run_cli("generate", "--network", "toyfaces-tiny-16", "--seeds", "0-1", "--outdir", tmp_path / "g")
    assert code == 0, err
    assert (tmp_path / "g" / "seed0001.png").exists()
    code, out, err = run_cli("info", "toyfaces-nothing-32")
    assert code != 0
    assert "toyfaces-tiny-16" in err and "Traceback" not in err


@pytest.mark.parametrize("name", sorted(zoo.shipped_networks()))
def test_every_shipped_network_loads_small_and_draws(name):
    path = zoo.shipped_networks()[name]
    assert path.stat().st_size <= 5 * 2**20
    G = stylegan.load(name)
    from stylegan.tools.generate import generate_images

    images = generate_images(G, [0, 1])
    assert images.shape[-1] == G.img_resolution and torch.isfinite(images).all()
    assert images.std() > 0.05  # not a constant picture
