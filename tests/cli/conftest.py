import pytest

import stylegan
from stylegan.models import build_preset


@pytest.fixture(scope="session")
def tiny_generator_path(tmp_path_factory):
    """A small random StyleGAN2 generator saved as a native checkpoint."""
    spec = build_preset("stylegan2", 16, channel_base=128, channel_max=16, map_layers=2, z_dim=16, w_dim=16)
    G, _ = spec.build()
    return stylegan.save(G, tmp_path_factory.mktemp("nets") / "g16.safetensors")


@pytest.fixture(scope="session")
def tiny_conditional_generator_path(tmp_path_factory):
    spec = build_preset("stylegan2", 8, c_dim=3, channel_base=64, channel_max=8, map_layers=1, z_dim=8, w_dim=8)
    G, _ = spec.build()
    return stylegan.save(G, tmp_path_factory.mktemp("nets") / "g8c.safetensors")


def run_cli(*args):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    import contextlib
    import io

    from stylegan.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()
