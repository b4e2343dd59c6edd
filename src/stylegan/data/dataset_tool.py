"""Convert a folder or archive of images (or toyfaces) into a training dataset.

``convert_dataset(source, dest, resolution, transform=None, max_images=None, grayscale=False)``
writes square ``resolution`` PNGs in the official layout (``00000/img00000000.png``, ...) into a
.zip (stored, uncompressed archive of PNGs) or a folder, with ``dataset.json`` when the source has
labels (a source's ``dataset.json``, or the toyfaces factors, whose names go in ``label_names``).

- ``source``: a folder (searched recursively), a .zip, or ``"toyfaces"`` (``max_images`` faces,
  default ``TOYFACES_SIZE``).
- ``transform``: None keeps square images whole (scaled to ``resolution``) and leaves out other
  shapes; ``"center-crop"`` crops the central square of any image; ``"center-crop-wide"`` scales
  the width to ``resolution``, crops the height to at most the width, and pads top and bottom with
  black (images narrower than ``resolution`` are left out, as the official tool does); ``"pad"``
  scales the longer side to ``resolution`` and pads the shorter one on both sides with
  ``background`` (the whole picture, letterboxed).
- ``background`` (an RGB triple, default white): what transparent pixels are composited onto and
  what ``pad`` fills with; ``alpha="drop"`` keeps the stored colours of RGBA images instead.
- Files that cannot be used (corrupt, truncated, unreadable, wrong shape, no label) are listed by
  name with the reason, left out, and written to the report; nothing is dropped silently.
- ``select``: ``NAME=VALUE`` conditions on the labels (a name of ``label_names``, a column number,
  or ``class``); only images meeting all of them are written (toyfaces: drawn from all its faces).
- Duplicates are reported (and kept): groups of inputs written as the same image (exact), and
  groups with the same 64-bit difference hash (near: resized, recompressed, retouched copies).
- Labels are checked before anything is written, by the rules training applies
  (``stylegan.data.sources.check_labels``): a label training would refuse is an error here.
- ``dest``: a name ending in ``.zip`` is a zip archive, any other name a folder (``faces.v2`` too).
  An existing zip is replaced only with ``overwrite`` (``--force``); a folder must be new or empty.
- The output appears only when complete: a zip is written to a temporary file and renamed, a
  folder is filled under a temporary name and renamed; a crash, Ctrl-C or a full disk leaves no
  partial DEST.
- A JSON report (``DEST`` without .zip, plus ``.report.json``) records the options, the counts
  and every file left out.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from stylegan.data import toyfaces
from stylegan.data.dataset import TOYFACES, TOYFACES_SIZE
from stylegan.data.images import ALPHA_MODES, UnreadableImage, decode_image
from stylegan.data.sources import LABELS_FILE, ImageSource, check_labels, label_table
from stylegan.data.summary import duplicate_groups, fingerprint
from stylegan.errors import UserError
from stylegan.utils.files import atomic_write, atomic_write_folder, check_output_file, refuse_overwriting_inputs

TRANSFORMS = ("center-crop", "center-crop-wide", "pad")
OTHER_ARCHIVES = (".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")


@dataclass
class ConversionReport:
    """What ``convert_dataset`` did. ``skipped`` lists (file, reason) for every file left out."""

    source: str
    dest: str
    resolution: int
    transform: str | None
    channels: int
    background: tuple[int, int, int] = (255, 255, 255)
    alpha: str = "composite"
    written: int = 0
    resized: int = 0
    upscaled: int = 0
    labels: bool = False
    select: list[str] = field(default_factory=list)  # --select conditions on the labels
    not_selected: int = 0  # labelled inputs that did not meet them
    skipped: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[list[str]] = field(default_factory=list)  # groups of inputs written as the same image
    near_duplicates: list[list[str]] = field(default_factory=list)  # see data.summary.duplicate_groups
    report_path: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = [{"file": name, "reason": reason} for name, reason in self.skipped]
        return d


class _Skip(Exception):
    """An input left out of the output, with the reason."""


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Lanczos resize of an [H, W, C] uint8 image."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    pil = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)
    out = np.asarray(pil.resize((width, height), Image.LANCZOS))
    return out[:, :, None] if out.ndim == 2 else out


def apply_transform(
    image: np.ndarray, resolution: int, transform: str | None, background: tuple[int, int, int] = (255, 255, 255)
) -> np.ndarray:
    """Make a [resolution, resolution, C] image from an [H, W, C] one (see the module docstring)."""
    h, w = image.shape[:2]
    if transform is None:
        if h != w:
            raise _Skip(f"is {w}x{h}, not square (use --transform center-crop or center-crop-wide)")
        return _resize(image, resolution, resolution)
    if transform == "center-crop":
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        return _resize(image[top : top + side, left : left + side], resolution, resolution)
    if transform == "center-crop-wide":
        if w < resolution:
            raise _Skip(f"is {w}x{h}, narrower than {resolution} px (center-crop-wide does not upscale)")
        height = max(1, int(round(resolution * h / w)))
        scaled = _resize(image, resolution, height)
        if height > resolution:
            top = (height - resolution) // 2
            scaled, height = scaled[top : top + resolution], resolution
        canvas = np.zeros((resolution, resolution, image.shape[2]), dtype=np.uint8)
        top = (resolution - height) // 2
        canvas[top : top + height] = scaled
        return canvas
    if transform == "pad":
        scale = resolution / max(h, w)
        height, width = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
        scaled = _resize(image, width, height)
        fill = np.asarray(background, np.float32)
        if image.shape[2] == 1:  # grayscale: the luma of the background colour
            fill = np.asarray([fill @ np.array([0.299, 0.587, 0.114], np.float32)])
        canvas = np.empty((resolution, resolution, image.shape[2]), dtype=np.uint8)
        canvas[:] = np.rint(fill).astype(np.uint8)
        top, left = (resolution - height) // 2, (resolution - width) // 2
        canvas[top : top + height, left : left + width] = scaled
        return canvas
    raise UserError(f"unknown transform {transform!r}; choose one of {', '.join(TRANSFORMS)}")


def parse_colour(value) -> tuple[int, int, int]:
    """An RGB triple from ``(r, g, b)``, ``"r,g,b"`` (0-255) or ``"#rrggbb"``; ``UserError`` otherwise."""
    given = value
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.startswith("#") and len(text) == 7:
                value = tuple(int(text[i : i + 2], 16) for i in (1, 3, 5))
            else:
                value = tuple(int(v) for v in text.split(","))
        except ValueError:
            value = None
    if not (
        isinstance(value, tuple | list) and len(value) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in value)
    ):
        raise UserError(f"--background must be a colour like 255,255,255 or #ffffff, got {given!r}")
    return tuple(int(v) for v in value)


def parse_select(select, has_labels: bool, label_names: list[str] | None) -> list[tuple[int | None, float]]:
    """``NAME=VALUE`` conditions as (label column or None for a class label, value). NAME is a name of
    ``label_names``, a column number, or ``class`` for integer class labels."""
    if not has_labels:
        raise UserError("--select keeps images by their labels; the source has none (no dataset.json)")
    conditions = []
    for text in select:
        name, sep, value = text.partition("=")
        name = name.strip()
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or number is None:
            raise UserError(f"--select must look like NAME=VALUE (e.g. glasses=1), got {text!r}")
        if name == "class":
            conditions.append((None, number))
        elif label_names and name in label_names:
            conditions.append((label_names.index(name), number))
        elif name.isdigit():
            conditions.append((int(name), number))
        else:
            known = ", ".join(label_names[:12]) + (", ..." if len(label_names) > 12 else "") if label_names else ""
            raise UserError(
                f"--select: no label named {name!r}"
                + (f" (labels: {known})" if known else " (the labels have no names: give a column number)")
            )
    return conditions


def _selected(items, conditions, count_out):
    """The items whose labels meet every condition (unlabelled ones pass: the writer reports them)."""
    for item in items:
        label = item[2]
        if label is None or all(_label_value(label, column) == value for column, value in conditions):
            yield item
        else:
            count_out()


def _label_value(label, column):
    if column is None:
        return float(label) if not isinstance(label, list) else None
    if not isinstance(label, list) or column >= len(label):
        return None
    return float(label[column])


def _encode_png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def archive_name(index: int) -> str:
    """Name of output image ``index`` in the official layout."""
    return f"{index // 1000:05d}/img{index:08d}.png"


def report_path_for(dest: str | os.PathLike) -> Path:
    dest = Path(dest)
    stem = dest.name[:-4] if dest.name.lower().endswith(".zip") else dest.name
    return dest.parent / f"{stem}.report.json"


def _check_options(
    source: str, dest: Path, resolution: int, transform: str | None, max_images: int | None, overwrite: bool
):
    if not isinstance(resolution, int) or resolution < 4 or resolution & (resolution - 1):
        raise UserError(f"--resolution must be a power of two >= 4 (e.g. 256), got {resolution}")
    if transform is not None and transform not in TRANSFORMS:
        raise UserError(f"unknown transform {transform!r}; choose one of {', '.join(TRANSFORMS)}")
    if max_images is not None and max_images < 1:
        raise UserError(f"--max-images must be at least 1, got {max_images}")
    if source == TOYFACES:
        try:
            toyfaces._check_resolution(resolution)
        except ValueError as e:
            raise UserError(str(e)) from None
    if source != TOYFACES:
        refuse_overwriting_inputs({"--source": source}, [dest, report_path_for(dest)])
    if is_zip_dest(dest):
        check_output_file(dest, overwrite)
    elif dest.exists():
        if not dest.is_dir():
            raise UserError(f"--dest {dest} exists and is not a folder")
        if any(dest.iterdir()):
            raise UserError(f"--dest folder {dest} is not empty; give a new or empty folder, or a .zip")


def is_zip_dest(dest: str | os.PathLike) -> bool:
    """The rule for DEST: a name ending in .zip is a zip archive, any other name a folder (``faces.v2``
    too); other archive suffixes (.tar, .7z, ...) are refused as a likely mistake."""
    dest = Path(dest)
    if dest.name.lower().endswith(".zip"):
        return True
    if dest.suffix.lower() in OTHER_ARCHIVES:
        raise UserError(f"--dest must be a .zip file or a folder (only zip archives are written), got {dest}")
    return False


def _inputs(
    source: str,
    resolution: int,
    max_images: int | None,
    grayscale: bool,
    background: tuple[int, int, int] = (255, 255, 255),
    alpha: str = "composite",
):
    """(count, labels table or None, label names, iterator of (name, read function, label))."""
    if source == TOYFACES:
        count = max_images or TOYFACES_SIZE

        def render(i):
            image = toyfaces.render(i, resolution)[0]
            if grayscale:
                gray = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
                image = np.rint(gray).astype(np.uint8)[:, :, None]
            return image

        def items():
            for start in range(0, count, 1024):
                batch = toyfaces.labels(np.arange(start, min(start + 1024, count)))
                for k, label in enumerate(batch):
                    i = start + k
                    yield f"toyfaces/{i:08d}", (lambda i=i: render(i)), [round(float(x), 6) for x in label]

        return count, True, list(toyfaces.LABEL_NAMES), items()

    src = ImageSource(source)
    if not src.names:
        raise UserError(f"no image files (.png, .jpg, .webp, ...) found in {source}")
    table, names = label_table(src.dataset_json(), src.describe(LABELS_FILE))
    labelled = [name for name in src.names if name in table]
    check_labels([table[name] for name in labelled], labelled, src.describe(LABELS_FILE))  # as training will

    def read(name):
        return decode_image(src.read(name), grayscale=grayscale, background=background, alpha=alpha)

    def folder_items():
        for name in src.names:
            yield name, (lambda name=name: read(name)), table.get(name) if table else None

    return len(src.names), bool(table), names, folder_items()


def _ordered_map(fn, items, workers: int):
    """``map(fn, items)`` in order on a thread pool, with a bounded number of items in flight."""
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 4 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def convert_dataset(
    source: str,
    dest: str | os.PathLike,
    resolution: int,
    transform: str | None = None,
    max_images: int | None = None,
    grayscale: bool = False,
    workers: int | None = None,
    progress: bool = True,
    echo=None,
    overwrite: bool = False,
    background: tuple[int, int, int] = (255, 255, 255),
    alpha: str = "composite",
    select: list[str] | tuple[str, ...] = (),
) -> ConversionReport:
    """Convert ``source`` into a dataset at ``dest`` (see the module docstring); return the report.
    An existing .zip ``dest`` is replaced only with ``overwrite``; a folder ``dest`` must be new or empty.

    ``echo(line)`` receives a line per file left out (default: written to stderr above the progress bar).
    Raises ``UserError`` for bad options, a missing source, or a source with no usable image.
    """
    from tqdm import tqdm

    source = str(source)
    dest = Path(dest)
    _check_options(source, dest, resolution, transform, max_images, overwrite)
    background = parse_colour(background)
    if alpha not in ALPHA_MODES:
        raise UserError(f"--alpha must be one of {', '.join(ALPHA_MODES)}, got {alpha!r}")
    pool = None if select and source == TOYFACES else max_images  # selecting: draw from all toyfaces
    count, has_labels, label_names, items = _inputs(source, resolution, pool, grayscale, background, alpha)
    report = ConversionReport(
        source=source,
        dest=str(dest),
        resolution=resolution,
        transform=transform,
        channels=1 if grayscale else 3,
        labels=has_labels,
        background=background,
        alpha=alpha,
        select=list(select),
    )
    if select:
        conditions = parse_select(select, has_labels, label_names)
        items = _selected(items, conditions, lambda: setattr(report, "not_selected", report.not_selected + 1))
    total = min(count, max_images) if max_images else count
    bar = tqdm(total=total, desc=f"converting {Path(source).name}", unit="img", disable=not progress)
    say = echo or (lambda line: bar.write(line, file=sys.stderr))
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)

    def process(item):
        name, read, label = item
        try:
            if has_labels and label is None:
                raise _Skip(f"has no label in {LABELS_FILE}")
            image = read()
            h, w = image.shape[:2]
            out = apply_transform(image, resolution, transform, background)
            return name, _encode_png(out), label, None, (h, w), fingerprint(out)
        except (UnreadableImage, _Skip) as e:
            return name, None, None, str(e), None, None
        except (OSError, KeyError, zipfile.BadZipFile) as e:
            return name, None, None, f"cannot read the file ({type(e).__name__}: {e})", None, None

    written_labels = []
    written_names, prints = [], []  # for the duplicates

    def write_all(put):
        for name, png, label, problem, size, fingerprint_ in _ordered_map(process, items, workers):
            if problem is not None:
                report.skipped.append((name, problem))
                say(f"skipped {name}: {problem}")
                if max_images is None:
                    bar.update(1)
                continue
            index = report.written
            put(archive_name(index), png)
            if label is not None:
                written_labels.append([archive_name(index), label])
            if size != (resolution, resolution):
                report.resized += 1
                longest = max(size) if transform == "pad" else min(size)  # the side scaled to the resolution
                report.upscaled += int(longest < resolution and transform != "center-crop-wide")
            report.written += 1
            written_names.append(name)
            prints.append(fingerprint_)
            bar.update(1)
            if max_images is not None and report.written >= max_images:
                break
        report.duplicates, report.near_duplicates = duplicate_groups(written_names, prints)
        if report.written == 0:
            raise UserError(
                f"no usable image in {source}: all {len(report.skipped)} files were left out "
                f"(first: {report.skipped[0][0]}: {report.skipped[0][1]})"
                if report.skipped
                else f"no usable image in {source}"
            )
        if written_labels:
            meta = {"labels": written_labels}
            if label_names:
                meta["label_names"] = list(label_names)
            put(LABELS_FILE, json.dumps(meta).encode("utf-8"))

    try:
        if is_zip_dest(dest):
            _write_zip(dest, write_all)
        else:
            _write_folder(dest, write_all)
    finally:
        bar.close()
    report.report_path = str(report_path_for(dest))
    text = json.dumps(report.to_dict(), indent=2) + "\n"
    atomic_write(report.report_path, lambda tmp: Path(tmp).write_text(text))
    return report


def _write_zip(dest: Path, write_all) -> None:
    def write(tmp):
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            write_all(zf.writestr)

    atomic_write(dest, write)


def _write_folder(dest: Path, write_all) -> None:
    def fill(tmp: Path):
        def put(name, data):
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        write_all(put)

    atomic_write_folder(dest, fill)
