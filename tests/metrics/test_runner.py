"""The runner and the CLI end to end: a tiny random StyleGAN2 generator, toyfaces, the probe."""

import json
import math

import numpy as np
import pytest
import torch

from stylegan.errors import UserError
from stylegan.metrics.runner import METRICS, compute_metrics, run_metrics, snapshot_metrics
from stylegan.models import StyleGAN2Generator
from stylegan.models.mapping import MappingConfig
from stylegan.models.stylegan2 import StyleGAN2GeneratorConfig


def tiny_generator(c_dim=0):
    torch.manual_seed(0)
    return StyleGAN2Generator(
        StyleGAN2GeneratorConfig(
            z_dim=8,
            c_dim=c_dim,
            w_dim=8,
            img_resolution=16,
            channel_base=64,
            channel_max=8,
            mapping=MappingConfig(num_layers=2),
        )
    )


SMALL = dict(data="toyfaces", detector="probe", num_gen=12, max_real=16, batch_size=8, progress=False)


def test_all_metric_kinds_with_the_probe(tmp_path):
    from stylegan.metrics import detectors

    detectors._loaded.clear()  # a cold start (loading the probe) must not change the random draws
    G = tiny_generator()
    names = ["fid50k_full", "kid50k_full", "pr50k3_full", "ppl_wend", "ppl_zfull", "ls"]
    results = compute_metrics(G, names, cache_dir=tmp_path, **SMALL)
    assert set(results) == {
        "fid50k_full",
        "kid50k_full",
        "pr50k3_full_precision",
        "pr50k3_full_recall",
        "ppl_wend",
        "ppl_zfull",
        "ls_z",
        "ls_w",
    }
    assert all(math.isfinite(v) for v in results.values())
    assert results["fid50k_full"] > 0 and results["ppl_wend"] > 0
    assert 0 <= results["pr50k3_full_precision"] <= 1 and results["ls_z"] >= 1
    # Same seed, same numbers (dataset statistics now come from the cache).
    again = compute_metrics(G, ["kid50k_full", "ppl_zfull"], cache_dir=tmp_path, **SMALL)
    assert again == pytest.approx({k: results[k] for k in again}, rel=1e-6)
    assert len(list((tmp_path / "gan-metrics").glob("toyfaces-toyfaces-probe-*.npz"))) == 2  # mean/cov and all


def test_records_say_which_detector_made_each_number(tmp_path):
    G = tiny_generator()
    records = run_metrics(G, "fid50k_full,ppl2_wend,ls", cache_dir=tmp_path, **SMALL)
    assert [r.detector for r in records] == ["toyfaces-probe", "toyfaces-probe-distance", "toyfaces-probe"]
    assert records[0].num == 12 and records[0].extra["num_real"] == 16
    assert records[1].extra["crop"] is False
    line = records[2].record("net.safetensors")
    assert line["metric"] == "ls" and set(line["value"]) == {"ls_z", "ls_w"} and line["network"] == "net.safetensors"


def test_conditional_generator_uses_dataset_labels(tmp_path):
    from stylegan.data import toyfaces

    G = tiny_generator(c_dim=toyfaces.LABEL_DIM)
    out = compute_metrics(G, ["fid50k_full"], cache_dir=tmp_path, **SMALL)
    assert math.isfinite(out["fid50k_full"])
    with pytest.raises(UserError, match="labels of size"):
        compute_metrics(tiny_generator(c_dim=3), ["fid50k_full"], cache_dir=tmp_path, **SMALL)


def test_bad_requests():
    G = tiny_generator()
    with pytest.raises(UserError, match="unknown metric"):
        run_metrics(G, "fid_everything")
    with pytest.raises(UserError, match="give a dataset"):
        run_metrics(G, "fid50k_full", detector="probe", num_gen=4, progress=False)
    with pytest.raises(UserError, match="unknown detector"):
        run_metrics(G, "fid50k_full", detector="clip")
    assert {
        "fid50k_full",
        "kid50k_full",
        "pr50k3_full",
        "ppl_zfull",
        "ppl_wfull",
        "ppl_zend",
        "ppl_wend",
        "ls",
        "eqt50k_int",
        "eqt50k_frac",
        "eqr50k",
        "eqt",
        "eqt_frac",
        "eqr",
    } <= set(METRICS)


def test_equivariance_dispatch(monkeypatch):
    import sys
    import types

    calls = []
    module = types.ModuleType("stylegan.metrics.equivariance")
    module.compute_equivariance = lambda G, metric, num_samples, batch_size, seed, device: (
        calls.append((metric, num_samples)) or 42.0
    )
    monkeypatch.setitem(sys.modules, "stylegan.metrics.equivariance", module)
    out = compute_metrics(tiny_generator(), ["eqt50k_int", "eqr", "eqt_frac"], num_gen=5, progress=False)
    assert out == {"eqt50k_int": 42.0, "eqr": 42.0, "eqt_frac": 42.0}
    assert calls == [("eqt", 5), ("eqr", 5), ("eqt_frac", 5)]


def test_snapshot_metrics_for_the_trainer(tmp_path):
    out = snapshot_metrics(
        tiny_generator(),
        ["fid50k_full"],
        tmp_path / "run",
        "network-snapshot-000010.safetensors",
        cache_dir=tmp_path,
        **SMALL,
    )
    lines = (tmp_path / "run" / "metric-fid50k_full.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["value"] == out["fid50k_full"]


def test_probe_features_separate_real_from_noise():
    from stylegan.data import open_dataset
    from stylegan.metrics.detectors import load_detector
    from stylegan.metrics.fid import fid_from_features

    probe = load_detector("probe")
    ds = open_dataset("toyfaces", resolution=32, size=300)
    images = torch.from_numpy(np.stack([ds[i][0] for i in range(300)]))
    a, b = probe.features(images[:150]).numpy(), probe.features(images[150:]).numpy()
    noise = torch.randint(0, 256, (150, 3, 32, 32), dtype=torch.uint8)
    assert fid_from_features(a, b) * 10 < fid_from_features(a, probe.features(noise).numpy())
