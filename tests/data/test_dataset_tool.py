import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from stylegan.data import dataset_tool as tool
from stylegan.data import open_dataset, toyfaces
from stylegan.data.dataset_tool import apply_transform, convert_dataset
from stylegan.errors import UserError
from tests.data.conftest import make_folder, random_image, zip_folder


def messy_folder(root):
    """Good squares of two sizes, a wide photo, a truncated PNG, a non-image and an RGBA PNG."""
    root.mkdir()
    Image.fromarray(random_image(0, (32, 32))).save(root / "a.png")
    Image.fromarray(random_image(1, (64, 64))).save(root / "b.jpg", quality=95)
    Image.fromarray(random_image(2, (48, 24))).save(root / "c_wide.png")
    data = (root / "a.png").read_bytes()
    (root / "d_truncated.png").write_bytes(data[: len(data) // 2])
    (root / "e_not_an_image.webp").write_bytes(b"hello")
    Image.fromarray(random_image(3, (16, 16), channels=4)).save(root / "f_rgba.png")
    return root


def test_convert_lists_bad_files_and_keeps_the_rest(tmp_path):
    src = messy_folder(tmp_path / "src")
    lines = []
    report = convert_dataset(str(src), tmp_path / "out.zip", 32, progress=False, echo=lines.append, workers=2)
    assert report.written == 3  # a, b (scaled down), f (scaled up)
    skipped = dict(report.skipped)
    assert set(skipped) == {"c_wide.png", "d_truncated.png", "e_not_an_image.webp"}
    assert "not square" in skipped["c_wide.png"] and "truncated" in skipped["d_truncated.png"]
    assert all(any(name in line for line in lines) for name in skipped)
    assert report.resized == 2 and report.upscaled == 1
    saved = json.loads((tmp_path / "out.report.json").read_text())
    assert saved["written"] == 3 and {s["file"] for s in saved["skipped"]} == set(skipped)
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert zf.namelist() == [f"00000/img{i:08d}.png" for i in range(3)]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
    ds = open_dataset(str(tmp_path / "out.zip"))
    assert len(ds) == 3 and ds.resolution == 32
    np.testing.assert_array_equal(ds[0][0], random_image(0, (32, 32)).transpose(2, 0, 1))


def test_center_crop_handles_mixed_shapes(tmp_path):
    src = messy_folder(tmp_path / "src")
    report = convert_dataset(str(src), tmp_path / "out", 16, transform="center-crop", progress=False, echo=print)
    assert report.written == 4 and len(report.skipped) == 2
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert files == [f"00000/img{i:08d}.png" for i in range(4)]
    assert not (tmp_path / "out" / "dataset.json").exists()
    assert open_dataset(str(tmp_path / "out")).resolution == 16


def test_transforms():
    wide = np.zeros((20, 40, 3), dtype=np.uint8)
    wide[:, 10:30] = 255  # the central square is white
    crop = apply_transform(wide, 8, "center-crop")
    assert crop.shape == (8, 8, 3) and crop.min() > 240
    letterbox = apply_transform(wide, 8, "center-crop-wide")
    assert letterbox.shape == (8, 8, 3)
    assert letterbox[0].max() == 0 and letterbox[-1].max() == 0  # black bars top and bottom
    assert letterbox[4, 4].min() > 200 and letterbox[4, 0].max() < 60
    with pytest.raises(tool._Skip, match="narrower"):
        apply_transform(wide, 64, "center-crop-wide")
    with pytest.raises(tool._Skip, match="not square"):
        apply_transform(wide, 8, None)
    gray = np.full((10, 10, 1), 7, dtype=np.uint8)
    assert apply_transform(gray, 4, None).shape == (4, 4, 1)


def test_labels_are_carried_over(tmp_path):
    src = zip_folder(make_folder(tmp_path / "src", count=4, labels=[3, 1, 0, 2]), tmp_path / "src.zip")
    report = convert_dataset(str(src), tmp_path / "out.zip", 16, max_images=3, progress=False)
    assert report.written == 3 and report.labels
    ds = open_dataset(str(tmp_path / "out.zip"), use_labels=True)
    original = open_dataset(str(src), use_labels=True)
    assert ds.label_dim == 4  # the first three images in name order have classes 3, 0 and 1
    for i in range(3):
        np.testing.assert_array_equal(ds[i][0], original[i][0])
        assert ds[i][1].argmax() == original[i][1].argmax()


def test_image_without_label_is_left_out(tmp_path):
    src = make_folder(tmp_path / "src", count=3, labels=[0, 1, 1])
    Image.fromarray(random_image(7, (16, 16))).save(src / "extra.png")
    report = convert_dataset(str(src), tmp_path / "out.zip", 16, progress=False, echo=lambda _: None)
    assert report.written == 3 and report.skipped == [("extra.png", "has no label in dataset.json")]


def test_toyfaces_source_with_labels(tmp_path):
    report = convert_dataset("toyfaces", tmp_path / "faces.zip", 16, max_images=6, progress=False)
    assert report.written == 6 and report.labels
    ds = open_dataset(str(tmp_path / "faces.zip"), use_labels=True)
    assert ds.label_names == list(toyfaces.LABEL_NAMES)
    np.testing.assert_allclose(ds.raw_labels, toyfaces.labels(np.arange(6)), atol=1e-6)
    np.testing.assert_array_equal(ds[4][0], toyfaces.render(4, 16)[0].transpose(2, 0, 1))
    gray = convert_dataset("toyfaces", tmp_path / "gray.zip", 16, max_images=2, grayscale=True, progress=False)
    assert gray.channels == 1
    with zipfile.ZipFile(tmp_path / "gray.zip") as zf:
        assert Image.open(zf.open("00000/img00000000.png")).mode == "L"


def test_a_failure_leaves_no_partial_output(tmp_path, monkeypatch):
    src = make_folder(tmp_path / "src", count=5)
    calls = []

    def failing_encode(image):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return b"png"

    monkeypatch.setattr(tool, "_encode_png", failing_encode)
    for dest in ("out.zip", "outdir"):
        calls.clear()
        with pytest.raises(KeyboardInterrupt):
            convert_dataset(str(src), tmp_path / dest, 16, progress=False, workers=1)
        assert not (tmp_path / dest).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no temporary files left


def test_existing_zip_is_replaced_only_when_complete(tmp_path, monkeypatch):
    src = make_folder(tmp_path / "src", count=2)
    (tmp_path / "out.zip").write_bytes(b"previous")
    with pytest.raises(UserError, match="exists; pass --force"):
        convert_dataset(str(src), tmp_path / "out.zip", 16, progress=False, workers=1)
    monkeypatch.setattr(tool, "_encode_png", lambda image: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError):
        convert_dataset(str(src), tmp_path / "out.zip", 16, progress=False, workers=1, overwrite=True)
    assert (tmp_path / "out.zip").read_bytes() == b"previous"
    monkeypatch.undo()
    convert_dataset(str(src), tmp_path / "out.zip", 16, progress=False, workers=1, overwrite=True)
    assert zipfile.is_zipfile(tmp_path / "out.zip")


def test_option_errors(tmp_path):
    src = make_folder(tmp_path / "src", count=2)
    bad = [
        (dict(source=str(src), dest=tmp_path / "o.zip", resolution=48), "power of two"),
        (dict(source=str(src), dest=tmp_path / "o.zip", resolution=32, max_images=0), "at least 1"),
        (dict(source=str(src), dest=tmp_path / "o.tar", resolution=32), "a .zip file or a folder"),
        (dict(source=str(src), dest=src / "inside", resolution=32), "inside the --source folder"),
        (dict(source=str(src), dest=tmp_path / "o.zip", resolution=32, transform="stretch"), "unknown transform"),
        (dict(source=str(tmp_path / "nope"), dest=tmp_path / "o.zip", resolution=32), "does not exist"),
        (dict(source="toyfaces", dest=tmp_path / "o.zip", resolution=4096), "power of two from 16"),
    ]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    bad.append((dict(source=str(src), dest=tmp_path / "full", resolution=32), "not empty"))
    for kwargs, message in bad:
        with pytest.raises(UserError, match=message):
            convert_dataset(progress=False, **kwargs)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.png").write_bytes(b"nope")
    with pytest.raises(UserError, match=r"no usable image.*x.png"):
        convert_dataset(str(tmp_path / "junk"), tmp_path / "o.zip", 16, progress=False, echo=lambda _: None)
    assert not (tmp_path / "o.zip").exists()
