"""Bad inputs end in one clear line and never a traceback (issue 14): malformed network configs
in every command that opens a network, NaN weights, non-finite or huge option values, hostile
training states, damaged statistics caches and dataset labels that training would refuse."""

from __future__ import annotations

import json
import pickle
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from stylegan.data import open_dataset
from stylegan.errors import UserError
from tests.cli.conftest import run_cli

pytestmark = pytest.mark.usefixtures("one_thread")

NET = "{net}"  # the network under test, in the command lines below
COMMANDS = {  # every command that opens a network; {tmp} is the test's folder
    "info": ["info", NET],
    "generate": ["generate", "--network", NET, "--seeds", "0", "--outdir", "{tmp}/out"],
    "convert": ["convert", NET, "{tmp}/converted.safetensors"],
    "export": ["export", NET, "--format", "torchscript", "--out", "{tmp}/g.pt"],
    "mix": ["mix", "--network", NET, "--rows", "0", "--cols", "1", "--output", "{tmp}/mix.png"],
    "video": ["video", "--network", NET, "--seeds", "0,1", "--frames-per-seed", "2", "--output", "{tmp}/v.gif"],
    "project": [
        "project",
        "--network",
        NET,
        "--target",
        "{tmp}/target.png",
        "--outdir",
        "{tmp}/proj",
        "--steps",
        "2",
        "--distance",
        "mse",
        "--w-avg-samples",
        "16",
    ],
    "spectra": ["spectra", "--network", NET, "--outdir", "{tmp}/spectra", "--num", "2"],
    "analyze layers": ["analyze", "layers", "--network", NET],
    "analyze artifacts": ["analyze", "artifacts", "--network", NET, "--seeds", "0", "--outdir", "{tmp}/art"],
    "analyze compare": ["analyze", "compare", NET, NET, "--seeds", "0"],
    "analyze noise": ["analyze", "noise", "--network", NET, "--seeds", "0", "--draws", "2", "--outdir", "{tmp}/n"],
    "analyze truncation": ["analyze", "truncation", "--network", NET, "--seeds", "0", "--outdir", "{tmp}/t"],
    "analyze contribution": ["analyze", "contribution", "--network", NET, "--seeds", "0", "--outdir", "{tmp}/c"],
    "analyze internals": ["analyze", "internals", "--network", NET, "--seeds", "0", "--outdir", "{tmp}/i"],
    "analyze sticking": ["analyze", "sticking", NET, "--seeds", "0", "--frames", "2", "--outdir", "{tmp}/s"],
    "analyze attribute": [
        "analyze",
        "attribute",
        "--network",
        NET,
        "--images",
        "{tmp}",
        "--seeds",
        "0",
        "--steps",
        "1",
        "--distance",
        "mse",
        "--outdir",
        "{tmp}/a",
    ],
    "analyze ablation": [
        "analyze",
        "ablation",
        "--network",
        NET,
        "--seeds",
        "0",
        "--layer",
        "b4.conv1",
        "--units",
        "0-1",
        "--outdir",
        "{tmp}/ab",
    ],
    "analyze amplification": ["analyze", "amplification", "--network", NET, "--seeds", "0", "--outdir", "{tmp}/am"],
    "analyze rates": [
        "analyze",
        "rates",
        "--a",
        NET,
        "--b",
        NET,
        "--seeds",
        "0",
        "--samples",
        "100",
        "--outdir",
        "{tmp}/ra",
    ],
    "metrics": [
        "metrics",
        "--network",
        NET,
        "--data",
        "toyfaces",
        "--metrics",
        "fid50k_full",
        "--detector",
        "probe",
        "--num",
        "4",
        "--max-real",
        "4",
        "--cache-dir",
        "{tmp}/cache",
        "--quiet",
    ],
    "train --resume": [
        "train",
        "--resume",
        NET,
        "--cfg",
        "stylegan2",
        "--data",
        "toyfaces",
        "--res",
        "16",
        "--outdir",
        "{tmp}/runs",
        "--kimg",
        "0.001",
    ],
    "directions": [
        "directions",
        "--network",
        NET,
        "--method",
        "sefa",
        "--samples",
        "0",
        "--out",
        "{tmp}/d2.safetensors",
    ],
    "edit": [
        "edit",
        "--network",
        NET,
        "--seeds",
        "0",
        "--direction",
        "{tmp}/d.safetensors",
        "--steps",
        "2",
        "--outdir",
        "{tmp}/e",
    ],
    "pti": [
        "pti",
        "--network",
        NET,
        "--target",
        "{tmp}/target.png",
        "--outdir",
        "{tmp}/pti",
        "--distance",
        "mse",
        "--project-steps",
        "1",
        "--steps",
        "1",
        "--w-avg-samples",
        "16",
    ],
}
REFUSE_NAN_WEIGHTS = {
    "project",
    "spectra",
    "analyze artifacts",
    "analyze compare",
    "metrics",
    "train --resume",
    "analyze noise",
    "analyze truncation",
    "analyze contribution",
    "analyze internals",
    "analyze sticking",
    "analyze attribute",
    "analyze ablation",
    "analyze amplification",
    "analyze rates",
    "directions",
    "pti",
}

