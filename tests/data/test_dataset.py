import json
import logging
import pickle
import zipfile

import numpy as np
import pytest
from PIL import Image

from stylegan.data import BadImageError, FileDataset, ToyFacesDataset, open_dataset, toyfaces
from stylegan.errors import UserError
from tests.data.conftest import make_folder, png_bytes, random_image, zip_folder


def expected_image(ds, idx):
    """The PNG written by make_folder for item idx, as uint8 [C, H, W]."""
    name = ds.image_name(idx)
    i = int(name.split("img")[1][:8])
    return random_image(i, (ds.resolution, ds.resolution)).transpose(2, 0, 1)


@pytest.mark.parametrize("as_zip", [False, True])
def test_folder_and_zip_datasets(tmp_path, as_zip):
    src = make_folder(tmp_path / "imgs", count=5)
    if as_zip:
        src = zip_folder(src, tmp_path / "imgs.zip")
    ds = open_dataset(str(src))
    assert isinstance(ds, FileDataset)
    assert len(ds) == 5 and ds.resolution == 16 and ds.num_channels == 3 and ds.image_shape == [3, 16, 16]
    assert ds.name == "imgs" and ds.label_dim == 0 and not ds.has_labels and ds.label_names == []
    for i in range(5):
        image, label = ds[i]
        assert image.dtype == np.uint8 and image.shape == (3, 16, 16)
        assert label.dtype == np.float32 and label.shape == (0,)
        np.testing.assert_array_equal(image, expected_image(ds, i))
    assert ds.raw_labels.shape == (5, 0)
    with pytest.raises(IndexError):
        ds[5]
    ds.close()


def test_mirror_doubles_and_flips(folder):
    ds = open_dataset(str(folder), mirror=True)
    n = ds.num_images
    assert len(ds) == 2 * n
    for i in range(n):
        np.testing.assert_array_equal(ds[i + n][0], ds[i][0][:, :, ::-1])
    assert ds[-1][0].shape == (3, 16, 16)


def test_max_size_takes_a_fixed_random_subset(tmp_path):
    src = make_folder(tmp_path / "imgs", count=10)
    a = open_dataset(str(src), max_size=4)
    b = open_dataset(str(src), max_size=4)
    assert len(a) == 4
    names = [a.image_name(i) for i in range(4)]
    assert names == [b.image_name(i) for i in range(4)] and names == sorted(names)
    assert len(open_dataset(str(src), max_size=4, mirror=True)) == 8


def test_grayscale_dataset(folder):
    ds = open_dataset(str(folder), grayscale=True)
    image, _ = ds[0]
    assert ds.num_channels == 1 and image.shape == (1, 16, 16)
    rgb = open_dataset(str(folder))[0][0].astype(np.float32)
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    assert np.abs(image[0] - luma).max() <= 1.0


def test_any_colour_mode_becomes_rgb(tmp_path):
    root = tmp_path / "modes"
    root.mkdir()
    base = random_image(0, (8, 8))
    Image.fromarray(base).save(root / "a_rgb.png")
    Image.fromarray(base[..., 0]).save(root / "b_gray.png")
    Image.fromarray(np.dstack([base, np.full((8, 8), 255, np.uint8)])).save(root / "c_rgba.png")
    Image.fromarray(base).convert("P").save(root / "d_palette.png")
    Image.fromarray(base).save(root / "e.jpg", quality=95)
    Image.fromarray(base).save(root / "f.webp", lossless=True)
    ds = open_dataset(str(root))
    assert len(ds) == 6
    for i in range(6):
        assert ds[i][0].shape == (3, 8, 8)
    np.testing.assert_array_equal(ds[0][0], base.transpose(2, 0, 1))
    np.testing.assert_array_equal(ds[2][0], base.transpose(2, 0, 1))  # opaque RGBA
    np.testing.assert_array_equal(ds[5][0], base.transpose(2, 0, 1))  # lossless WebP


def test_class_labels_become_one_hot(tmp_path):
    src = make_folder(tmp_path / "imgs", count=4, labels=[2, 0, 1, 2])
    ds = open_dataset(str(src), use_labels=True, mirror=True)
    assert ds.has_labels and ds.has_onehot_labels and ds.label_dim == 3
    assert ds.label_names == ["class0", "class1", "class2"]
    by_name = {f"{i % 2:05d}/img{i:08d}.png": c for i, c in enumerate([2, 0, 1, 2])}
    for i in range(len(ds)):
        label = ds[i][1]
        assert label.dtype == np.float32 and label.sum() == 1
        assert label.argmax() == by_name[ds.image_name(i)]
    assert ds.raw_labels.shape == (4, 3)
    assert open_dataset(str(src)).label_dim == 0  # labels only when asked


