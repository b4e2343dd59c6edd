"""What a folder or zip of images holds, before (or after) it becomes a training dataset.

``summarize(source)`` reads every image of ``source`` once and returns a ``DatasetSummary``:

- counts: images, unreadable files (with the reason), images per size (``WxH``) and per colour
  mode as stored (PIL modes: ``RGB``, ``RGBA``, ``L``, ``I;16``, ``P``, ...), square or not;
- duplicates: groups of exact duplicates (the same pixels after decoding, whatever the file
  format) and of near duplicates (``duplicate_groups``: the same 64-bit difference hash of a 9x8
  grayscale thumbnail, and 8x8 colour thumbnails within ``NEAR_MAX_DIFF`` on average: resized,
  recompressed or slightly retouched copies), each group listed by file name;
- labels (``dataset.json``): images per class for class labels; for label vectors, per column
  (``label_names`` where given) the minimum, mean and maximum, and how many images have it set
  where the column only holds 0 and 1 (several labels per image);
- a contact sheet: the first ``columns x rows`` readable images as square thumbnails (letterboxed on
  grey, in file order), as one PNG.

``write_summary(summary, dest)`` writes ``summary.json`` and ``contact-sheet.png`` into the new or
empty folder ``dest`` (atomically).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from stylegan.data.images import UnreadableImage, decode_image, open_image
from stylegan.data.sources import LABELS_FILE, ImageSource, label_table
from stylegan.errors import UserError
from stylegan.utils.files import atomic_write_folder

SUMMARY_FILE = "summary.json"
CONTACT_SHEET = "contact-sheet.png"


@dataclass
class DatasetSummary:
    source: str
    images: int = 0
    sizes: dict[str, int] = field(default_factory=dict)  # "WxH" -> count, most common first
    modes: dict[str, int] = field(default_factory=dict)  # PIL mode as stored -> count
    not_square: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    exact_duplicates: list[list[str]] = field(default_factory=list)
    near_duplicates: list[list[str]] = field(default_factory=list)
    labels: dict | None = None
    sheet: Image.Image | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("sheet")
        d["unreadable"] = [{"file": name, "reason": reason} for name, reason in self.unreadable]
        return d

    def lines(self) -> list[str]:
        """A few lines for the terminal."""
        out = [
            f"{self.images} images in {self.source}"
            + (f", {len(self.unreadable)} unreadable" if self.unreadable else "")
        ]
        sizes = list(self.sizes.items())
        out.append(
            "sizes: "
            + ", ".join(f"{s} ({n})" for s, n in sizes[:6])
            + (", ..." if len(sizes) > 6 else "")
            + (f"; {self.not_square} not square" if self.not_square else "")
        )
        out.append("colour modes: " + ", ".join(f"{m} ({n})" for m, n in self.modes.items()))
        dup = sum(len(g) - 1 for g in self.exact_duplicates)
        near = sum(len(g) - 1 for g in self.near_duplicates)
        out.append(
            f"duplicates: {dup} exact copies in {len(self.exact_duplicates)} groups, {near} near duplicates "
            f"in {len(self.near_duplicates)} groups"
        )
        if self.labels:
            if self.labels["kind"] == "class":
                counts = self.labels["classes"]
                out.append(f"labels: {len(counts)} classes, " + ", ".join(f"{c}: {n}" for c, n in counts.items()))
            else:
                cols = self.labels["columns"]
                out.append(
                    f"labels: vectors of {len(cols)} numbers: "
                    + ", ".join(
                        f"{c['name']}" + (f" set in {c['set']}" if "set" in c else f" mean {c['mean']:.3g}")
                        for c in cols[:8]
                    )
                    + (", ..." if len(cols) > 8 else "")
                )
            if self.labels["unlabelled"]:
                out.append(f"  {self.labels['unlabelled']} images have no label")
        return out


NEAR_MAX_DIFF = 8.0  # mean abs difference (of 255) of the 8x8 colour thumbnails of near duplicates


def fingerprint(image: np.ndarray) -> tuple[str, int, np.ndarray]:
    """What ``duplicate_groups`` compares: a hash of the exact pixels (and shape), the difference
    hash, and an 8x8 colour thumbnail."""
    exact = hashlib.sha1(np.ascontiguousarray(image).tobytes() + repr(image.shape).encode()).hexdigest()
    pil = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).convert("RGB")
    return exact, difference_hash(image), np.asarray(pil.resize((8, 8), Image.BILINEAR), dtype=np.uint8)


def duplicate_groups(names: list[str], prints: list[tuple]) -> tuple[list[list[str]], list[list[str]]]:
    """(exact groups, near groups) of ``names`` from their ``fingerprint``s. Near duplicates share the
    difference hash and their colour thumbnails differ by at most ``NEAR_MAX_DIFF`` on average from
    the group's first image (the hash alone also joins pictures of one layout in other colours);
    groups that are all copies of one exact group are left out."""
    exact: dict[str, list[str]] = defaultdict(list)
    by_hash: dict[int, list[int]] = defaultdict(list)
    for i, (name, (sha, dhash, _)) in enumerate(zip(names, prints)):
        exact[sha].append(name)
        by_hash[dhash].append(i)
    exact_groups = [g for g in exact.values() if len(g) > 1]
    group_of = {n: sha for sha, g in exact.items() for n in g}
    near_groups = []
    for members in by_hash.values():
        left = list(members)
        while len(left) > 1:
            first = prints[left[0]][2].astype(np.int16)
            close = [i for i in left if np.abs(prints[i][2].astype(np.int16) - first).mean() <= NEAR_MAX_DIFF]
            if len({group_of[names[i]] for i in close}) > 1:
                near_groups.append([names[i] for i in close])
            left = [i for i in left if i not in close]
    return exact_groups, near_groups


def difference_hash(image: np.ndarray) -> int:
    """64-bit difference hash: a 9x8 grayscale thumbnail, one bit per horizontal neighbour pair."""
    gray = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).convert("L")
    small = np.asarray(gray.resize((9, 8), Image.BILINEAR), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def _thumbnail(image: np.ndarray, size: int) -> Image.Image:
    pil = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).convert("RGB")
    scale = size / max(pil.size)  # fit the tile, up or down
    pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))), Image.LANCZOS)
    tile = Image.new("RGB", (size, size), (128, 128, 128))
    tile.paste(pil, ((size - pil.width) // 2, (size - pil.height) // 2))
    return tile


def _label_summary(table: dict, names: list[str] | None, images: list[str]) -> dict | None:
    if not table:
        return None
    values = [table[n] for n in images if n in table]
    out: dict = {"unlabelled": sum(1 for n in images if n not in table)}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        out["kind"] = "class"
        out["classes"] = {str(c): n for c, n in sorted(Counter(values).items())}
        return out
    if not all(isinstance(v, list) for v in values) or len({len(v) for v in values}) > 1:
        raise UserError(f"{LABELS_FILE}: labels must be all integer classes or all lists of one length")
    array = np.asarray(values, dtype=np.float64)
    width = array.shape[1] if array.ndim == 2 else 0
    col_names = names if names and len(names) == width else [str(i) for i in range(width)]
    columns = []
    for i, name in enumerate(col_names):
        col = array[:, i]
        entry = {"name": name, "min": float(col.min()), "mean": float(col.mean()), "max": float(col.max())}
        if np.isin(col, (0.0, 1.0)).all():
            entry["set"] = int(col.sum())  # a 0/1 column: one of several labels an image may have
        columns.append(entry)
    out["kind"] = "vector"
    out["columns"] = columns
    return out


def summarize(source: str, columns: int = 8, rows: int = 8, thumb: int = 64) -> DatasetSummary:
    """Read every image of the folder or zip ``source`` once (see the module docstring)."""
    src = ImageSource(source)
    if not src.names:
        raise UserError(f"no image files (.png, .jpg, .webp, ...) found in {source}")
    summary = DatasetSummary(source=str(source))
    sizes: Counter[tuple[int, int]] = Counter()
    modes: Counter[str] = Counter()
    prints = []
    tiles: list = []
    readable = []
    for name in src.names:
        try:
            data = src.read(name)
            with open_image(data) as img:
                mode, (w, h) = img.mode, img.size
            image = decode_image(data)
        except UnreadableImage as e:
            summary.unreadable.append((name, str(e)))
            continue
        except (OSError, KeyError, zipfile.BadZipFile) as e:
            summary.unreadable.append((name, f"cannot read the file ({type(e).__name__}: {e})"))
            continue
        readable.append(name)
        sizes[f"{w}x{h}"] += 1
        modes[mode] += 1
        summary.not_square += int(w != h)
        prints.append(fingerprint(image))
        if len(tiles) < columns * rows:
            tiles.append(_thumbnail(image, thumb))
    summary.images = len(readable)
    summary.sizes = dict(sizes.most_common())
    summary.modes = dict(modes.most_common())
    summary.exact_duplicates, summary.near_duplicates = duplicate_groups(readable, prints)
    table, names = label_table(src.dataset_json(), src.describe(LABELS_FILE))
    summary.labels = _label_summary(table, names, readable)
    if tiles:
        used_rows = -(-len(tiles) // columns)
        sheet = Image.new("RGB", (columns * thumb, used_rows * thumb), (255, 255, 255))
        for i, tile in enumerate(tiles):
            sheet.paste(tile, ((i % columns) * thumb, (i // columns) * thumb))
        summary.sheet = sheet
    src.close()
    return summary


def write_summary(summary: DatasetSummary, dest: str | Path) -> Path:
    """``summary.json`` and ``contact-sheet.png`` in the new or empty folder ``dest``."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UserError(f"--summary {dest} must be a new or empty folder")
    text = json.dumps(summary.to_dict(), indent=2) + "\n"

    def fill(tmp: Path) -> None:
        (tmp / SUMMARY_FILE).write_text(text)
        if summary.sheet is not None:
            summary.sheet.save(tmp / CONTACT_SHEET)

    return atomic_write_folder(dest, fill)
