import pytest
import torch

import stylegan
from stylegan.models import build_preset


def _save(spec, path, seed=0):
    torch.manual_seed(seed)
    G, _ = spec.build()
    return stylegan.save(G.eval(), path)


@pytest.fixture(scope="session")
def nets(tmp_path_factory):
    """Tiny networks saved as native checkpoints in one folder: StyleGAN2 16 px, a conditional StyleGAN2
    8 px, StyleGAN3-T 16 px and StyleGAN1-PIN 16 px; plus a run directory with two snapshots."""
    root = tmp_path_factory.mktemp("explore-nets")
    paths = {
        "sg2": _save(
            build_preset("stylegan2", 16, channel_base=128, channel_max=16, map_layers=2, z_dim=16, w_dim=16),
            root / "g16.safetensors",
        ),
        "cond": _save(
            build_preset("stylegan2", 8, c_dim=3, channel_base=64, channel_max=8, map_layers=1, z_dim=8, w_dim=8),
            root / "g8c.safetensors",
        ),
        "sg3": _save(
            build_preset("stylegan3-t", 16, channel_base=64, channel_max=4, z_dim=8, w_dim=8), root / "sg3.safetensors"
        ),
        # channels equal to w_dim everywhere: stylegan.editing.styles.style_layers needs that for now
        "edit": _save(
            build_preset("stylegan2", 16, channel_base=256, channel_max=16, map_layers=2, z_dim=16, w_dim=16),
            root / "edit16.safetensors",
        ),
        "pin": _save(
            build_preset("stylegan1-pin", 16, channel_base=64, channel_max=8, map_layers=1, z_dim=8, w_dim=8),
            root / "pin.safetensors",
        ),
    }
    run = root / "00001-run"
    run.mkdir()
    spec = build_preset("stylegan2", 8, channel_base=64, channel_max=8, map_layers=1, z_dim=8, w_dim=8)
    _save(spec, run / "network-snapshot-000004.safetensors", seed=1)
    paths["run_latest"] = _save(spec, run / "network-snapshot-000012.safetensors", seed=2)
    (run / "training-state-000012.pt").write_bytes(b"not a network")
    paths["run"] = run
    paths["root"] = root
    return paths
