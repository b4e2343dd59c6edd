"""Small image folders and archives built on the fly for the data tests."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def png_bytes(array: np.ndarray, **save_kwargs) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="png", **save_kwargs)
    return buf.getvalue()


def random_image(seed: int, size=(16, 16), channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0]) if channels == 1 else (size[1], size[0], channels)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def make_folder(root: Path, count: int = 6, size=(16, 16), labels=None, label_names=None) -> Path:
    """A folder of ``count`` random RGB PNGs in two sub-folders, optionally with dataset.json."""
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        name = f"{i % 2:05d}/img{i:08d}.png"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(random_image(i, size)).save(root / name)
        names.append(name)
    if labels is not None:
        meta = {"labels": [[n, lab] for n, lab in zip(names, labels)]}
        if label_names is not None:
            meta["label_names"] = label_names
        (root / "dataset.json").write_text(json.dumps(meta))
    return root


def zip_folder(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return dest


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "imgs")
