"""Decoding image files into arrays: any colour mode to RGB (or grayscale), with clear errors.

``decode_image(data)`` turns the bytes of a PNG/JPEG/WebP/BMP/GIF/TIFF file into an [H, W, C] uint8
array with C = 3 (RGB) or 1 (grayscale when asked):

- palette, CMYK, 1-bit and grayscale images are converted to RGB;
- transparency (RGBA, LA, palette with a transparent colour) is composited onto white (or the
  ``background`` colour given), or the alpha channel is dropped (``alpha="drop"``: the colours as
  stored, also where fully transparent);
- 16-bit images are scaled to 8 bits;
- JPEG/WebP/TIFF EXIF orientation is applied, so the picture stands the way a viewer shows it.

A file that cannot be decoded (corrupt, truncated, not an image, too large) raises
``UnreadableImage`` with the reason; readers attach the file name and raise ``BadImageError``.
"""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps

from stylegan.errors import UserError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
_ORIENTATION_TAG = 0x0112
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


class UnreadableImage(Exception):
    """The bytes given are not a readable image; the message says why."""


class BadImageError(UserError):
    """An image file of a dataset cannot be used: unreadable, corrupt, truncated, or of the wrong size.

    ``name`` is the file (as listed in the dataset), ``reason`` what is wrong with it.
    """

    def __init__(self, name: str, reason: str, hint: str = ""):
        self.name, self.reason, self.hint = name, reason, hint
        super().__init__(f"{name}: {reason}" + (f"; {hint}" if hint else ""))

    def __reduce__(self):
        return (type(self), (self.name, self.reason, self.hint))


def is_image_name(name: str) -> bool:
    """True for a file name with an image extension, outside hidden folders and macOS resource forks."""
    parts = name.replace("\\", "/").split("/")
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return False
    return name.lower().endswith(IMAGE_EXTENSIONS)


def open_image(data) -> Image.Image:
    """Open (not yet decode) an image from bytes, a binary file object or a path. PIL's guard against
    decompression bombs (a header claiming billions of pixels) is an error here, not a warning.
    Raises ``UnreadableImage``."""
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(stream)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
            raise UnreadableImage(f"image too large ({e})") from None
        except Image.UnidentifiedImageError:
            raise UnreadableImage("not a readable image (unknown or corrupt format)") from None
        except Exception as e:  # PIL raises many types for broken headers
            raise UnreadableImage(f"corrupt image header ({type(e).__name__}: {e})") from None


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def probe_size(data) -> tuple[int, int]:
    """(width, height) of an image from its header only (bytes or a binary file object)."""
    head = data[:24] if isinstance(data, (bytes, bytearray, memoryview)) else data.read(24)
    if len(head) == 24 and head[:8] == _PNG_SIGNATURE and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])  # PNG: the size is in the first chunk
    if not isinstance(data, (bytes, bytearray, memoryview)):
        if data.seekable():
            data.seek(0)
        else:
            data = head + data.read()
    return open_image(data).size


ALPHA_MODES = ("composite", "drop")
WHITE = (255, 255, 255)


def decode_image(
    data, grayscale: bool = False, background: tuple[int, int, int] = WHITE, alpha: str = "composite"
) -> np.ndarray:
    """Decode an image file (bytes or a binary file object) to [H, W, 3] uint8 RGB, or [H, W, 1] with
    ``grayscale``; transparency composited onto ``background`` or dropped (``alpha``, see the module
    docstring). Raises ``UnreadableImage``."""
    if alpha not in ALPHA_MODES:
        raise ValueError(f"alpha must be one of {ALPHA_MODES}, got {alpha!r}")
    img = open_image(data)
    try:
        img.load()
        return _to_array(img, grayscale, background, alpha)
    except UnreadableImage:
        raise
    except Exception as e:
        message = str(e) or type(e).__name__
        if "truncated" in message:
            raise UnreadableImage(f"truncated image file ({message})") from None
        raise UnreadableImage(f"corrupt image data ({type(e).__name__}: {message})") from None


def _to_array(
    img: Image.Image, grayscale: bool, background: tuple[int, int, int] = WHITE, alpha: str = "composite"
) -> np.ndarray:
    if img.format in ("JPEG", "WEBP", "TIFF", "MPO") and img.getexif().get(_ORIENTATION_TAG, 1) != 1:
        img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit (or 32-bit) grayscale: scale to 8 bits (the range of a 16-bit image is 0..65535).
        values = np.asarray(img).astype(np.float64)
        if img.mode != "F" and values.max(initial=0) > 255:
            values = values / 257.0
        img = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")
    elif img.mode in _ALPHA_MODES or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        if alpha == "drop":
            rgb = rgba[..., :3]
        else:
            a = rgba[..., 3:] / 255.0
            rgb = rgba[..., :3] * a + np.asarray(background, np.float32) * (1.0 - a)  # composite onto background
        img = Image.fromarray(np.rint(rgb).astype(np.uint8), "RGB")
    if grayscale:
        array = np.asarray(img if img.mode == "L" else img.convert("L"))
        return np.ascontiguousarray(array[:, :, None])
    array = np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
    return np.ascontiguousarray(array)
