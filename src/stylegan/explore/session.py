"""The explorer's state: the open network, where it may open files from, imported ws, and
latest-wins rendering. No web code here; ``app.py`` maps requests onto ``Explorer`` methods.

Paths typed into the page are resolved by ``Explorer.resolve``: a shipped network's name, or a path
(relative paths from the first root) with no ``..`` component whose real location (symbolic links
followed) lies inside one of the roots (``stylegan explore --root``, default the current folder),
or a file the user named on the command line. A folder stands for its newest
``network-snapshot-*`` (a training run directory).
"""

from __future__ import annotations

import io
import re
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from stylegan.errors import CheckpointError, StyleganWarning, UserError
from stylegan.explore.render import (
    Rendered,
    Settings,
    SynthesisCache,
    is_stylegan3,
    layer_table,
    network_kind,
    render,
    settings_ws,
    style_presets,
)

T = TypeVar("T")
RECENT_LIMIT = 12
MAX_UPLOAD_BYTES = 64 * 2**20
MAX_VIDEO_FRAMES = 600
VIDEO_KINDS = ("latent", "translate", "rotate")
DIRECTION_METHODS = ("sefa", "ganspace")
NETWORK_SUFFIXES = (".safetensors", ".pkl", ".pt")
_OUTPUT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_PKL_SNAPSHOT = re.compile(r"^network-snapshot-(\d+)\.pkl$")


class Superseded(Exception):
    """A newer request of the same client arrived before this one started: it is not computed."""


class LatestWins:
    """Runs one job at a time; a job that is still waiting when a newer one of the same key arrives
    is dropped (``Superseded``), so that moving a slider never builds a queue: after the job that is
    running, only the newest waiting one runs."""

    def __init__(self, work_lock: threading.Lock):
        self._work = work_lock
        self._guard = threading.Lock()
        self._latest: dict[str, int] = {}
        self._count = 0

    def run(self, key: str, job: Callable[[], T]) -> T:
        with self._guard:
            self._count += 1
            ticket = self._latest[key] = self._count
        with self._work:
            with self._guard:
                if self._latest.get(key) != ticket:
                    raise Superseded
            return job()


def latest_snapshot(folder: Path) -> Path:
    """The newest ``network-snapshot-*`` file (native or official pickle) of a run directory."""
    from stylegan.training.snapshot import tag_nimg

    found = []
    for p in folder.iterdir():
        nimg = tag_nimg(p.name) if p.name.startswith("network-snapshot-") else None
        if nimg is None and (m := _PKL_SNAPSHOT.match(p.name)):
            nimg = int(m.group(1)) * 1000
        if nimg is not None and p.is_file():
            found.append((nimg, p.name, p))
    if not found:
        raise UserError(
            f"{folder} is a folder without network-snapshot-* files; give a network file or a training run directory"
        )
    return max(found)[2]


