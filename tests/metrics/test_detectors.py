"""Detector files: download from a server on 127.0.0.1 (never the internet), checksums, cache, offline
errors, the official pickle form read without running its code, and the LPIPS distance."""

import functools
import hashlib
import http.server
import io
import os
import pickle
import socket
import threading

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stylegan.errors import UserError
from stylegan.metrics import detectors
from stylegan.metrics.detectors import get_distance, load_detector, load_torchscript


class TinyDetector(nn.Module):
    """Stands for the official TorchScript files: same call signature, tiny weights."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 4)

    def forward(
        self, x: torch.Tensor, return_features: bool = False, resize_images: bool = True, return_lpips: bool = False
    ) -> torch.Tensor:
        x = x.to(torch.float32)
        if return_lpips:
            return x.flatten(1) / 255
        return self.proj(x.mean(dim=[2, 3]) / 255)


@pytest.fixture(scope="module")
def detector_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    torch.manual_seed(0)
    path = folder / "inception-2015-12-05.pt"
    torch.jit.script(TinyDetector()).save(str(path))
    (folder / "vgg16.pt").write_bytes(path.read_bytes())
    return path


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(detector_file):
    handler = functools.partial(QuietHandler, directory=str(detector_file.parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def closed_port_url(name="inception-2015-12-05.pt"):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_verify_and_cache_hit(server, detector_file, tmp_path):
    cache = tmp_path / "cache"
    det = load_detector(
        "inception", cache_dir=cache, url=f"{server}/inception-2015-12-05.pt", sha256=sha(detector_file)
    )
    cached = cache / "inception-2015-12-05.pt"
    assert cached.is_file() and sha(cached) == sha(detector_file)
    images = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    feats = det.features(images)
    assert feats.shape == (5, 4) and feats.dtype == torch.float32
    assert sorted(p.name for p in cache.iterdir()) == ["inception-2015-12-05.pt"]  # no temporary left
    # Cache hit: works with the server unreachable.
    detectors._loaded.clear()
    again = load_detector("inception", cache_dir=cache, url=closed_port_url(), sha256=sha(detector_file))
    torch.testing.assert_close(again.features(images), feats)


def test_checksum_mismatch_saves_nothing(server, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(UserError, match="checksum mismatch"):
        load_detector("inception", cache_dir=cache, url=f"{server}/inception-2015-12-05.pt", sha256="0" * 64)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_cached_file_with_wrong_checksum_is_refused(detector_file, tmp_path):
    (tmp_path / "inception-2015-12-05.pt").write_bytes(detector_file.read_bytes())
    with pytest.raises(UserError, match="sha256"):
        load_detector("inception", cache_dir=tmp_path, sha256="1" * 64)


def test_offline_error_says_where_to_put_the_file(tmp_path):
    cache = tmp_path / "empty"
    with pytest.raises(UserError) as err:
        load_detector("vgg16_lpips", cache_dir=cache, url=closed_port_url("vgg16.pt"))
    message = str(err.value)
    assert "could not download" in message and str(cache / "vgg16.pt") in message and "offline" in message
    with pytest.raises(UserError, match="not found in"):
        load_detector("inception", cache_dir=cache, allow_download=False)


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STYLEGAN_CACHE", str(tmp_path / "env"))
    assert detectors.default_cache_dir() == tmp_path / "env"
    assert detectors.default_cache_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("STYLEGAN_CACHE")
    assert detectors.default_cache_dir().name == "stylegan"


def test_explicit_path_and_bad_names(detector_file, tmp_path):
    det = load_detector("inception", path=detector_file)
    assert det.features(torch.zeros(1, 1, 4, 4, dtype=torch.uint8)).shape == (1, 4)  # grey -> 3 channels
    with pytest.raises(UserError, match="not found"):
        load_detector("inception", path=tmp_path / "missing.pt")
    with pytest.raises(UserError, match="unknown detector"):
        load_detector("resnet")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"definitely not a network")
    with pytest.raises(UserError):
        load_torchscript(junk)


class OfficialStyleWrapper:
    """A stand-in for a pickled wrapper object that carries the TorchScript archive as bytes."""

    def __init__(self, blob):
        self.meta = {"type": "class", "version": 6, "module_src": "raise SystemExit('never run')"}
        self.state = {"script": blob}


def wrapper_factory(blob):
    return OfficialStyleWrapper(blob)


class WrapperByReduce:
    def __init__(self, blob):
        self.blob = blob

    def __reduce__(self):
        return (wrapper_factory, (self.blob,))


def test_pickle_form_loads_without_running_code(detector_file, tmp_path):
    blob = detector_file.read_bytes()
    reference = load_torchscript(detector_file)
    x = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    for i, obj in enumerate([OfficialStyleWrapper(blob), WrapperByReduce(blob), {"net": [blob]}]):
        path = tmp_path / f"inception-{i}.pkl"
        path.write_bytes(pickle.dumps(obj, protocol=4))
        net = load_torchscript(path)
        torch.testing.assert_close(net(x, return_features=True), reference(x, return_features=True))


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "vgg16.pkl"
    path.write_bytes(pickle.dumps([Evil(marker), {"x": Evil(marker)}]))
    with pytest.raises(UserError, match="no TorchScript"):
        load_torchscript(path)
    assert not marker.exists()
    path.write_bytes(b"\x80\x04garbage")
    with pytest.raises(UserError):
        load_torchscript(path)


def test_official_pickle_name_found_in_cache(detector_file, tmp_path):
    buf = io.BytesIO()
    pickle.dump(OfficialStyleWrapper(detector_file.read_bytes()), buf)
    (tmp_path / "vgg16.pkl").write_bytes(buf.getvalue())
    det = load_detector("vgg16_lpips", cache_dir=tmp_path, allow_download=False)
    assert det.features(torch.zeros(1, 3, 4, 4, dtype=torch.uint8)).shape == (1, 4)


def test_lpips_distance_semantics(detector_file):
    # The tiny file's LPIPS features are the pixels / 255, so the distance is a known function.
    dist = get_distance("lpips", path=detector_file)
    torch.manual_seed(1)
    a, b = torch.rand(3, 3, 8, 8) * 2 - 1, torch.rand(3, 3, 8, 8) * 2 - 1
    expected = (((a + 1) * 127.5 - (b + 1) * 127.5) / 255).square().flatten(1).sum(1)
    torch.testing.assert_close(dist(a, b), expected)
    assert torch.all(dist(a, a) == 0)
    # Larger than 256: area-downsampled to 256 first (as the official projector does).
    big_a, big_b = torch.rand(1, 3, 512, 512) * 2 - 1, torch.rand(1, 3, 512, 512) * 2 - 1
    small_a, small_b = (F.interpolate(t, size=(256, 256), mode="area") for t in (big_a, big_b))
    expected = (((small_a - small_b) * 127.5) / 255).square().flatten(1).sum(1)
    torch.testing.assert_close(dist(big_a, big_b), expected, rtol=1e-4, atol=1e-4)
    no_resize = get_distance("lpips", path=detector_file, resize_to_256=False)
    assert not torch.allclose(no_resize(big_a, big_b), expected)
    with pytest.raises(ValueError):
        dist(a, b[:2])
    with pytest.raises(UserError):
        get_distance("l2")
