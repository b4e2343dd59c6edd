import io

import numpy as np
import pytest
from PIL import Image

from stylegan.data.images import BadImageError, UnreadableImage, decode_image, is_image_name, probe_size
from tests.data.conftest import png_bytes, random_image


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def test_rgb_png_is_exact():
    rgb = random_image(0, (12, 8))
    out = decode_image(png_bytes(rgb))
    assert out.dtype == np.uint8 and out.shape == (8, 12, 3)
    np.testing.assert_array_equal(out, rgb)


def test_grayscale_png_becomes_rgb_or_stays_gray():
    gray = random_image(1, (8, 8), channels=1)
    rgb = decode_image(png_bytes(gray))
    assert rgb.shape == (8, 8, 3)
    for c in range(3):
        np.testing.assert_array_equal(rgb[:, :, c], gray)
    kept = decode_image(png_bytes(gray), grayscale=True)
    assert kept.shape == (8, 8, 1)
    np.testing.assert_array_equal(kept[:, :, 0], gray)


def test_rgba_is_composited_onto_white():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red channel everywhere
    rgba[0, 0, 3] = 255  # opaque pixel
    rgba[0, 1, 3] = 0  # transparent pixel -> white
    rgba[0, 2, 3] = 128  # half -> between
    out = decode_image(png_bytes(rgba))
    assert out.shape == (4, 4, 3)
    np.testing.assert_array_equal(out[0, 0], [200, 0, 0])
    np.testing.assert_array_equal(out[0, 1], [255, 255, 255])
    assert 200 < out[0, 2, 0] < 255 and 120 < out[0, 2, 1] < 135


def test_palette_png_with_and_without_transparency():
    rgb = np.zeros((6, 6, 3), dtype=np.uint8)
    rgb[:3] = (10, 200, 30)
    rgb[3:] = (250, 5, 90)
    pal = Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=4)
    out = decode_image(encode(pal, "png"))
    np.testing.assert_array_equal(out, rgb)
    # the colour at index of the bottom half becomes transparent -> white
    transparent_index = pal.getpixel((0, 5))
    out = decode_image(encode(pal, "png", transparency=transparent_index))
    np.testing.assert_array_equal(out[:3], rgb[:3])
    np.testing.assert_array_equal(out[3:], 255)


def test_sixteen_bit_png_scaled_to_eight_bits():
    values = np.array([[0, 257 * 100], [65535, 257 * 7]], dtype=np.uint16)
    data = encode(Image.fromarray(values), "png")
    out = decode_image(data, grayscale=True)
    np.testing.assert_array_equal(out[:, :, 0], [[0, 100], [255, 7]])


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_lossy_formats_decode_close(fmt):
    smooth = np.zeros((32, 32, 3), dtype=np.uint8)
    smooth[..., 0] = np.linspace(0, 255, 32, dtype=np.uint8)[None, :]
    smooth[..., 2] = 128
    out = decode_image(encode(Image.fromarray(smooth), fmt, quality=95))
    assert out.shape == (32, 32, 3)
    assert np.abs(out.astype(int) - smooth).mean() < 4


def test_cmyk_jpeg_becomes_rgb():
    data = encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "jpeg")
    out = decode_image(data)
    assert out.shape == (8, 8, 3)
    assert out[..., 0].mean() > 200 and out[..., 1].mean() < 60


def test_exif_orientation_is_applied():
    img = np.zeros((4, 8, 3), dtype=np.uint8)  # wide image
    img[:, :4] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when shown
    out = decode_image(encode(Image.fromarray(img), "jpeg", exif=exif, quality=100))
    assert out.shape == (8, 4, 3)


def test_truncated_and_garbage_files_raise_with_reason():
    data = png_bytes(random_image(2, (32, 32)))
    with pytest.raises(UnreadableImage, match="truncated"):
        decode_image(data[: len(data) // 2])
    with pytest.raises(UnreadableImage, match="not a readable image"):
        decode_image(b"definitely not an image")
    corrupt = bytearray(data)
    corrupt[60:80] = b"\x00" * 20  # break the compressed data
    with pytest.raises(UnreadableImage):
        decode_image(bytes(corrupt))


def test_probe_size_reads_only_the_header():
    data = png_bytes(random_image(3, (20, 10)))
    assert probe_size(data[:40]) == (20, 10)
    assert probe_size(io.BytesIO(encode(Image.new("RGB", (7, 5)), "jpeg"))) == (7, 5)
    with pytest.raises(UnreadableImage):
        probe_size(b"nope")


def test_image_names_and_error_message():
    assert is_image_name("a/b/c.PNG") and is_image_name("x.webp") and is_image_name("y.jpeg")
    assert not is_image_name("dataset.json") and not is_image_name("__MACOSX/a.png")
    assert not is_image_name("a/._b.png") and not is_image_name(".hidden/c.jpg")
    err = BadImageError("x.png", "truncated", "remove it")
    assert str(err) == "x.png: truncated; remove it"
    import pickle

    again = pickle.loads(pickle.dumps(err))
    assert (again.name, again.reason, again.hint) == ("x.png", "truncated", "remove it")
