"""Run directories, snapshots and exact resume.

A run directory ``<outdir>/00000-<cfg>-<data>-gpus1-batch32-gamma10`` holds:

- ``training_options.json``: the complete options of the run;
- ``network-snapshot-<kimg>.safetensors``: the EMA generator, a native checkpoint every tool opens;
- ``training-state-<kimg>.pt``: everything needed to continue exactly (G, D, G_ema, optimisers,
  counters, ADA state, path-length mean, progressive-growing state, the RNG states of every process
  and source, the data position), plain tensors and containers loadable with
  ``torch.load(weights_only=True)``;
- ``stats.jsonl``, TensorBoard event files, ``log.txt``, ``reals.png`` and ``fakes<kimg>.png``;
- ``.lock``: locked by the process training the run, so that a second one is refused.

Snapshot names carry the images seen in thousands: ``000120`` is 120 kimg, ``000000.016`` is 16 images.
Every file is written to a temporary file, fsynced and renamed, so a crash at any moment leaves the
previous snapshot whole; a resume removes the temporary files a killed process left behind.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch

from stylegan.errors import CheckpointError, UserError, WriteError
from stylegan.utils.files import atomic_write, make_folder, remove_stale_temporaries

STATE_FORMAT = "stylegan-training-state"
STATE_VERSION = 1
STATE_PREFIX = "training-state-"
NETWORK_PREFIX = "network-snapshot-"
OPTIONS_FILE = "training_options.json"
LOCK_FILE = ".lock"
# What a run directory holds before its first training step.
START_FILES = frozenset({OPTIONS_FILE, LOCK_FILE, "log.txt", "reals.png", "fakes_init.png"})
_RUN_ID = re.compile(r"^(\d+)-")
_SNAPSHOT = re.compile(r"^(?:training-state-|network-snapshot-)(\d+)(?:\.(\d{3}))?\.(?:pt|safetensors)$")


# ------------------------------------------------------------------------------------------------
# Names


def snapshot_tag(nimg: int) -> str:
    """'000120' for 120 kimg; '000000.016' for 16 images."""
    tag = f"{nimg // 1000:06d}"
    return tag + (f".{nimg % 1000:03d}" if nimg % 1000 else "")


def tag_nimg(name: str) -> int | None:
    """Images seen, from a snapshot file name; None if it is not one."""
    m = _SNAPSHOT.match(name)
    if m is None:
        return None
    return int(m.group(1)) * 1000 + int(m.group(2) or 0)


def state_path(run_dir: Path, nimg: int) -> Path:
    return Path(run_dir) / f"{STATE_PREFIX}{snapshot_tag(nimg)}.pt"


def network_path(run_dir: Path, nimg: int) -> Path:
    return Path(run_dir) / f"{NETWORK_PREFIX}{snapshot_tag(nimg)}.safetensors"


def training_states(run_dir: str | Path) -> list[Path]:
    """The training-state files of a run, oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [(tag_nimg(p.name), p) for p in run_dir.iterdir() if p.name.startswith(STATE_PREFIX)]
    return [p for n, p in sorted((n, p) for n, p in found if n is not None)]


def new_run_dir(outdir: str | Path, description: str) -> Path:
    """``<outdir>/<next number:05d>-<description>``, created. Trainings starting together into one
    ``outdir`` get different numbers (the choice is made under a lock on ``outdir`` where the system
    has one, and a number taken meanwhile is skipped)."""
    outdir = make_folder(outdir)
    with _locked(outdir):
        ids = [int(m.group(1)) for p in outdir.iterdir() if p.is_dir() and (m := _RUN_ID.match(p.name))]
        number = max(ids, default=-1) + 1
        while True:
            run_dir = outdir / f"{number:05d}-{description}"
            try:
                run_dir.mkdir()
                return run_dir
            except FileExistsError:
                number += 1


