"""Image folders and zip archives as one kind of source, and their ``dataset.json`` labels.

``ImageSource(path)`` lists the image files of a folder (recursively) or a .zip, sorted, as
'/'-separated names relative to the root, and reads them. It can be pickled (a zip is reopened
lazily in each process), so a dataset built on it works in DataLoader worker processes.

Labels follow the official dataset tool: ``dataset.json`` at the root holds
``{"labels": [["00000/img00000000.png", 6], ...]}`` with an integer class per image (one-hot
labels) or a list of numbers per image (label vectors). An optional ``"label_names"`` list names
the entries of the label vector. Labels may also come as named columns per image,
``["img.png", {"glasses": 1, "smile": 0}]``: they become label vectors (columns in the order of
``label_names``, or sorted by name).
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from stylegan.data.images import is_image_name
from stylegan.errors import UserError

LABELS_FILE = "dataset.json"
MAX_LABEL_DIM = 10_000  # classes, or numbers in a label vector: the c_dim of a conditional network


class ImageSource:
    """The image files of a folder or a .zip archive."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._zip = None
        if self.path.is_dir():
            self.kind = "folder"
            files = []
            for root, dirs, names in os.walk(self.path):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                rel = Path(root).relative_to(self.path).as_posix()
                files += [n if rel == "." else f"{rel}/{n}" for n in names]
            self._all = set(files)
        elif self.path.is_file():
            if self.path.suffix.lower() != ".zip":
                raise UserError(f"{self.path} is neither a folder nor a .zip archive")
            self.kind = "zip"
            try:
                self._all = {n for n in self._zipfile().namelist() if not n.endswith("/")}
            except (zipfile.BadZipFile, OSError) as e:
                raise UserError(f"{self.path} is not a readable zip archive ({e})") from None
        else:
            raise UserError(f"dataset source {self.path} does not exist (give a folder, a .zip or 'toyfaces')")
        self.names = sorted(n for n in self._all if is_image_name(n))

    def _zipfile(self) -> zipfile.ZipFile:
        if self._zip is None:
            self._zip = zipfile.ZipFile(self.path)
        return self._zip

    def __getstate__(self):
        return dict(self.__dict__, _zip=None)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def open(self, name: str):
        """A binary file object for ``name`` (raises OSError or KeyError when it cannot be opened)."""
        if self.kind == "zip":
            return self._zipfile().open(name, "r")
        return open(self.path / name, "rb")

    def read(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()

    def describe(self, name: str) -> str:
        """How to name a file of this source in a message."""
        return f"{self.path}:{name}" if self.kind == "zip" else str(self.path / name)

    def dataset_json(self) -> dict | None:
        """The parsed ``dataset.json`` at the root, or None where there is none."""
        if LABELS_FILE not in self._all:
            return None
        try:
            meta = json.loads(self.read(LABELS_FILE).decode("utf-8"))
        except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise UserError(f"{self.describe(LABELS_FILE)} is not valid JSON ({e})") from None
        if not isinstance(meta, dict):
            raise UserError(f"{self.describe(LABELS_FILE)} must hold a JSON object with a 'labels' list")
        return meta


def label_table(meta: dict | None, where: str) -> tuple[dict[str, object], list[str] | None]:
    """Labels of ``dataset.json`` as {image name: int class or list of floats}, and the label names."""
    if meta is None or meta.get("labels") is None:
        return {}, None
    entries = meta["labels"]
    if not isinstance(entries, list):
        raise UserError(f"{where}: 'labels' must be a list of [file name, label] pairs")
    table = {}
    for entry in entries:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)):
            raise UserError(f"{where}: each label must be a [file name, label] pair, got {entry!r:.80}")
        table[entry[0].replace("\\", "/")] = entry[1]
    names = meta.get("label_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise UserError(f"{where}: 'label_names' must be a list of strings")
    if any(isinstance(v, dict) for v in table.values()):
        table, names = _columns_to_vectors(table, names, where)
    return table, names


def _columns_to_vectors(table: dict[str, object], names: list[str] | None, where: str):
    """Labels given as columns, ``{"glasses": 1, "smile": 0}`` per image, as label vectors in the order
    of ``label_names`` (or of the sorted column names where it is absent); every image must give
    every column, and only those."""
    if not all(isinstance(v, dict) for v in table.values()):
        raise UserError(f"{where}: labels must all be objects of named columns, or none of them")
    columns = names if names is not None else sorted({k for v in table.values() for k in v})
    for image, value in table.items():
        if set(value) != set(columns):
            missing, extra = sorted(set(columns) - set(value)), sorted(set(value) - set(columns))
            problem = (
                f"lacks {', '.join(missing)}" if missing else f"has columns not in label_names: {', '.join(extra)}"
            )
            raise UserError(f"{where}: the label of {image} {problem}")
    return {image: [value[c] for c in columns] for image, value in table.items()}, list(columns)


def labels_array(table: dict[str, object], names: list[str], where: str) -> np.ndarray:
    """Labels of the images ``names`` in order: int64 [N] for classes or float32 [N, D] for vectors."""
    missing = [n for n in names if n not in table]
    if missing:
        raise UserError(
            f"{where} has no label for {missing[0]}"
            + (f" and {len(missing) - 1} other images" if len(missing) > 1 else "")
            + "; add them or drop dataset.json to train without labels"
        )
    return check_labels([table[n] for n in names], names, where)


def check_labels(values: list, names: list[str], where: str) -> np.ndarray:
    """The labels ``values`` of the images ``names`` as training takes them, or a ``UserError`` naming
    the first bad one: either all integer classes in [0, MAX_LABEL_DIM) (int64 [N]), or all lists
    of the same length (1 to MAX_LABEL_DIM) of finite numbers (float32 [N, D]). The one rule for
    labels, applied by training and by ``stylegan dataset`` when it writes them."""
    if all(_is_int(v) for v in values):
        for name, v in zip(names, values):
            if not 0 <= v < MAX_LABEL_DIM:
                raise UserError(f"{where}: class labels must be integers from 0 to {MAX_LABEL_DIM - 1}; {name} has {v}")
        return np.asarray(values, dtype=np.int64)
    for name, v in zip(names, values):
        if not (isinstance(v, list) and all(_is_int(x) or isinstance(x, float) for x in v)):
            raise UserError(
                f"{where}: labels must all be integer classes or all be lists of numbers; {name} has {v!r:.60}"
            )
    for name, v in zip(names, values):
        if len(v) != len(values[0]):
            raise UserError(
                f"{where}: label lists must all have the same length; {names[0]} has {len(values[0])} "
                f"numbers, {name} has {len(v)}"
            )
        if not 1 <= len(v) <= MAX_LABEL_DIM:
            raise UserError(f"{where}: label lists must hold 1 to {MAX_LABEL_DIM} numbers; {name} has {len(v)}")
    with np.errstate(over="ignore"):  # beyond float32: inf, refused below
        vectors = np.asarray([[_as_float(x) for x in v] for v in values]).astype(np.float32)
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise UserError(f"{where}: labels must be finite numbers (float32); {names[bad]} has {values[bad]!r:.60}")
    return vectors


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond float64
        return math.inf
