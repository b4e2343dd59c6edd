"""stylegan dataset: --transform pad, --background, --alpha and --select (images as users have them)."""

import json

import numpy as np
import pytest
from PIL import Image

from stylegan.cli.main import main
from stylegan.data.dataset_tool import convert_dataset, parse_colour
from stylegan.errors import UserError


def _convert(tmp_path, image: Image.Image, **kwargs) -> tuple[np.ndarray, dict]:
    src = tmp_path / "src"
    src.mkdir(parents=True, exist_ok=True)
    image.save(src / "x.png")
    dest = tmp_path / "out"
    report = convert_dataset(str(src), dest, 16, progress=False, **kwargs)
    out = np.asarray(Image.open(dest / "00000" / "img00000000.png"))
    return out, json.loads(open(report.report_path).read())


def test_pad_letterboxes_the_whole_picture_on_the_background(tmp_path):
    wide = Image.new("RGB", (40, 20), (200, 10, 10))
    out, report = _convert(tmp_path, wide, transform="pad", background="0,0,255")
    assert out.shape == (16, 16, 3)
    assert (out[:4] == (0, 0, 255)).all() and (out[12:] == (0, 0, 255)).all()  # bars above and below
    assert (out[4:12] == (200, 10, 10)).all()  # the picture, 16x8
    assert report["background"] == [0, 0, 255] and report["transform"] == "pad"


def test_pad_in_grayscale_fills_with_the_backgrounds_luma(tmp_path):
    tall = Image.new("L", (10, 20), 0)
    out, _ = _convert(tmp_path, tall, transform="pad", background="#ff0000", grayscale=True)
    assert out.shape == (16, 16) and (out[:, :4] == 76).all() and (out[:, 4:12] == 0).all()  # 0.299 * 255


def test_transparency_composited_on_the_chosen_colour_or_dropped(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., :3] = (10, 20, 30)
    rgba[:8, :, 3] = 255  # top half opaque, bottom half transparent
    image = Image.fromarray(rgba, "RGBA")
    out, report = _convert(tmp_path, image, background="0,255,0")
    assert (out[:8] == (10, 20, 30)).all() and (out[8:] == (0, 255, 0)).all()
    assert report["alpha"] == "composite"
    out, _ = _convert(tmp_path / "b", image, alpha="drop")
    assert (out == (10, 20, 30)).all()
    out, _ = _convert(tmp_path / "c", image)  # default: white, as before
    assert (out[8:] == 255).all()


@pytest.mark.parametrize("text, rgb", [("1,2,3", (1, 2, 3)), ("#0a0b0c", (10, 11, 12)), ((4, 5, 6), (4, 5, 6))])
def test_colours(text, rgb):
    assert parse_colour(text) == rgb


@pytest.mark.parametrize("text", ["red", "1,2", "1,2,300", "#12345", "-1,0,0"])
def test_bad_colours_are_refused(text):
    with pytest.raises(UserError, match="--background must be a colour"):
        parse_colour(text)


def test_cli_bad_background_is_one_line(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (8, 8)).save(src / "a.png")
    code = main(
        ["dataset", "--source", str(src), "--dest", str(tmp_path / "o.zip"), "--resolution", "8", "--background", "red"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--background must be a colour like 255,255,255" in err and "Traceback" not in err
    assert not (tmp_path / "o.zip").exists()


def test_select_keeps_only_images_with_the_chosen_labels(tmp_path):
    import zipfile

    from stylegan.data import toyfaces

    report = convert_dataset(
        "toyfaces", tmp_path / "g.zip", 16, max_images=6, select=["glasses=1", "smile=0"], progress=False
    )
    glasses, smile = toyfaces.LABEL_NAMES.index("glasses"), toyfaces.LABEL_NAMES.index("smile")
    with zipfile.ZipFile(tmp_path / "g.zip") as zf:
        labels = json.loads(zf.read("dataset.json"))["labels"]
    assert report.written == 6 and len(labels) == 6 and report.not_selected > 0
    assert all(label[glasses] == 1 and label[smile] == 0 for _, label in labels)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(src / f"{i}.png")
    (src / "dataset.json").write_text(json.dumps({"labels": [[f"{i}.png", i % 2] for i in range(4)]}))
    report = convert_dataset(str(src), tmp_path / "c", 8, select=["class=1"], progress=False)
    assert report.written == 2 and report.not_selected == 2


@pytest.mark.parametrize(
    "select, message",
    [
        (["glases=1"], "no label named 'glases' (labels: yaw, roll"),
        (["glasses"], "must look like NAME=VALUE"),
        (["glasses=yes"], "must look like NAME=VALUE"),
    ],
)
def test_bad_selections_are_named(select, message, tmp_path):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        convert_dataset("toyfaces", tmp_path / "g.zip", 16, max_images=2, select=select, progress=False)
    assert not (tmp_path / "g.zip").exists()


def test_select_needs_labels(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (8, 8)).save(src / "a.png")
    with pytest.raises(UserError, match="the source has none"):
        convert_dataset(str(src), tmp_path / "o.zip", 8, select=["class=1"], progress=False)


def test_labels_as_named_columns_become_label_vectors(tmp_path):
    import zipfile

    from stylegan.data import open_dataset

    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(src / f"{i}.png")
    columns = [{"smile": 0, "glasses": 1}, {"smile": 1, "glasses": 1}, {"glasses": 0, "smile": 0.5}]
    (src / "dataset.json").write_text(json.dumps({"labels": [[f"{i}.png", c] for i, c in enumerate(columns)]}))
    report = convert_dataset(str(src), tmp_path / "d.zip", 8, select=["glasses=1"], progress=False)
    assert report.written == 2
    with zipfile.ZipFile(tmp_path / "d.zip") as zf:
        meta = json.loads(zf.read("dataset.json"))
    assert meta["label_names"] == ["glasses", "smile"] and [v for _, v in meta["labels"]] == [[1, 0], [1, 1]]
    data = open_dataset(str(src), resolution=8, use_labels=True)  # training reads the columns too
    assert data.label_dim == 2 and data.get_label(2).tolist() == [0.0, 0.5]


@pytest.mark.parametrize(
    "labels, names, message",
    [
        ([["0.png", {"a": 1}], ["1.png", 2]], None, "all be objects of named columns, or none"),
        ([["0.png", {"a": 1}], ["1.png", {"b": 1}]], None, "the label of 0.png lacks b"),
        ([["0.png", {"a": 1, "c": 2}]], ["a"], "has columns not in label_names: c"),
    ],
)
def test_bad_label_columns_are_named(labels, names, message, tmp_path):
    from stylegan.data.sources import label_table

    with pytest.raises(UserError, match=message):
        label_table({"labels": labels, **({"label_names": names} if names else {})}, "dataset.json")