def test_vector_labels_and_names(tmp_path):
    vectors = [[0.5, -1.0], [1.0, 2.0], [0.0, 0.25]]
    src = zip_folder(
        make_folder(tmp_path / "imgs", count=3, labels=vectors, label_names=["a", "b"]), tmp_path / "v.zip"
    )
    ds = open_dataset(str(src), use_labels=True)
    assert not ds.has_onehot_labels and ds.label_dim == 2 and ds.label_names == ["a", "b"]
    order = [int(ds.image_name(i).split("img")[1][:8]) for i in range(3)]
    np.testing.assert_allclose(ds.raw_labels, np.array(vectors, dtype=np.float32)[order])


def test_label_problems_are_user_errors(tmp_path):
    src = make_folder(tmp_path / "a", count=3)
    with pytest.raises(UserError, match="no dataset.json"):
        open_dataset(str(src), use_labels=True)
    meta = {"labels": [["00000/img00000000.png", 1], ["00001/img00000001.png", 0]]}
    (src / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="no label for 00000/img00000002.png"):
        open_dataset(str(src), use_labels=True)
    (src / "dataset.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        open_dataset(str(src), use_labels=True)
    meta["labels"].append(["00000/img00000002.png", [1.0, 2.0]])
    (src / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="all be integer classes"):
        open_dataset(str(src), use_labels=True)


def test_bad_sources_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        open_dataset(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no image files"):
        open_dataset(str(tmp_path / "empty"))
    (tmp_path / "x.tar").write_bytes(b"x")
    with pytest.raises(UserError, match="neither a folder nor a .zip"):
        open_dataset(str(tmp_path / "x.tar"))
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a readable zip"):
        open_dataset(str(tmp_path / "bad.zip"))
    with pytest.raises(UserError, match="toyfaces only"):
        open_dataset(str(make_folder(tmp_path / "ok")), size=3)


def test_non_square_or_wrong_size_images_say_what_to_do(tmp_path):
    src = make_folder(tmp_path / "rect", count=2, size=(24, 16))
    with pytest.raises(UserError, match=r"24x16.*stylegan dataset"):
        open_dataset(str(src))
    src = make_folder(tmp_path / "sq", count=2, size=(16, 16))
    with pytest.raises(UserError, match=r"not 32x32.*--resolution 32"):
        open_dataset(str(src), resolution=32)
    assert open_dataset(str(src), resolution=16).resolution == 16
    src = make_folder(tmp_path / "npot", count=2, size=(24, 24))
    with pytest.raises(UserError, match="power-of-two"):
        open_dataset(str(src))


def test_mixed_sizes_name_the_odd_file(tmp_path):
    src = make_folder(tmp_path / "imgs", count=4)
    Image.fromarray(random_image(9, (32, 32))).save(src / "odd.png")
    with pytest.raises(BadImageError, match=r"odd.png: is 32x32, but the dataset's images are 16x16"):
        open_dataset(str(src))
    ds = open_dataset(str(src), on_error="skip")
    assert len(ds) == 4 and list(ds.bad_files) == [str(src / "odd.png")]


def test_unreadable_header_raises_or_is_left_out(tmp_path, caplog):
    src = make_folder(tmp_path / "imgs", count=3)
    (src / "junk.png").write_bytes(b"garbage")
    with pytest.raises(BadImageError, match=r"junk.png: not a readable image.*stylegan dataset"):
        open_dataset(str(src))
    with caplog.at_level(logging.WARNING, logger="stylegan.data"):
        ds = open_dataset(str(src), on_error="skip")
    assert len(ds) == 3 and "junk.png" in next(iter(ds.bad_files))
    assert "junk.png" in caplog.text


def truncated_dataset(tmp_path, as_zip):
    src = make_folder(tmp_path / "imgs", count=4, size=(32, 32))
    victim = src / "00001" / "img00000001.png"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # header intact, pixels cut off
    if as_zip:
        src = zip_folder(src, tmp_path / "imgs.zip")
    return src


@pytest.mark.parametrize("as_zip", [False, True])
def test_corrupt_file_at_read_time_raises_naming_it(tmp_path, as_zip):
    ds = open_dataset(str(truncated_dataset(tmp_path, as_zip)))
    assert len(ds) == 4  # the header is fine: found only when decoded
    bad = [i for i in range(4) if ds.image_name(i).endswith("img00000001.png")][0]
    with pytest.raises(BadImageError, match=r"img00000001.png: truncated") as info:
        ds[bad]
    assert isinstance(info.value, UserError) and info.value.name.endswith("img00000001.png")
    ds[(bad + 1) % 4]  # other files still load


def test_corrupt_file_skipped_and_recorded(tmp_path, caplog):
    ds = open_dataset(str(truncated_dataset(tmp_path, False)), on_error="skip")
    names = [ds.image_name(i) for i in range(4)]
    bad = names.index("00001/img00000001.png")
    with caplog.at_level(logging.WARNING, logger="stylegan.data"):
        image, _ = ds[bad]
        again, _ = ds[bad]
    np.testing.assert_array_equal(image, ds[(bad + 1) % 4][0])  # replaced by the next readable image
    np.testing.assert_array_equal(image, again)
    assert list(ds.bad_files) == [str(tmp_path / "imgs" / "00001" / "img00000001.png")]
    assert caplog.text.count("img00000001.png") == 1  # reported once


def test_check_lists_every_bad_file(tmp_path):
    ds = open_dataset(str(truncated_dataset(tmp_path, True)))
    found = ds.check()
    assert len(found) == 1 and next(iter(found)).endswith("imgs.zip:00001/img00000001.png")
    assert "truncated" in next(iter(found.values()))


def test_zip_dataset_pickles_without_its_file_handle(tmp_path):
    src = zip_folder(make_folder(tmp_path / "imgs", count=3), tmp_path / "d.zip")
    ds = open_dataset(str(src))
    first = ds[0][0]
    clone = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(clone[0][0], first)


def test_hidden_files_and_non_images_are_ignored(tmp_path):
    src = make_folder(tmp_path / "imgs", count=2)
    (src / "notes.txt").write_text("hello")
    (src / "._img.png").write_bytes(b"resource fork")
    with zipfile.ZipFile(tmp_path / "mac.zip", "w") as zf:
        zf.writestr("__MACOSX/00000/._img00000000.png", b"junk")
        zf.writestr("00000/img00000000.png", png_bytes(random_image(0)))
    assert len(open_dataset(str(src))) == 2
    assert len(open_dataset(str(tmp_path / "mac.zip"))) == 1


def test_toyfaces_dataset(tmp_path):
    ds = open_dataset("toyfaces", resolution=32, size=20, use_labels=True, mirror=True)
    assert isinstance(ds, ToyFacesDataset)
    assert len(ds) == 40 and ds.num_images == 20 and ds.resolution == 32 and ds.num_channels == 3
    assert ds.label_dim == toyfaces.LABEL_DIM and ds.label_names == list(toyfaces.LABEL_NAMES)
    image, label = ds[3]
    np.testing.assert_array_equal(image, toyfaces.render(3, 32)[0].transpose(2, 0, 1))
    np.testing.assert_array_equal(label, toyfaces.labels([3])[0])
    flipped, flipped_label = ds[23]
    np.testing.assert_array_equal(flipped, image[:, :, ::-1])
    np.testing.assert_array_equal(flipped_label, toyfaces.mirror_label(label))
    assert ds.factors(23)["yaw"] == -ds.factors(3)["yaw"]
    np.testing.assert_array_equal(ds.raw_labels, toyfaces.labels(np.arange(20)))
    assert open_dataset("toyfaces", 16, size=5).label_dim == 0
    assert open_dataset("toyfaces", 16, max_size=7).num_images == 7
    gray = open_dataset("toyfaces", 16, size=2, grayscale=True)
    assert gray.num_channels == 1 and gray[0][0].shape == (1, 16, 16)


def test_toyfaces_options_are_checked():
    with pytest.raises(UserError, match="needs a resolution"):
        open_dataset("toyfaces")
    with pytest.raises(UserError, match="power of two"):
        open_dataset("toyfaces", resolution=48)
    with pytest.raises(UserError, match="power of two"):
        open_dataset("toyfaces", resolution=2048)
