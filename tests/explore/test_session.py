"""The explorer's session: which paths it opens, latest-wins rendering, ws in and out, captures."""

import io
import os
import threading
import time

import numpy as np
import pytest
import torch

import stylegan
from stylegan.errors import UserError
from stylegan.explore.render import Settings, render
from stylegan.explore.session import Explorer, LatestWins, Superseded
from stylegan.io.zoo import shipped_networks
from stylegan.tools.generate import generate_images, load_projected_ws
from stylegan.utils.images import to_uint8


@pytest.fixture
def explorer(nets, tmp_path):
    return Explorer(roots=[nets["root"]], outdir=tmp_path / "out")


def test_resolve_relative_absolute_shipped_and_run_dirs(explorer, nets):
    assert explorer.resolve("g16.safetensors") == nets["sg2"].resolve()
    assert explorer.resolve(str(nets["sg2"])) == nets["sg2"].resolve()
    assert explorer.resolve("00001-run") == nets["run_latest"].resolve()  # the newest snapshot
    name = next(iter(shipped_networks()))
    assert explorer.resolve(name) == shipped_networks()[name]
    assert explorer.resolve(name + ".safetensors") == shipped_networks()[name]


@pytest.mark.parametrize(
    "text,match",
    [
        ("", "give a network"),
        ("../g16.safetensors", r"'\.\.'"),
        ("00001-run/../g16.safetensors", r"'\.\.'"),
        ("/etc/passwd", "outside the folders"),
        ("missing.safetensors", "not found"),
        ("a\x00b", "NUL"),
    ],
)
def test_resolve_refuses(explorer, text, match):
    with pytest.raises(UserError, match=match):
        explorer.resolve(text)


def test_symlink_out_of_the_root_is_refused(explorer, nets, tmp_path):
    outside = tmp_path / "elsewhere.safetensors"
    outside.write_bytes(nets["sg2"].read_bytes())
    link = nets["root"] / "link.safetensors"
    if not link.exists():
        os.symlink(outside, link)
    with pytest.raises(UserError, match="outside the folders"):
        explorer.resolve("link.safetensors")
    assert Explorer(roots=[nets["root"]], allowed_files=[outside]).resolve(str(outside)) == outside.resolve()


def test_folder_without_snapshots_and_non_network_files(explorer, nets):
    (nets["root"] / "empty").mkdir(exist_ok=True)
    with pytest.raises(UserError, match="without network-snapshot"):
        explorer.open("empty")
    (nets["root"] / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="unsupported file format"):
        explorer.open("notes.txt")
    assert explorer.G is None


def test_open_describes_the_network_and_keeps_recent(explorer, nets):
    info = explorer.open("g16.safetensors")
    assert info["resolution"] == 16 and info["num_ws"] == explorer.G.num_ws and not info["stylegan3"]
    assert info["layers"][-1]["name"] is None and info["presets"]["coarse"]
    explorer.open("sg3.safetensors")
    assert explorer.network["stylegan3"] and not explorer.network["noise"]
    explorer.open("g16.safetensors")
    assert explorer.recent == ["g16.safetensors", "sg3.safetensors"]


def test_render_needs_a_network(explorer):
    with pytest.raises(UserError, match="no network is open"):
        explorer.render(Settings())


def test_latest_wins_drops_waiting_jobs():
    lock = threading.Lock()
    lw = LatestWins(lock)
    started, release = threading.Event(), threading.Event()
    ran, results = [], {}

    def job(name, block=False):
        def run():
            if block:
                started.set()
                release.wait(5)
            ran.append(name)
            return name

        return run

    def submit(name, block=False, key="page"):
        try:
            results[name] = lw.run(key, job(name, block))
        except Superseded:
            results[name] = "superseded"

    first = threading.Thread(target=submit, args=("a", True))
    first.start()
    assert started.wait(5)
    waiting = [threading.Thread(target=submit, args=(n,)) for n in ("b", "c", "d")]
    for t in waiting:
        t.start()
        time.sleep(0.05)
    other = threading.Thread(target=submit, args=("x", False, "other-tab"))
    other.start()
    time.sleep(0.05)
    release.set()
    for t in [first, *waiting, other]:
        t.join(5)
    assert results == {"a": "a", "b": "superseded", "c": "superseded", "d": "d", "x": "x"}
    assert sorted(ran) == ["a", "d", "x"]


