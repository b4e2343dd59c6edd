"""load_network: every format by content, the right network, clear errors."""

import importlib.util
import shutil

import pytest

import stylegan
from stylegan.errors import CheckpointError
from stylegan.io import detect_format, load_network
from tests.conftest import reference_file


def test_formats_are_detected_by_content_not_name(tmp_path):
    cases = {
        "sg2_snapshot_sanitized.pkl": "official-snapshot",
        "tf_sg2.pkl": "tensorflow",
        "sg1_A.pkl": "tensorflow",
        "sg2_uncond.pt": "torch",
    }
    for name, fmt in cases.items():
        assert detect_format(reference_file(name)) == fmt
        renamed = tmp_path / "network.safetensors"
        shutil.copyfile(reference_file(name), renamed)
        assert detect_format(renamed) == fmt
    G = load_network(reference_file("tf_sg2.pkl"))
    native = stylegan.save(G, tmp_path / "odd-name.pkl")
    assert detect_format(native) == "native"
    assert load_network(native).config == G.config


def test_which_picks_the_network(tmp_path):
    snap = reference_file("sg2_snapshot_sanitized.pkl")
    assert load_network(snap, "G").kind == "stylegan2.generator"
    D = load_network(snap, "D")
    assert D.kind == "stylegan2.discriminator"
    path = stylegan.save(D, tmp_path / "d.safetensors")
    assert load_network(path, "D").kind == "stylegan2.discriminator"
    with pytest.raises(CheckpointError, match="not a generator"):
        load_network(path, "G")
    with pytest.raises(CheckpointError, match="which must be"):
        load_network(snap, "G_ema")


def test_stylegan1_tf_pickles_go_to_the_stylegan1_importer():
    path = reference_file("sg1_A.pkl")
    if importlib.util.find_spec("stylegan.io.tf_stylegan1") is None:
        with pytest.raises(CheckpointError, match="StyleGAN1 TF import is unavailable"):
            load_network(path)
    else:
        assert load_network(path).img_resolution == 32


def test_bad_paths_and_unknown_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_network(tmp_path / "missing.pkl")
    with pytest.raises(CheckpointError, match="directory"):
        load_network(tmp_path)
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_network(empty)
    for junk in (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, b"hello, world\n", b"\x00" * 100):
        path = tmp_path / "junk.pkl"
        path.write_bytes(junk)
        with pytest.raises(CheckpointError, match="unsupported file format"):
            load_network(path)
    with pytest.raises(CheckpointError, match="not a rosinality"):
        load_network(reference_file("sg2_uncond.pt"))
