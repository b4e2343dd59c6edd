"""Attribution by projection (StyleGAN2 Section 5): the network's own images reproject closer than
real ones; the ROC and AUC of telling them apart."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import stylegan
from stylegan.analysis.attribution import attribution_report, folder_images, reprojection_distance, roc
from stylegan.errors import UserError
from stylegan.tools.generate import generate_images
from tests.cli.conftest import run_cli
from tests.tools.conftest import tiny_stylegan2


def test_roc_known_answers():
    separated = roc([0.1, 0.2], [0.3, 0.4])
    assert separated.auc == 1.0 and separated.best_threshold() == 0.2
    assert separated.fpr[0] == 0 and separated.tpr[0] == 0 and separated.fpr[-1] == 1 and separated.tpr[-1] == 1
    assert roc([0.3, 0.4], [0.1, 0.2]).auc == 0.0
    assert roc([0.5, 0.5], [0.5, 0.5]).auc == 0.5
    assert roc([0.1, 0.35], [0.3, 0.4]).auc == pytest.approx(0.75)  # 3 of the 4 pairs in order
    with pytest.raises(UserError):
        roc([], [0.1])


def real_images(n=3, size=8, seed=0):
    """Random images: nothing a small generator can reproduce."""
    rng = np.random.RandomState(seed)
    return [
        (f"real{i}.png", torch.from_numpy(rng.uniform(-1, 1, [3, size, size]).astype(np.float32))) for i in range(n)
    ]


def test_an_image_of_the_network_projects_closer_than_a_real_one():
    G = tiny_stylegan2(8)
    own = generate_images(G, [8])[0]
    _, real = real_images(1)[0]
    d_own = reprojection_distance(G, own, num_steps=20, w_avg_samples=100)
    d_real = reprojection_distance(G, real, num_steps=20, w_avg_samples=100)
    assert d_own < 0.2 * d_real  # measured: 0.024 against 0.48


def test_report_and_cli(tmp_path):
    G = tiny_stylegan2(8)
    summary = attribution_report(G, real_images(2), tmp_path / "r", seeds=[8, 9], num_steps=20, w_avg_samples=100)
    assert summary["auc"] == 1.0
    assert all(r["correct"] for r in summary["images"]) and len(summary["images"]) == 4
    assert summary["generated"]["called_generated"] == 1.0 and summary["real"]["called_generated"] == 0.0
    given = attribution_report(
        G, real_images(1), tmp_path / "s", seeds=[0], num_steps=2, w_avg_samples=50, threshold=0.0
    )
    assert given["threshold_rule"] == "given" and all(r["decision"] == "real" for r in given["images"])
    assert {p.name for p in (tmp_path / "r").iterdir()} == {"distances.png", "roc.png", "summary.json"}

    folder = tmp_path / "reals"
    folder.mkdir()
    for name, img in real_images(2, size=12):  # resized to the network's 8 px on reading
        Image.fromarray(((img.permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    assert [name for name, _ in folder_images(folder, 8, 3)] == ["real0.png", "real1.png"]
    net = stylegan.save(G, tmp_path / "g.safetensors")
    code, out, err = run_cli(
        "analyze",
        "attribute",
        "--network",
        net,
        "--images",
        folder,
        "--seeds",
        "0",
        "--steps",
        "2",
        "--distance",
        "mse",
        "--w-avg-samples",
        "50",
        "--outdir",
        tmp_path / "c",
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert saved["real"]["count"] == 2 and "AUC" in out
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(
        "analyze",
        "attribute",
        "--network",
        net,
        "--images",
        tmp_path / "empty",
        "--distance",
        "mse",
        "--outdir",
        tmp_path / "d",
    )
    assert code == 2 and "holds no images" in err
