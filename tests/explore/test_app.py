"""API tests of every endpoint of the explorer (FastAPI TestClient)."""

import base64
import io
import threading
import time
import warnings

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the explorer's API needs fastapi (pip install 'stylegan[explore]')")
pytest.importorskip("httpx", reason="the API tests need httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

import stylegan  # noqa: E402
from stylegan.explore.app import create_app  # noqa: E402
from stylegan.explore.render import Settings, render  # noqa: E402
from stylegan.explore.session import Explorer  # noqa: E402
from stylegan.tools.generate import generate_images  # noqa: E402
from stylegan.utils.images import to_uint8  # noqa: E402


def decode(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))


@pytest.fixture
def explorer(nets, tmp_path):
    return Explorer(roots=[nets["root"]], outdir=tmp_path / "out")


@pytest.fixture
def client(explorer):
    return TestClient(create_app(explorer))


@pytest.fixture
def opened(client):
    r = client.post("/api/open", json={"path": "g16.safetensors"})
    assert r.status_code == 200, r.text
    return client


def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"] and "explorer.js" in r.text
    assert client.get("/static/explorer.js").status_code == 200
    assert client.get("/static/explorer.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_state_before_and_after_open(client, explorer, nets):
    state = client.get("/api/state").json()
    assert state["network"] is None and state["device"] == "cpu" and "fp32" in state["precisions"]
    assert state["roots"] == [str(nets["root"].resolve())]
    client.post("/api/open", json={"path": "00001-run"})
    state = client.get("/api/state").json()
    assert state["network"]["path"] == str(nets["run_latest"].resolve()) and state["recent"] == ["00001-run"]
    assert state["network"]["layers"][0]["dtype"] == "float32"


@pytest.mark.parametrize(
    "path,status,match",
    [
        ("missing.safetensors", 400, "not found"),
        ("../g16.safetensors", 400, "'..'"),
        ("/etc/hostname", 400, "outside the folders"),
        ("", 400, "give a network"),
    ],
)
def test_open_errors(client, path, status, match):
    r = client.post("/api/open", json={"path": path})
    assert r.status_code == status and match in r.json()["error"]


def test_open_non_network_file_and_malformed_body(client, nets):
    (nets["root"] / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 32)
    r = client.post("/api/open", json={"path": "photo.png"})
    assert r.status_code == 400 and "unsupported file format" in r.json()["error"]
    r = client.post("/api/open", json={"nothing": 1})
    assert r.status_code == 422 and "path" in r.json()["error"]
    r = client.post("/api/open", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_render_matches_the_library(opened, explorer):
    r = opened.post("/api/render", json={"x": 5, "psi": 0.7})
    body = r.json()
    assert r.status_code == 200 and body["superseded"] is False
    assert np.array_equal(decode(body["image"]), to_uint8(generate_images(explorer.G, [5], 0.7))[0])
    assert body["shape"] == [3, 16, 16] and body["device"] == "cpu" and body["render_ms"] > 0
    assert set(body["stats"]) == {"mean", "sel_mean", "std", "sel_std", "max", "sel_max"}


def test_render_layer_fft_and_mixing(opened, explorer):
    s = {
        "x": 2.5,
        "y": 0.25,
        "layer": "synthesis.b8.conv1",
        "sel_channels": 1,
        "base_channel": 3,
        "normalize": True,
        "gain_db": -3,
        "fft": True,
        "mix_seed": 7,
        "mix_layers": [0, 1],
        "noise_mode": "random",
        "noise_seed": 4,
    }
    body = opened.post("/api/render", json=s).json()
    ref = render(explorer.G, Settings(**s)).picture
    assert np.array_equal(decode(body["image"]), ref) and ref.shape == (8, 16, 3)
    assert body["layer"] == "synthesis.b8.conv1" and body["base_channel"] == 3


@pytest.mark.parametrize(
    "body,status,match",
    [
        ({"x": "abc"}, 422, "x:"),
        ({"psi": 9}, 400, "truncation psi"),
        ({"mix_layers": [0, 50]}, 400, "out of range"),
        ({"layer": "synthesis.nope"}, 400, "no layer named"),
        ({"rotate": 5}, 400, "StyleGAN3"),
        ({"class_idx": 0}, 400, "unconditional"),
        ({"mix_layers": "abc"}, 422, "mix_layers"),
    ],
)
def test_render_errors(opened, body, status, match):
    r = opened.post("/api/render", json=body)
    assert r.status_code == status and match in r.json()["error"]
    assert opened.post("/api/render", json={}).status_code == 200  # the server goes on


def test_render_without_a_network(client):
    r = client.post("/api/render", json={})
    assert r.status_code == 400 and "no network is open" in r.json()["error"]


def test_render_is_latest_wins(opened, explorer):
    explorer.work_lock.acquire()  # a rendering is running
    answers = {}

    def post(name, x):
        answers[name] = opened.post("/api/render?client=tab", json={"x": x}).json()

    threads = [threading.Thread(target=post, args=(f"r{x}", x)) for x in (1, 2, 3)]
    try:
        for t in threads:
            t.start()
            time.sleep(0.2)
    finally:
        explorer.work_lock.release()
    for t in threads:
        t.join(10)
    assert answers["r1"] == {"superseded": True} and answers["r2"] == {"superseded": True}
    assert answers["r3"]["superseded"] is False
    assert np.array_equal(decode(answers["r3"]["image"]), to_uint8(generate_images(explorer.G, [3]))[0])


def test_stylegan3_and_conditional(client, explorer):
    client.post("/api/open", json={"path": "sg3.safetensors"})
    body = client.post("/api/render", json={"x": 1, "translate_x": 0.25, "rotate": 30}).json()
    ref = generate_images(explorer.G, [1], translate=(0.25, 0), rotate=30)
    assert np.array_equal(decode(body["image"]), to_uint8(ref)[0])
    client.post("/api/open", json={"path": "g8c.safetensors"})
    body = client.post("/api/render", json={"x": 1, "class_idx": 2}).json()
    assert np.array_equal(decode(body["image"]), to_uint8(generate_images(explorer.G, [1], class_idx=2))[0])


def test_w_export_and_import(opened, explorer, tmp_path):
    r = opened.post("/api/w/export", json={"x": 4, "psi": 0.5})
    assert r.status_code == 200 and "w.npz" in r.headers["content-disposition"]
    r2 = opened.post("/api/w/import", files={"file": ("mine.npz", r.content, "application/octet-stream")})
    assert r2.status_code == 200 and r2.json()["count"] == 1
    w_id = r2.json()["ids"][0]
    a = opened.post("/api/render", json={"w_id": w_id}).json()["image"]
    b = opened.post("/api/render", json={"x": 4, "psi": 0.5}).json()["image"]
    assert np.array_equal(decode(a), decode(b))
    bad = opened.post("/api/w/import", files={"file": ("bad.npz", b"nonsense", "application/octet-stream")})
    assert bad.status_code == 400 and "bad.npz" in bad.json()["error"]
    assert opened.post("/api/w/import").status_code == 422


def test_save_and_output(opened, explorer):
    r = opened.post("/api/save", json={"x": 2})
    body = r.json()
    assert r.status_code == 200 and body["url"] == "/api/output/seed0002-0000.png"
    png = opened.get(body["url"])
    assert png.status_code == 200
    saved = np.asarray(Image.open(io.BytesIO(png.content)))
    assert np.array_equal(saved, to_uint8(generate_images(explorer.G, [2]))[0])
    assert opened.get("/api/output/nothing.png").status_code == 404
    assert opened.get("/api/output/..%2Fsecret").status_code in (400, 404)
    assert opened.get("/api/output/.hidden").status_code == 400


def test_video(opened):
    r = opened.post("/api/video", json={"settings": {"x": 0}, "kind": "latent", "frames": 3, "fps": 3})
    assert r.status_code == 200, r.text
    assert opened.get(r.json()["url"]).status_code == 200
    r = opened.post("/api/video", json={"settings": {}, "kind": "rotate", "frames": 3})
    assert r.status_code == 400 and "StyleGAN3" in r.json()["error"]
    r = opened.post("/api/video", json={"kind": "spin"})
    assert r.status_code == 400 and "animation must be one of" in r.json()["error"]


def test_artifacts_and_pin(client, nets):
    client.post("/api/open", json={"path": "pin.safetensors"})
    body = client.post("/api/artifacts", json={"x": 1}).json()
    assert body["layer"].startswith("synthesis.") and "score" in body["region"]
    assert decode(body["energy_figure"]).shape[1] > decode(body["energy_figure"]).shape[0]
    assert decode(body["profile_figure"]).size > 0
    gates = client.get("/api/pin").json()["gates"]
    G = stylegan.load(nets["pin"])
    assert [g["name"] for g in gates] and gates[0]["values"] == pytest.approx(
        dict(G.named_modules())[gates[0]["name"]].gate.tolist()
    )


def test_projection_endpoints(opened, explorer):
    target = decode(opened.post("/api/render", json={"x": 3}).json()["image"])
    buffer = io.BytesIO()
    Image.fromarray(target).save(buffer, format="PNG")
    assert opened.get("/api/project").json() == {"state": "idle"}
    r = opened.post(
        "/api/project",
        files={"file": ("face.png", buffer.getvalue(), "image/png")},
        data={"steps": "8", "distance": "mse"},
    )
    assert r.status_code == 200 and r.json()["state"] == "running"
    deadline = time.time() + 60
    while (status := opened.get("/api/project").json())["state"] == "running" and time.time() < deadline:
        time.sleep(0.05)
    assert status["state"] == "done" and status["step"] == 8
    assert opened.post("/api/render", json={"w_id": status["w_id"]}).status_code == 200
    bad = opened.post("/api/project", files={"file": ("face.png", b"nope", "image/png")})
    assert bad.status_code == 400 and "face.png" in bad.json()["error"]
    bad = opened.post(
        "/api/project", files={"file": ("face.png", buffer.getvalue(), "image/png")}, data={"steps": "many"}
    )
    assert bad.status_code == 422 and "steps" in bad.json()["error"]


def test_direction_endpoints(client, explorer, tmp_path):
    from stylegan.editing.directions import save_direction

    opened = client
    assert client.post("/api/open", json={"path": "edit16.safetensors"}).status_code == 200
    r = opened.post("/api/directions/compute", json={"method": "sefa", "components": 3})
    assert r.status_code == 200 and len(r.json()["names"]) == 3
    key = r.json()["id"]
    s = {"x": 1, "direction_id": key, "edit_strengths": [2.0, 0, 0]}
    got = decode(opened.post("/api/render", json=s).json()["image"])
    assert np.array_equal(got, render(explorer.G, Settings(**s), directions=explorer.directions).picture)
    assert not np.array_equal(got, decode(opened.post("/api/render", json={"x": 1}).json()["image"]))
    path = save_direction(explorer.directions[key], tmp_path / "d.safetensors")
    up = opened.post("/api/directions/upload", files={"file": ("d.safetensors", path.read_bytes(), "application/x")})
    assert up.status_code == 200 and up.json()["method"] == "sefa"
    bad = opened.post("/api/directions/upload", files={"file": ("x.safetensors", b"junk", "application/x")})
    assert bad.status_code == 400 and "x.safetensors" in bad.json()["error"]
    bad = opened.post("/api/directions/compute", json={"method": "magic"})
    assert bad.status_code == 400
    bad = opened.post("/api/render", json={"direction_id": "none", "edit_strengths": [1]})
    assert bad.status_code == 400 and "no direction named" in bad.json()["error"]


def test_an_internal_error_is_reported_and_the_server_goes_on(explorer, monkeypatch):
    client = TestClient(create_app(explorer), raise_server_exceptions=False)
    client.post("/api/open", json={"path": "g16.safetensors"})

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("stylegan.explore.session.render", broken)
    r = client.post("/api/render", json={})
    assert r.status_code == 500 and r.json()["error"].startswith("internal error (RuntimeError: boom)")
    monkeypatch.undo()
    assert client.post("/api/render", json={}).status_code == 200


def test_networks_listing(client):
    body = client.get("/api/networks").json()
    assert "g16.safetensors" in body["networks"] and body["truncated"] is False