MALFORMED_CONFIGS = {  # config changes that no longer describe the stored weights, or no network at all
    "shapes disagree with the weights": dict(w_dim=32),
    "resolution 24": dict(img_resolution=24),
    "negative z_dim": dict(z_dim=-5),
    "string z_dim": dict(z_dim="16"),
    "resolution 2^20": dict(img_resolution=2**20, channel_base=2**40),  # would allocate terabytes
    "mapping layers 2^40": dict(mapping=dict(num_layers=2**40)),
    "config is a list": [1, 2, 3],
    "config is null": None,
}


def _command(name: str, net, tmp_path) -> list[str]:
    return [a.format(net=net, tmp=tmp_path) for a in COMMANDS[name]]


_KEEP = object()


def _rewrite(src, dest, config_change=_KEEP, weights_change=None):
    """A copy of the native checkpoint ``src`` with its config (merged with a dict, or replaced by
    any other JSON value) and/or weights changed."""
    tensors = load_file(str(src))
    with safe_open(str(src), "pt") as f:
        meta = dict(f.metadata())
    if config_change is not _KEEP:
        config = json.loads(meta["config"])
        meta["config"] = json.dumps({**config, **config_change} if isinstance(config_change, dict) else config_change)
    if weights_change is not None:
        weights_change(tensors)
    save_file(tensors, str(dest), metadata=meta)
    return dest