class Explorer:
    """The open network and everything the page can ask of it."""

    def __init__(
        self,
        roots: list[str | Path] | None = None,
        outdir: str | Path = "out/explore",
        device: str | torch.device = "cpu",
        allowed_files: list[str | Path] = (),
    ):
        self.roots = [Path(r).expanduser().resolve() for r in (roots or [Path.cwd()])]
        self.outdir = Path(outdir).expanduser().resolve()
        self.device = torch.device(device)
        self.allowed_files = {Path(f).expanduser().resolve() for f in allowed_files}
        self.G = None
        self.network: dict | None = None
        self.recent: list[str] = []
        self.imported: dict[str, torch.Tensor] = {}
        self.directions: dict = {}  # id -> stylegan.editing.directions.Direction
        self.cache = SynthesisCache()  # the page's last synthesis, for changes of the view alone
        self.work_lock = threading.Lock()
        self.latest = LatestWins(self.work_lock)
        self.projection: dict = {"state": "idle"}
        self._projection_thread: threading.Thread | None = None

    # ---------------------------------------------------------------- opening networks

    def resolve(self, text: str) -> Path:
        """The network file ``text`` stands for, or a ``UserError`` saying why it may not be opened."""
        from stylegan.io.zoo import SUFFIX, missing_network_message, shipped_networks

        text = (text or "").strip()
        if not text:
            raise UserError("give a network: a file, a training run directory or a shipped network's name")
        if "\x00" in text:
            raise UserError("a path may not contain a NUL character")
        name = text[: -len(SUFFIX)] if text.endswith(SUFFIX) else text
        shipped = shipped_networks()
        if "/" not in text and "\\" not in text and name in shipped:
            return shipped[name]
        path = Path(text).expanduser()
        if ".." in path.parts:
            raise UserError(f"paths may not contain '..': {text}")
        if not path.is_absolute():
            path = self.roots[0] / path
        real = path.resolve()
        if real not in self.allowed_files and not self._inside_roots(real):
            roots = ", ".join(str(r) for r in self.roots)
            raise UserError(
                f"{text} lies outside the folders this explorer may open ({roots}); "
                "start `stylegan explore` with --root to allow another folder"
            )
        if not real.exists():
            raise UserError(missing_network_message(text))
        if real.is_dir():
            folder, real = real, latest_snapshot(real).resolve()
            if not self._inside_roots(real) and folder not in self.allowed_files:
                raise UserError(f"the newest snapshot of {text} links outside the folders this explorer may open")
        return real

    def browse(self, max_depth: int = 3, limit: int = 300) -> tuple[list[str], bool]:
        """Network files (``.safetensors``, ``.pkl``, ``.pt`` other than training states) and training
        run directories under the roots, as the page may type them (relative to the first root where
        they lie inside it), up to ``max_depth`` folders deep; hidden and environment folders skipped.
        Returns (paths, whether the list was cut at ``limit``)."""
        import os

        found: list[str] = []
        skip = {"__pycache__", "node_modules", "site-packages"}

        def shown(path: Path) -> str:
            return str(path.relative_to(self.roots[0])) if path.is_relative_to(self.roots[0]) else str(path)

        for root in self.roots:
            for folder, dirs, files in os.walk(root):
                here = Path(folder)
                depth = len(here.relative_to(root).parts)
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in skip and depth < max_depth)
                if any(f.startswith("network-snapshot-") for f in files) and here != root:
                    found.append(shown(here))
                found += [
                    shown(here / f)
                    for f in sorted(files)
                    if f.endswith(NETWORK_SUFFIXES)
                    and not f.startswith(("training-state-", "."))
                    and self._inside_roots((here / f).resolve())
                ]  # not links out of the roots
                if len(found) >= limit:
                    return found[:limit], True
        return found, False

    def _inside_roots(self, real: Path) -> bool:
        return any(real.is_relative_to(root) for root in self.roots)

    def open(self, text: str) -> dict:
        """Load the network ``text`` names (see ``resolve``) and make it the current one."""
        from stylegan.io import load_network

        path = self.resolve(text)
        try:
            with warnings.catch_warnings(record=True) as caught:  # NaN weights: said in the page
                warnings.simplefilter("always", StyleganWarning)
                G = load_network(path, which="G", device=self.device)
        except UserError:
            raise
        except Exception as e:  # an importer meeting a damaged or unexpected file
            raise CheckpointError(f"{text}: could not read a network from it ({e.__class__.__name__}: {e})") from None
        G = G.eval().requires_grad_(False)
        with self.work_lock:
            info = self._describe(G, text, path)
            info["warning"] = (
                "; ".join(str(w.message) for w in caught if issubclass(w.category, StyleganWarning)) or None
            )
            self.G, self.network = G, info
            self.imported.clear()
            self.directions.clear()
            self.cache = SynthesisCache()
        self.recent = [text] + [r for r in self.recent if r != text][: RECENT_LIMIT - 1]
        return info

    def _describe(self, G, text: str, path: Path) -> dict:
        from stylegan.tools.project import noise_buffers

        return {
            "name": text,
            "path": str(path),
            "kind": network_kind(G),
            "resolution": G.img_resolution,
            "channels": G.img_channels,
            "z_dim": G.z_dim,
            "w_dim": G.w_dim,
            "c_dim": G.c_dim,
            "num_ws": G.num_ws,
            "stylegan3": is_stylegan3(G),
            "noise": bool(noise_buffers(G.synthesis)),
            "presets": style_presets(G),
            "layers": layer_table(G),
            "parameters": sum(p.numel() for p in G.parameters()),
        }

    def require(self):
        if self.G is None:
            raise UserError("no network is open; open one first")
        return self.G

    # ---------------------------------------------------------------- rendering

    def render(self, settings: Settings, client: str = "default") -> Rendered:
        """Render ``settings``; ``Superseded`` when a newer request of ``client`` came in meanwhile."""
        return self.latest.run(
            client, lambda: render(self.require(), settings, self.imported, self.directions, self.cache)
        )

    def render_now(self, settings: Settings) -> Rendered:
        """Render ``settings`` (waiting for the running job; never superseded)."""
        with self.work_lock:
            return render(self.require(), settings, self.imported, self.directions)

    def run_locked(self, job: Callable[[], T]) -> T:
        with self.work_lock:
            return job()

    # ---------------------------------------------------------------- ws in and out

    def export_w(self, settings: Settings) -> bytes:
        """The ws of ``settings`` as an ``.npz`` in the projector's w+ format: key ``w``, [num_ws, w_dim]."""
        G = self.require()
        settings.check(G)
        with self.work_lock:
            ws = settings_ws(G, settings, self.imported, self.device, self.directions)
        buffer = io.BytesIO()
        np.savez(buffer, w=ws[0].cpu().numpy().astype(np.float32))
        return buffer.getvalue()

    def import_w(self, data: bytes, filename: str = "w.npz") -> list[str]:
        """Read an ``.npz`` with key ``w`` (as ``stylegan project`` writes it; see ``load_projected_ws``);
        returns one id per w it holds, for ``Settings.w_id``."""
        from stylegan.tools.generate import load_projected_ws

        G = self.require()
        if len(data) > MAX_UPLOAD_BYTES:
            raise UserError(f"{filename} is larger than {MAX_UPLOAD_BYTES // 2**20} MiB")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "w.npz"
            path.write_bytes(data)
            try:
                ws = load_projected_ws(path, G.num_ws, G.w_dim)
            except UserError as e:
                raise UserError(str(e).replace(str(path), Path(filename).name)) from None
        ids = []
        for w in ws:
            key = uuid.uuid4().hex[:12]
            self.imported[key] = w.clone()
            ids.append(key)
        return ids

    # ---------------------------------------------------------------- editing directions

    def _add_direction(self, direction) -> dict:
        G = self.require()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StyleganWarning)
            direction.check_network(G)
        key = uuid.uuid4().hex[:12]
        self.directions[key] = direction
        notes = [str(w.message) for w in caught if issubclass(w.category, StyleganWarning)]
        return {
            "id": key,
            "method": direction.method,
            "space": direction.space,
            "names": direction.names,
            "layers": direction.layers,
            "warning": "; ".join(notes) or None,
        }

    def load_direction(self, data: bytes, filename: str = "direction.safetensors") -> dict:
        """Read an uploaded direction file (``stylegan directions``); its id for ``Settings.direction_id``."""
        from stylegan.editing.directions import load_direction

        self.require()
        if len(data) > MAX_UPLOAD_BYTES:
            raise UserError(f"{filename} is larger than {MAX_UPLOAD_BYTES // 2**20} MiB")
        name = Path(filename or "direction.safetensors").name
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "direction.safetensors"
            path.write_bytes(data)
            try:
                direction = load_direction(path)
            except UserError as e:
                raise UserError(str(e).replace(str(path), name)) from None
        return self._add_direction(direction)

    def compute_directions(self, method: str = "sefa", components: int = 10, samples: int = 10_000) -> dict:
        """Directions found on the spot: ``sefa`` (from the weights) or ``ganspace`` (PCA of ``samples``
        mapped latents), as ``stylegan directions`` finds them."""
        from stylegan.editing.directions import find_ganspace, sefa

        G = self.require()
        if method not in DIRECTION_METHODS:
            raise UserError(f"directions computed here: {', '.join(DIRECTION_METHODS)}; got {method!r}")
        if not 1 <= components <= 64:
            raise UserError(f"components must be in [1, 64], got {components}")
        with self.work_lock:
            if method == "sefa":
                direction = sefa(G, num_components=components)
            else:
                direction = find_ganspace(G, samples=samples, components=components, class_idx=0 if G.c_dim else None)
        return self._add_direction(direction)

    # ---------------------------------------------------------------- projection

    def start_projection(
        self,
        data: bytes,
        filename: str = "target.png",
        steps: int = 200,
        distance: str = "mse",
        w_plus: bool = False,
        w_avg_samples: int = 10_000,
        class_idx: int | None = None,
    ) -> dict:
        """Project an uploaded image (``stylegan.tools.project``) in a background thread; its progress
        and, when done, the id of the projected w (for ``Settings.w_id``) are in ``self.projection``.
        The target and the distance are checked here, before anything starts."""
        from stylegan.tools.generate import labels_for
        from stylegan.tools.project import DISTANCES, load_target, resolve_distance

        G = self.require()
        if self._projection_thread is not None and self._projection_thread.is_alive():
            raise UserError("a projection is running; wait for it to finish")
        if not 1 <= steps <= 10_000:
            raise UserError(f"steps must be in [1, 10000], got {steps}")
        if distance not in DISTANCES:
            raise UserError(f"distance must be one of {', '.join(DISTANCES)}, got {distance!r}")
        if len(data) > MAX_UPLOAD_BYTES:
            raise UserError(f"{filename} is larger than {MAX_UPLOAD_BYTES // 2**20} MiB")
        name = Path(filename or "target").name
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / (name or "target")
            path.write_bytes(data)
            try:
                target = load_target(path, G.img_resolution, G.img_channels)
            except UserError as e:
                raise UserError(str(e).replace(str(path), name)) from None
        labels_for(G, class_idx, 1, self.device)  # a missing or stray class fails here
        dist = resolve_distance(distance, self.device)
        status = self.projection = {
            "state": "running",
            "step": 0,
            "num_steps": steps,
            "distance": None,
            "target": name,
            "w_id": None,
            "error": None,
            "seconds": None,
        }

        def progress(step, num_steps, dist_value, loss):
            status.update(step=step, distance=float(dist_value))

        def run():
            from stylegan.tools.project import project

            try:
                result = project(
                    G,
                    target,
                    distance=dist,
                    num_steps=steps,
                    w_plus=w_plus,
                    w_avg_samples=w_avg_samples,
                    class_idx=class_idx,
                    device=self.device,
                    progress=progress,
                )
                if self.G is not G:
                    raise UserError("another network was opened during the projection; its w is dropped")
                key = uuid.uuid4().hex[:12]
                self.imported[key] = result.ws()[0].detach().cpu().clone()
                status.update(state="done", w_id=key, seconds=round(result.seconds, 2))
            except UserError as e:
                status.update(state="error", error=str(e))
            except Exception as e:  # noqa: BLE001  (reported in the page, the server goes on)
                status.update(state="error", error=f"projection failed ({e.__class__.__name__}: {e})")

        self._projection_thread = threading.Thread(target=run, name="projection", daemon=True)
        self._projection_thread.start()
        return dict(status)

    # ---------------------------------------------------------------- captures

    def output_path(self, name: str) -> Path:
        """A file directly inside the output folder (names only: no folders, no hidden files)."""
        if not _OUTPUT_NAME.match(name or ""):
            raise UserError(f"not a file name the explorer writes: {name!r}")
        return self.outdir / name

    def next_output(self, stem: str, suffix: str) -> Path:
        k = 0
        while (path := self.outdir / f"{stem}-{k:04d}{suffix}").exists() or path.with_suffix(".gif").exists():
            k += 1
        return path

    def save_image(self, settings: Settings) -> Path:
        """Render ``settings`` (as the page shows it) and save the picture as a PNG in the output folder."""
        from stylegan.utils.images import save_png

        rendered = self.render_now(settings)
        stem = "explore" if settings.w_id else f"seed{latent_name(settings)}"
        return save_png(rendered.picture, self.next_output(stem, ".png"))

    def record_video(
        self, settings: Settings, kind: str = "latent", frames: int = 60, fps: float = 30, speed: float = 0.25
    ) -> Path:
        """An animation of the current view as a video (``write_video``: MP4, or GIF where ffmpeg is
        missing): ``latent`` moves x by ``speed`` seeds a second, ``translate`` moves the StyleGAN3 image
        by ``speed`` image widths a second, ``rotate`` turns it by ``speed`` * 360 degrees a second."""
        import dataclasses

        from stylegan.tools.media import write_video

        G = self.require()
        if kind not in VIDEO_KINDS:
            raise UserError(f"animation must be one of {', '.join(VIDEO_KINDS)}, got {kind!r}")
        if not 1 <= frames <= MAX_VIDEO_FRAMES:
            raise UserError(f"frames must be in [1, {MAX_VIDEO_FRAMES}], got {frames}")
        if not 1 <= fps <= 120:
            raise UserError(f"fps must be in [1, 120], got {fps:g}")
        if kind != "latent" and not is_stylegan3(G):
            raise UserError(f"the {kind} animation needs a StyleGAN3 network; this one is a {network_kind(G)}")
        settings.check(G)

        def frame_settings(i: int) -> Settings:
            t = i / fps * speed
            change = {
                "latent": {"x": settings.x + t},
                "translate": {"translate_x": settings.translate_x + t},
                "rotate": {"rotate": settings.rotate + 360 * t},
            }[kind]
            return dataclasses.replace(settings, **change)

        def pictures():
            for i in range(frames):
                yield render(G, frame_settings(i), self.imported, self.directions).picture

        with self.work_lock:
            return write_video(pictures(), self.next_output(f"video-{kind}", ".mp4"), fps=fps, notice=None)


def latent_name(settings: Settings) -> str:
    x, y = settings.x, settings.y
    if float(x).is_integer() and float(y).is_integer():
        return f"{int(x) + int(y) * settings.step_y:04d}"
    return f"{x:g}_{y:g}".replace("-", "m")
