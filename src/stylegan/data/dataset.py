"""Image datasets: a folder or zip of images, or the built-in procedural ``toyfaces``.

    from stylegan.data import open_dataset
    ds = open_dataset("faces.zip", use_labels=True, mirror=True)
    image, label = ds[0]        # uint8 [C, H, W], float32 [label_dim]

``open_dataset(source, resolution=None, use_labels=False, mirror=False, max_size=None,
grayscale=False, size=None, on_error="raise")``:

- ``source``: a folder (searched recursively), a .zip, or ``"toyfaces"`` (then ``resolution`` is
  required and ``size`` is the number of faces, default ``TOYFACES_SIZE``).
- Folder and zip images must be square, all the same power-of-two size (``resolution``, when
  given, must match it); any colour mode is converted to RGB, or to one grayscale channel with
  ``grayscale``. The file headers are checked when the dataset opens; ``stylegan dataset`` converts
  other images.
- ``use_labels``: read labels (``dataset.json`` or the toyfaces factors); without it the label
  dimension is 0.
- ``max_size``: keep a random subset of this many images (seed 0, as the official code does;
  toyfaces keeps the first ``max_size`` faces). Applied before ``mirror``.
- ``mirror``: twice the length; item ``i + n`` is item ``i`` flipped left-right (the official
  ``xflip``). Toyfaces labels follow the flip (yaw and roll change sign).
- ``on_error``: what reading a bad image (corrupt, truncated, unreadable, wrong size) does.
  ``"raise"``: raise ``BadImageError`` (a ``UserError``) naming the file; at open, the first bad
  header already raises. ``"skip"``: files whose header is bad are left out at open; a file found
  corrupt later is replaced by the next readable image (so batches keep their size). Either way
  every bad file is recorded in ``dataset.bad_files`` ({name: reason}) and logged once on the
  ``stylegan.data`` logger. ``dataset.check()`` decodes every image and returns the bad ones.

``ImageDataset`` attributes: ``name``, ``source``, ``resolution``, ``num_channels``, ``image_shape``
([C, H, W]), ``label_dim``, ``has_labels``, ``has_onehot_labels``, ``label_names``, ``raw_labels``
(float32 [number of distinct images, label_dim], before mirroring), ``bad_files``; methods
``get_label(i)``, ``image_name(i)``, ``check()``, ``close()``.
"""

from __future__ import annotations

import logging
import math
import zipfile
from collections import Counter

import numpy as np

from stylegan.data import toyfaces
from stylegan.data.images import BadImageError, UnreadableImage, decode_image, probe_size
from stylegan.data.sources import LABELS_FILE, ImageSource, label_table, labels_array
from stylegan.errors import UserError

log = logging.getLogger("stylegan.data")

TOYFACES = "toyfaces"
TOYFACES_SIZE = 50_000
ON_ERROR = ("raise", "skip")
_REMOVE_HINT = "remove or replace it, or rebuild the dataset with `stylegan dataset`, which leaves out unreadable files"


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