@pytest.fixture(scope="module")
def malformed_networks(tiny_generator_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("malformed")
    return {
        name: _rewrite(tiny_generator_path, folder / f"net{i}.safetensors", change)
        for i, (name, change) in enumerate(MALFORMED_CONFIGS.items())
    }


@pytest.fixture(scope="module")
def nan_network(tiny_generator_path, tmp_path_factory):
    def poison(tensors):
        tensors["mapping.fc0.weight"][0, 0] = float("nan")

    return _rewrite(tiny_generator_path, tmp_path_factory.mktemp("nan") / "nan.safetensors", weights_change=poison)


def _target(tmp_path):
    from stylegan.editing.directions import Direction, save_direction

    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(tmp_path / "target.png")
    save_direction(Direction(torch.eye(16)[:1], torch.ones(1), "w", "ganspace", ["pc0"]), tmp_path / "d.safetensors")


def _assert_one_error_line(code, out, err, *fragments):
    assert "Traceback" not in out + err, err
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1, (code, err)
    assert all(f in err for f in fragments), err


@pytest.mark.parametrize("malformed", MALFORMED_CONFIGS)
@pytest.mark.parametrize("command", COMMANDS)
def test_malformed_network_config_is_one_error_line(command, malformed, malformed_networks, tmp_path):
    _target(tmp_path)
    path = malformed_networks[malformed]
    code, out, err = run_cli(*_command(command, path, tmp_path))
    _assert_one_error_line(code, out, err, str(path))
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_nan_weights_warn_or_are_refused(command, nan_network, tmp_path):
    _target(tmp_path)
    code, out, err = run_cli(*_command(command, nan_network, tmp_path))
    if command in REFUSE_NAN_WEIGHTS:
        _assert_one_error_line(code, out, err, "NaN or infinite", "mapping.fc0.weight", "meaningless")
    else:
        assert code == 0, err
        warnings = [line for line in err.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 1 and "NaN or infinite" in warnings[0] and "mapping.fc0.weight" in warnings[0]


def _bomb_png(path):
    """A PNG whose header claims 10^10 pixels."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")
    )
    return path


BAD_OPTIONS = [  # (command with {net} and {tmp}, what the message says)
    ("video --network {net} --seeds 0,1 --fps nan --output {tmp}/v.gif", "not a finite number"),
    ("video --network {net} --seeds 0,1 --fps inf --output {tmp}/v.gif", "not a finite number"),
    ("project --network {net} --target {tmp}/target.png --outdir {tmp}/p --lr nan", "not a finite number"),
    ("spectra --network {net} --outdir {tmp}/s --std nan", "not a finite number"),
    ("spectra --network {net} --outdir {tmp}/s --mean nan", "not a finite number"),
    ("spectra --network {net} --outdir {tmp}/s --beta nan", "not a finite number"),
    ("generate --network {net} --seeds 0-999999999 --outdir {tmp}/g", "more than 1,000,000 seeds"),
    ("mix --network {net} --rows 0-999999999 --cols 1 --output {tmp}/m.png", "more than 1,000,000 seeds"),
    ("mix --network {net} --rows 0-9999 --cols 0-99 --output {tmp}/m.png", "use fewer seeds"),
    ("project --network {net} --target {tmp}/bomb.png --outdir {tmp}/p", "image too large"),
    ("train --cfg stylegan2 --data toyfaces --kimg inf --outdir {tmp}/runs", "not a finite number"),
    ("train --cfg stylegan2 --data toyfaces --seed 1099511627776 --outdir {tmp}/runs", "4294967295"),
    ("train --cfg stylegan2 --data toyfaces --p nan --outdir {tmp}/runs", "not a finite number"),
    ("generate --network {net} --seeds 0 --translate nan,0 --outdir {tmp}/g", "two numbers"),
]


@pytest.mark.parametrize("command,message", BAD_OPTIONS)
def test_non_finite_and_huge_option_values_are_refused(command, message, tiny_generator_path, tmp_path):
    _target(tmp_path)
    _bomb_png(tmp_path / "bomb.png")
    code, out, err = run_cli(*command.format(net=tiny_generator_path, tmp=tmp_path).split())
    assert code == 2 and message in err and "Traceback" not in out + err, err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one error line, as for every user error
    assert not (tmp_path / "runs").exists()


class _RunsCode:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w')",))


@pytest.mark.parametrize("kind", ["hostile pickle", "truncated"])
def test_resume_from_a_bad_training_state_speaks_for_itself(kind, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "training-state-000010.pt"
    if kind == "hostile pickle":
        torch.save({"format": "stylegan-training-state", "payload": _RunsCode()}, state)
    else:
        torch.save({"format": "stylegan-training-state", "x": torch.zeros(100)}, state)
        state.write_bytes(state.read_bytes()[:200])
    code, out, err = run_cli("train", "--resume", state)
    _assert_one_error_line(code, out, err, str(state))
    assert "weights_only" not in err  # not torch's advice to load it the unsafe way
    assert ("refusing to load" in err) == (kind == "hostile pickle")
    assert not (tmp_path / "PWNED").exists()


def _damage(path, kind):
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[:300])
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"raw_mean": [1.0]}))
    else:  # arrays of the wrong shape
        arrays = dict(np.load(path))
        arrays["raw_mean"] = arrays["raw_mean"][:3]
        with open(path, "wb") as f:
            np.savez(f, **arrays)


@pytest.mark.parametrize("damage", ["empty", "truncated", "pickle", "wrong shapes"])
def test_damaged_statistics_cache_is_recomputed(damage, tiny_generator_path, tmp_path):
    args = [
        "metrics",
        "--network",
        tiny_generator_path,
        "--data",
        "toyfaces",
        "--metrics",
        "fid50k_full",
        "--detector",
        "probe",
        "--num",
        "4",
        "--max-real",
        "4",
        "--cache-dir",
        tmp_path,
        "--quiet",
    ]
    code, first, err = run_cli(*args)
    assert code == 0, err
    (cached,) = (tmp_path / "gan-metrics").glob("*.npz")
    good = cached.read_bytes()
    _damage(cached, damage)
    code, again, err = run_cli(*args)
    assert code == 0 and "Traceback" not in err, err
    assert err.startswith("warning:") and "damaged" in err and "computing them again" in err and str(cached) in err
    assert again.split("(")[0] == first.split("(")[0]  # the same value
    assert cached.read_bytes() == good  # replaced by the recomputed statistics
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary left


BAD_LABELS = {  # labels training refuses; `stylegan dataset` refuses them before writing anything
    "ragged lists": ([1.0, 2.0], [1.0]),
    "strings": ("cat", "dog"),
    "NaN": ([1.0, float("nan")], [0.0, 1.0]),
    "negative class": (-1, 1),
    "float class": (1.5, 1),
    "class 10^9": (10**9, 1),
}


@pytest.mark.parametrize("labels", BAD_LABELS)
def test_dataset_refuses_labels_that_training_refuses(labels, tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    entries = []
    for i, label in enumerate(BAD_LABELS[labels]):
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(source / f"{i}.png")
        entries.append([f"{i}.png", label])
    (source / "dataset.json").write_text(json.dumps({"labels": entries}))
    with pytest.raises(UserError) as training:
        open_dataset(str(source), use_labels=True)
    code, out, err = run_cli("dataset", "--source", source, "--dest", tmp_path / "out.zip", "--resolution", "16")
    _assert_one_error_line(code, out, err, str(training.value))  # the same rule, the same message
    assert not (tmp_path / "out.zip").exists()