def test_w_export_import_round_trip(explorer, nets, tmp_path):
    explorer.open("g16.safetensors")
    s = Settings(x=6, psi=0.6, mix_seed=2, mix_layers=[0, 1])
    data = explorer.export_w(s)
    path = tmp_path / "w.npz"
    path.write_bytes(data)
    with np.load(path) as f:
        assert f["w"].shape == (explorer.G.num_ws, explorer.G.w_dim) and f["w"].dtype == np.float32
    ws = load_projected_ws(path, explorer.G.num_ws, explorer.G.w_dim)  # what `stylegan generate --projected-w` reads
    ids = explorer.import_w(data, "w.npz")
    assert len(ids) == 1
    imported = explorer.render(Settings(w_id=ids[0]))
    assert np.array_equal(imported.picture, explorer.render(s).picture)
    assert np.allclose(imported.ws, ws)


def test_import_w_errors(explorer):
    explorer.open("g16.safetensors")
    with pytest.raises(UserError, match="not a readable .npz"):
        explorer.import_w(b"garbage", "x.npz")
    buffer = io.BytesIO()
    np.savez(buffer, w=np.zeros((3, 5), np.float32))
    with pytest.raises(UserError, match=r"x\.npz: 'w' has shape \[3, 5\]"):
        explorer.import_w(buffer.getvalue(), "x.npz")
    buffer = io.BytesIO()
    np.savez(buffer, z=np.zeros((3, 5), np.float32))
    with pytest.raises(UserError, match="no array named 'w'"):
        explorer.import_w(buffer.getvalue(), "x.npz")


def test_save_image_and_output_names(explorer):
    explorer.open("g16.safetensors")
    path = explorer.save_image(Settings(x=3, psi=0.5))
    assert path.name == "seed0003-0000.png" and path.parent == explorer.outdir
    from PIL import Image

    saved = np.asarray(Image.open(path))
    assert np.array_equal(saved, to_uint8(generate_images(explorer.G, [3], 0.5))[0])
    assert explorer.save_image(Settings(x=3, psi=0.5)).name == "seed0003-0001.png"
    assert explorer.output_path("seed0003-0000.png") == path
    for bad in ("../x.png", ".hidden", "a/b.png", ""):
        with pytest.raises(UserError):
            explorer.output_path(bad)


def test_record_video(explorer, nets):
    explorer.open("g16.safetensors")
    path = explorer.record_video(Settings(x=0), "latent", frames=4, fps=4, speed=1.0)
    assert path.exists() and path.suffix in (".mp4", ".gif") and path.stat().st_size > 0
    with pytest.raises(UserError, match="StyleGAN3"):
        explorer.record_video(Settings(), "rotate", frames=2)
    with pytest.raises(UserError, match="frames"):
        explorer.record_video(Settings(), "latent", frames=0)
    explorer.open("sg3.safetensors")
    assert explorer.record_video(Settings(), "rotate", frames=2, fps=2).exists()


def test_video_frames_are_the_rendered_views(explorer, monkeypatch):
    explorer.open("g16.safetensors")
    captured = []

    def fake_write_video(frames, path, fps, notice=None):
        captured.extend(frames)
        return path

    monkeypatch.setattr("stylegan.tools.media.write_video", fake_write_video)
    explorer.record_video(Settings(x=1), "latent", frames=3, fps=2, speed=1.0)
    G = stylegan.load(explorer.resolve("g16.safetensors"))
    for i, frame in enumerate(captured):
        assert np.array_equal(frame, render(G, Settings(x=1 + i / 2)).picture)


def _png_bytes(picture):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def test_projection_of_an_uploaded_image(explorer):
    explorer.open("g16.safetensors")
    target = explorer.render(Settings(x=3)).picture
    status = explorer.start_projection(_png_bytes(target), "face.png", steps=30, distance="mse", w_avg_samples=200)
    assert status["state"] == "running" and status["num_steps"] == 30
    explorer._projection_thread.join(60)
    done = explorer.projection
    assert done["state"] == "done" and done["step"] == 30 and done["w_id"] in explorer.imported
    projected = explorer.render(Settings(w_id=done["w_id"])).image
    start = explorer.render(Settings(x=11)).image
    target_t = torch.from_numpy(target).permute(2, 0, 1)[None].float() / 127.5 - 1
    assert (projected - target_t).square().mean() < (start - target_t).square().mean()