class ImageDataset:
    """Indexable images and labels. Subclasses read raw image ``k`` with ``_read_raw(k)``."""

    def __init__(
        self,
        *,
        name: str,
        source: str,
        num_raw: int,
        resolution: int,
        num_channels: int,
        use_labels: bool,
        mirror: bool,
        max_size: int | None,
        on_error: str = "raise",
        random_seed: int = 0,
    ):
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
        if max_size is not None and max_size < 1:
            raise UserError(f"max_size must be at least 1, got {max_size}")
        self.name = name
        self.source = source
        self.resolution = int(resolution)
        self.num_channels = int(num_channels)
        self.use_labels = bool(use_labels)
        self.mirror = bool(mirror)
        self.on_error = on_error
        self.bad_files: dict[str, str] = {}
        self._bad_raw: set[int] = set()
        self._num_raw = int(num_raw)
        self._raw_idx = np.arange(num_raw, dtype=np.int64)
        if max_size is not None and num_raw > max_size:
            order = self._raw_idx.copy()
            np.random.RandomState(random_seed).shuffle(order)
            self._raw_idx = np.sort(order[:max_size])
        self._labels_cache: np.ndarray | None = None

    # --- to be provided by subclasses -----------------------------------------------------------
    def _read_raw(self, raw: int) -> np.ndarray:
        """Raw image ``raw`` as uint8 [C, H, W]; raises BadImageError."""
        raise NotImplementedError

    def _raw_name(self, raw: int) -> str:
        raise NotImplementedError

    def _load_raw_labels(self) -> np.ndarray | None:
        """All raw labels: int64 [N] classes or float32 [N, D] vectors, or None."""
        return None

    def _raw_label_names(self) -> list[str] | None:
        return None

    def _mirror_label(self, label: np.ndarray) -> np.ndarray:
        return label

    # --- sizes and labels ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._raw_idx) * (2 if self.mirror else 1)

    @property
    def num_images(self) -> int:
        """Distinct images (before mirroring)."""
        return len(self._raw_idx)

    @property
    def image_shape(self) -> list[int]:
        return [self.num_channels, self.resolution, self.resolution]

    def _all_labels(self) -> np.ndarray:
        if self._labels_cache is None:
            labels = self._load_raw_labels() if self.use_labels else None
            if labels is None:
                labels = np.zeros((self._num_raw, 0), dtype=np.float32)
            self._labels_cache = labels
            self._label_dim = int(labels.max(initial=-1)) + 1 if labels.dtype == np.int64 else int(labels.shape[1])
        return self._labels_cache

    @property
    def has_onehot_labels(self) -> bool:
        return self._all_labels().dtype == np.int64

    @property
    def label_dim(self) -> int:
        self._all_labels()
        return self._label_dim

    @property
    def has_labels(self) -> bool:
        return self.label_dim > 0

    @property
    def label_names(self) -> list[str]:
        if not self.has_labels:
            return []
        names = self._raw_label_names()
        if names is not None and len(names) == self.label_dim:
            return list(names)
        prefix = "class" if self.has_onehot_labels else "label"
        return [f"{prefix}{i}" for i in range(self.label_dim)]

    def _label_of_raw(self, raw: int) -> np.ndarray:
        labels = self._all_labels()
        if labels.dtype == np.int64:
            onehot = np.zeros(self.label_dim, dtype=np.float32)
            onehot[labels[raw]] = 1
            return onehot
        return labels[raw].astype(np.float32, copy=True)

    @property
    def raw_labels(self) -> np.ndarray:
        """Labels of the distinct images (before mirroring), float32 [num_images, label_dim]."""
        labels = self._all_labels()[self._raw_idx]
        if labels.dtype == np.int64:
            return np.eye(self.label_dim, dtype=np.float32)[labels]
        return labels.astype(np.float32, copy=True)

    def _locate(self, idx: int) -> tuple[int, bool]:
        n = len(self._raw_idx)
        idx = int(idx)
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f"index {idx} out of range for a dataset of {len(self)} images")
        return int(self._raw_idx[idx % n]), idx >= n

    def get_label(self, idx: int) -> np.ndarray:
        raw, flipped = self._locate(idx)
        label = self._label_of_raw(raw)
        return self._mirror_label(label) if flipped else label

    def image_name(self, idx: int) -> str:
        return self._raw_name(self._locate(idx)[0])

    # --- images ---------------------------------------------------------------------------------
    def __getitem__(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
        raw, flipped = self._locate(idx)
        image = self._read_or_substitute(raw)
        if flipped:
            image = image[:, :, ::-1]
        return np.ascontiguousarray(image), self.get_label(idx)

    def _record_bad(self, raw: int, err: BadImageError) -> None:
        if raw not in self._bad_raw:
            self._bad_raw.add(raw)
            self.bad_files[err.name] = err.reason
            log.warning("skipping bad image %s", err)

    def _read_or_substitute(self, raw: int) -> np.ndarray:
        if self.on_error == "raise":
            return self._read_raw(raw)
        position = int(np.searchsorted(self._raw_idx, raw))
        n = len(self._raw_idx)
        for step in range(n):
            candidate = int(self._raw_idx[(position + step) % n])
            if candidate in self._bad_raw:
                continue
            try:
                return self._read_raw(candidate)
            except BadImageError as e:
                self._record_bad(candidate, e)
        raise UserError(f"no readable image left in {self.source} ({len(self.bad_files)} bad files)")

    def check(self, progress: bool = False) -> dict[str, str]:
        """Decode every image; return {name: reason} for the bad ones (also kept in ``bad_files``)."""
        from tqdm import tqdm

        found = {}
        for raw in tqdm(self._raw_idx.tolist(), desc=f"checking {self.name}", disable=not progress, unit="img"):
            try:
                self._read_raw(raw)
            except BadImageError as e:
                self._record_bad(raw, e)
                found[e.name] = e.reason
        return found

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, images={self.num_images}, len={len(self)}, "
            f"resolution={self.resolution}, channels={self.num_channels}, label_dim={self.label_dim})"
        )


