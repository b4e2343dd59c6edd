"""stylegan convert, end to end."""

import torch

import stylegan
from stylegan.io import load_networks
from stylegan.io.checkpoint import read_metadata
from tests.cli.conftest import run_cli
from tests.conftest import reference_file


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_convert_tf_pickle_generator_and_discriminator(tmp_path):
    src = reference_file("tf_sg2.pkl")
    nets = load_networks(src)
    code, out, err = run_cli("convert", src, tmp_path / "g.safetensors")
    assert code == 0, err
    G = stylegan.load(tmp_path / "g.safetensors")
    assert same_weights(G, nets["G_ema"])  # Gs
    z = torch.randn(2, 32)
    with torch.no_grad():
        assert torch.equal(G(z, None, noise_mode="const"), nets["G_ema"](z, None, noise_mode="const"))
    meta = read_metadata(tmp_path / "g.safetensors")
    assert meta["source_format"] == "tensorflow" and meta["source_network"] == "G_ema"
    code, _, err = run_cli("convert", src, tmp_path / "d.safetensors", "--which", "D")
    assert code == 0, err
    assert same_weights(stylegan.load(tmp_path / "d.safetensors"), nets["D"])


def test_convert_all_networks_of_a_snapshot_into_a_directory(tmp_path):
    src = reference_file("sg2_snapshot_sanitized.pkl")
    code, out, err = run_cli("convert", src, tmp_path / "out", "--which", "all")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "D.safetensors",
        "G.safetensors",
        "G_ema.safetensors",
    ]
    nets = load_networks(src)
    for name, net in nets.items():
        assert same_weights(stylegan.load(tmp_path / "out" / f"{name}.safetensors"), net)
    # Existing outputs are kept unless --force.
    before = (tmp_path / "out" / "D.safetensors").stat().st_mtime_ns
    code, _, err = run_cli("convert", src, tmp_path / "out", "--which", "all")
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "out" / "D.safetensors").stat().st_mtime_ns == before
    code, _, err = run_cli("convert", src, tmp_path / "out", "--which", "all", "--force")
    assert code == 0, err


def test_bad_input_exits_2_with_one_line(tmp_path):
    code, _, err = run_cli("convert", tmp_path / "missing.pkl", tmp_path / "g.safetensors")
    assert code == 2 and "not found" in err and len(err.strip().splitlines()) == 1
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"GIF89a" + b"\0" * 100)
    code, _, err = run_cli("convert", junk, tmp_path / "g.safetensors")
    assert code == 2 and "unsupported file format" in err and len(err.strip().splitlines()) == 1
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"cos\nsystem\n(Vtouch " + str(tmp_path / "pwned").encode() + b"\ntR.")
    code, _, err = run_cli("convert", evil, tmp_path / "g.safetensors")
    assert code == 2 and "'os.system'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "g.safetensors").exists()
    code, _, err = run_cli("convert", reference_file("sg3_snapshot_sanitized.pkl"), tmp_path / "d", "--which", "G")
    if code == 0:  # where the StyleGAN3 model is available
        assert stylegan.load(tmp_path / "d").kind.endswith("generator")
    else:
        assert code == 2 and "networks_stylegan3.Generator" in err and len(err.strip().splitlines()) == 1
