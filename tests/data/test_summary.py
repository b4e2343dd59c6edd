"""stylegan dataset --summary: counts, sizes, colour modes, duplicates, labels, contact sheet."""

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from stylegan.cli.main import main
from stylegan.data.summary import DatasetSummary, difference_hash, summarize, write_summary
from stylegan.errors import UserError


def _noise(seed, h=32, w=32):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _smooth(seed, size=32):
    """A smooth random picture (a near-duplicate hash is meant for pictures, not for white noise)."""
    small = np.random.default_rng(seed).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((size, size), Image.BICUBIC))


@pytest.fixture
def folder(tmp_path):
    """Eight images: two sizes, RGBA, 16-bit gray, L, an exact copy in another format, a resized copy,
    a broken file; class labels in dataset.json."""
    src = tmp_path / "src"
    src.mkdir()
    a = _smooth(1)
    Image.fromarray(a).save(src / "a.png")
    Image.fromarray(a).save(src / "a-copy.bmp")  # the same pixels, another file format
    Image.fromarray(np.asarray(Image.fromarray(a).resize((64, 64), Image.BICUBIC))).save(src / "a-big.png")
    Image.fromarray(_smooth(2)).save(src / "b.png")
    Image.fromarray(np.dstack([_noise(3), np.full((32, 32), 200, np.uint8)]), "RGBA").save(src / "c.png")
    Image.fromarray((np.arange(48 * 32).reshape(32, 48) * 40).astype(np.uint16)).save(src / "d16.png")
    Image.fromarray(_noise(4)[:, :, 0]).save(src / "e.png")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    labels = [["a.png", 0], ["a-copy.bmp", 0], ["a-big.png", 1], ["b.png", 2], ["c.png", 2], ["d16.png", 2]]
    (src / "dataset.json").write_text(json.dumps({"labels": labels}))
    return src


def test_summary_counts_sizes_modes_duplicates_and_labels(folder):
    s = summarize(str(folder), columns=4, rows=1, thumb=16)
    assert s.images == 7 and [name for name, _ in s.unreadable] == ["broken.png"]
    assert s.sizes == {"32x32": 5, "64x64": 1, "48x32": 1} and s.not_square == 1
    assert s.modes["RGBA"] == 1 and s.modes["L"] == 1 and s.modes["RGB"] == 4 and sum(s.modes.values()) == 7
    assert s.modes.get("I;16", 0) + s.modes.get("I", 0) == 1  # 16-bit gray as PIL opens it
    assert s.exact_duplicates == [["a-copy.bmp", "a.png"]]
    assert s.near_duplicates == [["a-big.png", "a-copy.bmp", "a.png"]]  # the resized copy too
    assert s.labels == {"unlabelled": 1, "kind": "class", "classes": {"0": 2, "1": 1, "2": 3}}
    assert s.sheet.size == (64, 16)
    text = "\n".join(s.lines())
    assert "7 images" in text and "1 unreadable" in text and "1 exact copies in 1 groups" in text


def test_vector_labels_count_each_set_column(tmp_path):
    src = tmp_path / "z.zip"
    with zipfile.ZipFile(src, "w") as zf:
        labels = []
        for i, glasses_smile in enumerate([(1, 0), (1, 1), (0, 1)]):
            Image.fromarray(_smooth(10 + i)).save(tmp_path / "x.png")
            zf.write(tmp_path / "x.png", f"{i}.png")
            labels.append([f"{i}.png", [*glasses_smile, 0.25 * i]])
        zf.writestr("dataset.json", json.dumps({"labels": labels, "label_names": ["glasses", "smile", "pose"]}))
    s = summarize(str(src))
    cols = {c["name"]: c for c in s.labels["columns"]}
    assert cols["glasses"]["set"] == 2 and cols["smile"]["set"] == 2 and "set" not in cols["pose"]
    assert cols["pose"]["max"] == 0.5 and s.exact_duplicates == [] and s.near_duplicates == []


def test_difference_hash_is_stable_under_resizing_and_tells_pictures_apart():
    a = _smooth(1, 64)
    small = np.asarray(Image.fromarray(a).resize((40, 40), Image.LANCZOS))
    assert difference_hash(a) == difference_hash(small)
    assert difference_hash(a) != difference_hash(_smooth(2, 64))


def test_cli_summary_writes_json_and_contact_sheet(folder, tmp_path, capsys):
    dest = tmp_path / "summary"
    assert main(["dataset", "--source", str(folder), "--summary", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "7 images" in out and "labels: 3 classes" in out
    data = json.loads((dest / "summary.json").read_text())
    assert data["images"] == 7 and data["unreadable"][0]["file"] == "broken.png"
    assert Image.open(dest / "contact-sheet.png").size == (8 * 64, 64)  # one row of 7 tiles
    assert main(["dataset", "--source", str(folder), "--summary", str(dest)]) == 2  # not empty now
    assert "must be a new or empty folder" in capsys.readouterr().err
    assert main(["dataset", "--source", str(folder), "--summary", str(tmp_path / "s2"), "--resolution", "16"]) == 2
    assert "leave out --dest and --resolution" in capsys.readouterr().err
    assert main(["dataset", "--source", str(folder), "--summary", str(folder / "s")]) == 2  # inside the input
    assert "inside the --source folder" in capsys.readouterr().err


def test_summary_of_nothing_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no image files"):
        summarize(str(tmp_path / "empty"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(UserError, match="new or empty folder"):
        write_summary(DatasetSummary(source="s"), tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["x"]


def test_conversion_reports_duplicates_and_keeps_them(folder, tmp_path, capsys):
    code = main(
        [
            "dataset",
            "--source",
            str(folder),
            "--dest",
            str(tmp_path / "d.zip"),
            "--resolution",
            "16",
            "--transform",
            "center-crop",
        ]
    )
    assert code == 0
    assert "1 exact copies in 1 groups" in capsys.readouterr().out
    report = json.loads((tmp_path / "d.report.json").read_text())
    assert report["written"] == 6 and report["duplicates"] == [["a-copy.bmp", "a.png"]]  # e.png: no label
    assert report["near_duplicates"] == [["a-big.png", "a-copy.bmp", "a.png"]]


def test_near_duplicates_need_the_same_layout_and_colours():
    import io

    from stylegan.data.summary import duplicate_groups, fingerprint

    a = (_smooth(7, 64).astype(np.int16) * 190 // 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=90)
    jpeg = np.asarray(Image.open(buf).convert("RGB"))
    redder = a.copy()
    redder[..., 0] += 60  # the same layout in other colours: the same gray difference hash
    assert difference_hash(redder) == difference_hash(a)
    names = ["a", "jpeg", "redder"]
    prints = [fingerprint(x) for x in (a, jpeg, redder)]
    exact, near = duplicate_groups(names, prints)
    assert exact == [] and near == [["a", "jpeg"]]