class FileDataset(ImageDataset):
    """Images of a folder or a .zip archive (see ``open_dataset``)."""

    def __init__(
        self,
        path: str,
        resolution: int | None = None,
        use_labels: bool = False,
        mirror: bool = False,
        max_size: int | None = None,
        grayscale: bool = False,
        on_error: str = "raise",
    ):
        self._source = ImageSource(path)
        if not self._source.names:
            raise UserError(f"no image files (.png, .jpg, .webp, ...) found in {path}")
        self.grayscale = bool(grayscale)
        names, header_errors, size = self._scan(self._source, resolution, on_error)
        self._names = names
        self._header_errors = header_errors
        name = self._source.path.stem if self._source.kind == "zip" else self._source.path.name
        super().__init__(
            name=name,
            source=str(path),
            num_raw=len(names),
            resolution=size,
            num_channels=1 if grayscale else 3,
            use_labels=use_labels,
            mirror=mirror,
            max_size=max_size,
            on_error=on_error,
        )
        for err in header_errors:
            self.bad_files[err.name] = err.reason
            log.warning("skipping bad image %s", err)
        if use_labels:
            if self._source.dataset_json() is None:
                raise UserError(f"{path} has no {LABELS_FILE} with labels; train without labels or add one")
            self._all_labels()  # report label problems now rather than in the middle of training

    @staticmethod
    def _convert_hint(source: ImageSource, resolution: int) -> str:
        return (
            f"convert the images with `stylegan dataset --source {source.path} --dest DEST.zip "
            f"--resolution {resolution} --transform center-crop`"
        )

    @classmethod
    def _scan(cls, source: ImageSource, resolution: int | None, on_error: str):
        """Read every header; keep the files of the common (or requested) square power-of-two size."""
        sizes, errors = {}, []
        for name in source.names:
            try:
                with source.open(name) as f:
                    sizes[name] = probe_size(f)
            except (UnreadableImage, OSError, KeyError, zipfile.BadZipFile) as e:
                errors.append(BadImageError(source.describe(name), str(e) or type(e).__name__, _REMOVE_HINT))
        if errors and on_error == "raise":
            raise errors[0]
        if not sizes:
            raise UserError(f"none of the {len(source.names)} image files in {source.path} can be read")
        common = Counter(sizes.values()).most_common(1)[0][0]
        target = (resolution, resolution) if resolution is not None else common
        w, h = common
        if resolution is None and (w != h or not _is_power_of_two(w)):
            example = next(n for n, s in sizes.items() if s == common)
            raise UserError(
                f"images in {source.path} are {w}x{h} (e.g. {example}), but a dataset needs square "
                f"power-of-two images; {cls._convert_hint(source, 2 ** round(math.log2(min(w, h))))}"
            )
        if resolution is not None and (not _is_power_of_two(resolution) or resolution < 4):
            raise UserError(f"resolution must be a power of two >= 4, got {resolution}")
        if resolution is not None and common != target:
            raise UserError(
                f"images in {source.path} are {w}x{h}, not {resolution}x{resolution}; "
                f"{cls._convert_hint(source, resolution)}"
            )
        names = []
        for name, size in sizes.items():
            if size == target:
                names.append(name)
                continue
            err = BadImageError(
                source.describe(name),
                f"is {size[0]}x{size[1]}, but the dataset's images are {target[0]}x{target[1]}",
                cls._convert_hint(source, target[0]),
            )
            if on_error == "raise":
                raise err
            errors.append(err)
        return names, errors, target[0]

    def _raw_name(self, raw: int) -> str:
        return self._names[raw]

    def _read_raw(self, raw: int) -> np.ndarray:
        name = self._names[raw]
        try:
            image = decode_image(self._source.read(name), grayscale=self.grayscale)
        except (UnreadableImage, OSError, KeyError, zipfile.BadZipFile) as e:
            raise BadImageError(self._source.describe(name), str(e) or type(e).__name__, _REMOVE_HINT) from None
        if image.shape[0] != self.resolution or image.shape[1] != self.resolution:
            raise BadImageError(
                self._source.describe(name),
                f"is {image.shape[1]}x{image.shape[0]}, but the "
                f"dataset's images are {self.resolution}x{self.resolution}",
                self._convert_hint(self._source, self.resolution),
            )
        return image.transpose(2, 0, 1)

    def _load_raw_labels(self) -> np.ndarray | None:
        meta = self._source.dataset_json()
        where = self._source.describe(LABELS_FILE)
        table, _ = label_table(meta, where)
        if not table:
            raise UserError(f"{where} has no labels; train without labels or fill in its 'labels' list")
        return labels_array(table, self._names, where)

    def _raw_label_names(self) -> list[str] | None:
        return label_table(self._source.dataset_json(), self._source.describe(LABELS_FILE))[1]

    def close(self) -> None:
        self._source.close()