@pytest.mark.parametrize(
    "data,kwargs,match",
    [
        (b"not an image", {}, "face.png: not a readable image"),
        (None, {"steps": 0}, "steps"),
        (None, {"distance": "l1"}, "distance must be one of"),
    ],
)
def test_projection_errors(explorer, data, kwargs, match):
    explorer.open("g16.safetensors")
    data = data if data is not None else _png_bytes(np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(UserError, match=match):
        explorer.start_projection(data, "face.png", **kwargs)
    assert explorer.projection["state"] == "idle"


def test_directions_computed_and_uploaded(explorer, tmp_path):
    from stylegan.editing.directions import find_ganspace, save_direction, sefa
    from stylegan.editing.edit import inputs_from_seeds, render_edits

    explorer.open("edit16.safetensors")
    G = explorer.G
    info = explorer.compute_directions("sefa", 4)
    assert info["method"] == "sefa" and len(info["names"]) == 4 and info["warning"] is None
    d = explorer.directions[info["id"]]
    assert torch.allclose(d.vectors, sefa(G, num_components=4).vectors)
    got = explorer.render(Settings(x=2, direction_id=info["id"], edit_strengths=[0, 0, 3.0])).picture
    assert np.array_equal(got, to_uint8(render_edits(G, inputs_from_seeds(G, [2]), d, 2, [3.0])[0, 0][None])[0])
    gs = explorer.compute_directions("ganspace", 3, samples=500)
    assert torch.allclose(explorer.directions[gs["id"]].vectors, find_ganspace(G, 500, 3).vectors, atol=1e-5)
    # a direction file, as `stylegan directions` writes it
    path = save_direction(d, tmp_path / "d.safetensors")
    up = explorer.load_direction(path.read_bytes(), "d.safetensors")
    assert up["names"] == d.names and torch.equal(explorer.directions[up["id"]].vectors, d.vectors)
    with pytest.raises(UserError, match="mine.safetensors is not a readable safetensors file"):
        explorer.load_direction(b"junk", "mine.safetensors")
    with pytest.raises(UserError, match="directions computed here"):
        explorer.compute_directions("interfacegan")
    # a direction of another network of the same shape applies, with a warning for the page
    other = Explorer(roots=explorer.roots, outdir=tmp_path)
    other.open("00001-run")
    with pytest.raises(UserError, match="dimensions"):
        other.load_direction(path.read_bytes(), "d.safetensors")


def test_a_change_of_the_view_alone_reuses_the_synthesis(explorer):
    explorer.open("g16.safetensors")
    G = explorer.G
    calls = []
    handle = G.synthesis.register_forward_hook(lambda *args: calls.append(1))
    try:
        s = Settings(x=2, layer="synthesis.b8.conv0", sel_channels=1)
        explorer.render(s)
        for view in ({"base_channel": 5}, {"gain_db": 6.0, "normalize": True}, {"fft": True, "fft_beta": 4.0}):
            changed = Settings(**{**s.__dict__, **view})
            got = explorer.render(changed)
            assert np.array_equal(got.picture, render(G, changed).picture)
        assert len(calls) == 1 + 3  # the first rendering, then only the uncached references
        explorer.render(Settings(**{**s.__dict__, "psi": 0.5}))
        assert len(calls) == 5
    finally:
        handle.remove()


def test_browse_lists_networks_and_run_directories(explorer, nets):
    found, truncated = explorer.browse()
    assert not truncated
    expected = {"g16.safetensors", "sg3.safetensors", "00001-run", "00001-run/network-snapshot-000012.safetensors"}
    assert expected <= set(found)
    assert not any("training-state" in f for f in found)
    for f in found:
        explorer.resolve(f)  # everything listed may be opened
    assert len(explorer.browse(limit=2)[0]) == 2 and explorer.browse(limit=2)[1]


def test_official_snapshot_pickles_and_their_run_directories(nets, tmp_path):
    from stylegan.io.export_official import write_official_snapshot

    G = stylegan.load(nets["sg2"])
    run = tmp_path / "00003-official"
    write_official_snapshot({"G_ema": G}, run / "network-snapshot-000040.pkl")
    write_official_snapshot({"G_ema": stylegan.load(nets["cond"])}, run / "network-snapshot-000008.pkl")
    explorer = Explorer(roots=[tmp_path], outdir=tmp_path / "out")
    info = explorer.open("00003-official")
    assert info["path"].endswith("network-snapshot-000040.pkl")
    assert np.array_equal(explorer.render(Settings(x=4, psi=0.6)).picture, render(G, Settings(x=4, psi=0.6)).picture)


def test_nan_weights_open_with_a_warning(nets, tmp_path):
    G = stylegan.load(nets["sg2"])
    with torch.no_grad():
        next(G.parameters()).fill_(float("nan"))
    stylegan.save(G, tmp_path / "nan.safetensors")
    explorer = Explorer(roots=[tmp_path], outdir=tmp_path / "out")
    assert "NaN or infinite" in explorer.open("nan.safetensors")["warning"]
