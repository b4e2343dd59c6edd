"""The shipped toyfaces probe: held-out accuracy per factor, and the probe file's handling."""

import numpy as np
import pytest
import torch

from stylegan.data import toyfaces
from stylegan.errors import UserError
from stylegan.metrics.detectors import get_distance, load_detector
from stylegan.metrics.probe import WEIGHTS, ProbeHeads, ToyfacesProbe, load_probe, save_probe

HELD_OUT = 10**7 + 500_000  # never used in training (training: [0, 20000), its own test set: [1e7, 1e7 + n))
REQUIRED_ACCURACY = 0.95


def held_out_faces(n, resolution):
    idx = HELD_OUT + np.arange(n)
    images = torch.from_numpy(np.stack([toyfaces.render(int(i), resolution)[0] for i in idx])).permute(0, 3, 1, 2)
    return images.float() / 127.5 - 1, toyfaces.factor_table(idx)


@pytest.fixture(scope="module")
def probe():
    return load_detector("probe")


@pytest.mark.parametrize("resolution", [32, 64, 128])
def test_held_out_accuracy_per_factor(probe, resolution):
    images, table = held_out_faces(300, resolution)
    pred = probe.predict(images)
    for name in probe.model.heads.classes:
        accuracy = (pred[name].numpy() == np.asarray(table[name]).astype(np.int64)).mean()
        assert accuracy >= REQUIRED_ACCURACY, f"{name}: {accuracy:.3f}"
    for name in probe.model.heads.continuous:
        assert np.abs(pred[name].numpy() - table[name]).mean() < 0.1, name


def test_attribute_probabilities_and_features(probe):
    images, table = held_out_faces(16, 32)
    probs = probe.attribute_probabilities(images)
    assert set(probs) == set(toyfaces.FACTOR_NAMES)
    for p in probs.values():
        torch.testing.assert_close(p.sum(1), torch.ones(16))
    uint8 = ((images + 1) * 127.5).round().to(torch.uint8)
    feats = probe.features(uint8)
    assert feats.shape == (16, 256)
    assert probe.fingerprint.startswith("toyfaces-probe-")


def test_probe_distance(probe):
    images, _ = held_out_faces(4, 64)
    dist = get_distance("probe")
    same = dist(images, images)
    assert torch.all(same.abs() < 1e-6)
    near = dist(images, images + 0.01 * torch.randn_like(images))
    far = dist(images, images.roll(1, dims=0))
    assert torch.all(near < far) and torch.all(near > 0)


def test_shipped_file_is_small_and_records_its_training():
    assert WEIGHTS.stat().st_size < 2 * 1024 * 1024
    meta = load_probe().metadata
    assert "held_out_accuracy" in meta["training"]


def test_probe_file_round_trip_and_errors(tmp_path):
    heads = ProbeHeads({"a": ("x", "y")}, ("yaw",))
    model = ToyfacesProbe(heads)
    save_probe(model, tmp_path / "p.safetensors")
    back = load_probe(tmp_path / "p.safetensors")
    x = torch.rand(2, 3, 20, 20) * 2 - 1
    torch.testing.assert_close(back.model(x)["a"], model(x)["a"])
    with pytest.raises(UserError, match="not found"):
        load_probe(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(UserError):
        load_probe(tmp_path / "junk.safetensors")