class ToyFacesDataset(ImageDataset):
    """The procedural cartoon faces of ``stylegan.data.toyfaces``: image ``i`` is ``toyfaces.render(i)``."""

    def __init__(
        self,
        resolution: int,
        size: int = TOYFACES_SIZE,
        use_labels: bool = False,
        mirror: bool = False,
        max_size: int | None = None,
        grayscale: bool = False,
    ):
        try:
            toyfaces._check_resolution(resolution)
        except ValueError as e:
            raise UserError(str(e)) from None
        if size < 1:
            raise UserError(f"toyfaces size must be at least 1, got {size}")
        size = min(size, max_size) if max_size is not None else size
        self.grayscale = bool(grayscale)
        super().__init__(
            name=TOYFACES,
            source=TOYFACES,
            num_raw=size,
            resolution=resolution,
            num_channels=1 if grayscale else 3,
            use_labels=use_labels,
            mirror=mirror,
            max_size=None,
        )

    def _read_raw(self, raw: int) -> np.ndarray:
        image, _ = toyfaces.render(raw, self.resolution)
        if self.grayscale:
            gray = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
            image = np.rint(gray).astype(np.uint8)[:, :, None]
        return image.transpose(2, 0, 1)

    def _raw_name(self, raw: int) -> str:
        return f"toyfaces/{raw:08d}"

    def _load_raw_labels(self) -> np.ndarray | None:
        return toyfaces.labels(np.arange(len(self._raw_idx)))

    def _label_of_raw(self, raw: int) -> np.ndarray:
        if not self.use_labels:
            return np.zeros(0, dtype=np.float32)
        return toyfaces.labels([raw])[0]

    @property
    def label_dim(self) -> int:
        return toyfaces.LABEL_DIM if self.use_labels else 0

    @property
    def has_onehot_labels(self) -> bool:
        return False

    def _raw_label_names(self) -> list[str]:
        return list(toyfaces.LABEL_NAMES)

    def _mirror_label(self, label: np.ndarray) -> np.ndarray:
        return toyfaces.mirror_label(label) if label.size else label

    def factors(self, idx: int) -> dict:
        """The toyfaces factors of item ``idx`` (yaw and roll flipped for mirrored items)."""
        raw, flipped = self._locate(idx)
        face = toyfaces.factors(raw)
        if flipped:
            face = dict(face, yaw=-face["yaw"], roll=-face["roll"])
        return face


def open_dataset(
    source: str,
    resolution: int | None = None,
    use_labels: bool = False,
    mirror: bool = False,
    max_size: int | None = None,
    grayscale: bool = False,
    size: int | None = None,
    on_error: str = "raise",
) -> ImageDataset:
    """Open a folder, a .zip or ``"toyfaces"`` as an ``ImageDataset`` (options in the module docstring)."""
    if str(source) == TOYFACES:
        if resolution is None:
            raise UserError("toyfaces needs a resolution (a power of two from 16 to 1024)")
        return ToyFacesDataset(
            resolution,
            size=TOYFACES_SIZE if size is None else size,
            use_labels=use_labels,
            mirror=mirror,
            max_size=max_size,
            grayscale=grayscale,
        )
    if size is not None:
        raise UserError("size applies to toyfaces only; use max_size to limit an image dataset")
    return FileDataset(
        str(source),
        resolution=resolution,
        use_labels=use_labels,
        mirror=mirror,
        max_size=max_size,
        grayscale=grayscale,
        on_error=on_error,
    )