@contextlib.contextmanager
def _locked(folder: Path):
    """Hold an exclusive lock on ``folder`` itself (best effort: not every system locks folders)."""
    try:
        import fcntl

        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def run_lock(run_dir: str | Path):
    """Hold ``<run_dir>/.lock`` for the life of a training, so that a second training of the same run
    (two ``--resume latest``) is refused instead of interleaving with the first. The lock goes with
    the process, also when it is killed; the file stays (it is empty)."""
    path = Path(run_dir) / LOCK_FILE
    try:
        import fcntl
    except ImportError:  # no advisory locks on this system (Windows): train unguarded
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise WriteError(e.errno, e.strerror, str(path)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"{run_dir} is being trained by another process (it holds {path}); wait for it to end or stop it first"
            ) from None
        except OSError:  # a file system without locks (some network mounts): train unguarded
            pass
        yield
    finally:
        os.close(fd)


def remove_unstarted_run(run_dir: str | Path) -> bool:
    """After a failed start: delete a new run directory that holds only what starting wrote (options,
    log, sample grids before the first step, the lock, TensorBoard's empty event file); a run that
    trained (stats.jsonl, snapshots) is kept. True if it was removed."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return False
    remove_stale_temporaries(run_dir)
    if not all(p.name in START_FILES or p.name.startswith("events.out.tfevents.") for p in run_dir.iterdir()):
        return False
    shutil.rmtree(run_dir, ignore_errors=True)
    return not run_dir.exists()


def find_resume_state(resume: str, outdir: str | Path) -> Path:
    """The training state to continue from: ``latest`` (the newest run in ``outdir`` that has one),
    a run directory (its newest state) or a training-state file."""
    if resume == "latest":
        outdir = Path(outdir)
        runs = []
        if outdir.is_dir():
            runs = sorted((int(m.group(1)), p) for p in outdir.iterdir() if p.is_dir() and (m := _RUN_ID.match(p.name)))
        for _, run in reversed(runs):
            states = training_states(run)
            if states:
                return states[-1]
        raise UserError(f"--resume latest: no run in {outdir} has a training state to continue from")
    path = Path(resume)
    if path.is_dir():
        states = training_states(path)
        if not states:
            raise UserError(f"--resume {path}: this run directory has no training state (no {STATE_PREFIX}*.pt)")
        return states[-1]
    if not path.exists():
        raise UserError(f"--resume: {path} does not exist")
    return path


# ------------------------------------------------------------------------------------------------
# RNG states as plain tensors (so that the state file loads with weights_only=True)


def capture_rng(device: torch.device | None = None) -> dict:
    """The states of torch (CPU and the current CUDA device), numpy's and Python's global generators."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {
            "version": int(version),
            "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict, device: torch.device | None = None) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(x) for x in p["internal"].tolist()), p["gauss_next"]))
    if device is not None and device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


class preserved_rng:
    """Context manager: work inside it (sample grids, metrics) leaves the global RNGs as they were."""

    def __init__(self, device: torch.device | None = None):
        self.device = device

    def __enter__(self):
        self.state = capture_rng(self.device)
        return self

    def __exit__(self, *exc):
        restore_rng(self.state, self.device)
        return False


# ------------------------------------------------------------------------------------------------
# Training state files


def save_state(path: str | Path, state: dict) -> Path:
    """Write a training state atomically (temporary file, fsync, rename)."""
    state = {"format": STATE_FORMAT, "version": STATE_VERSION, **state}

    def write(tmp):
        with open(tmp, "wb") as f:  # through a Python file, so that a full disk surfaces as its OSError
            torch.save(state, f)

    atomic_write(path, write)
    return Path(path)


def load_state(path: str | Path) -> dict:
    """Read a training state with ``torch.load(weights_only=True)``; bad files end in a CheckpointError."""
    from stylegan.io.unpickle import load_torch_file

    path = Path(path)
    state = load_torch_file(path, "training state")
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path} is not a stylegan training state")
    if state.get("version") != STATE_VERSION:
        raise CheckpointError(f"{path}: unsupported training-state version {state.get('version')!r}")
    return state


def prune_states(run_dir: str | Path, keep: int) -> None:
    """Delete all but the newest ``keep`` training states (network snapshots are kept)."""
    states = training_states(run_dir)
    for old in states[: max(len(states) - keep, 0)]:
        old.unlink(missing_ok=True)
