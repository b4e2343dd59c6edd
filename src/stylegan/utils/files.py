"""Writing output files safely: whole or not at all, with the user's permissions, never over an input.

- ``atomic_write(path, write)``: every file the library writes goes through it. ``write(tmp)`` fills
  a temporary file beside ``path`` (``.<name>.<random>.tmp``), which is fsynced, given the permissions
  a new file gets under the user's umask, and renamed onto ``path``. A crash, an interrupt or a full
  disk leaves either the old file or the new one under ``path``, never a part of one; a failed write
  removes its temporary file and raises ``WriteError`` (an ``OSError``) naming ``path`` and the reason.
  ``atomic_write_folder`` does the same for a folder written as a whole (a dataset),
  ``atomic_append_text`` for lines appended to a small file (metric results).
- ``check_output_file(path, force)``: the overwrite rule for a file named as an output.
- ``refuse_overwriting_inputs(inputs, outputs)``: the one check, made by every command before it
  starts, that none of its outputs is one of its inputs (or lies inside an input folder).
- ``describe_os_error(e)``: the one line the CLI prints for an ``OSError``.
- ``remove_stale_temporaries(folder)``: removes what ``atomic_write`` leaves behind when its
  process is killed (``kill -9``, power loss) in the middle of a write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from stylegan.errors import UserError, WriteError

TEMP_SUFFIX = ".tmp"
# ``tempfile.mkstemp(prefix=".<name>.", suffix=".tmp")``: 8 random characters from [a-z0-9_].
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
# safetensors (Rust) reports I/O errors only in its message: "... No space left on device (os error 28)".
_OS_ERROR_IN_MESSAGE = re.compile(r"\(os error (\d+)\)")

PathLike = str | os.PathLike


def atomic_write(path: PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file, then rename it onto ``path`` (folders are created).

    The file gets the permissions of a newly created file (``0o666`` less the umask), not the
    private ``0o600`` of the temporary file. Errors of the file system (permission, read-only,
    full disk, ...) raise ``WriteError`` naming ``path``, also where the writing library hides the
    ``OSError`` in its own exception (``torch.save`` to a file object, safetensors); nothing is left
    under ``path`` or the temporary name.
    """
    path = Path(path)
    make_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as e:
        raise WriteError(e.errno, e.strerror, str(path)) from None
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except Exception as e:
        cause = _os_error_of(e, tmp)
        if cause is None:
            raise
        raise WriteError(cause.errno, cause.strerror, str(path)) from e
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_folder(path.parent)
    return path


def atomic_write_folder(path: PathLike, fill: Callable[[Path], None]) -> Path:
    """``atomic_write`` for a folder: ``fill(tmp)`` fills a temporary folder beside ``path``, which
    gets the permissions of a new folder and is renamed onto ``path``. ``path`` must not exist or be
    an empty folder (it is never merged into or deleted with content). Errors as ``atomic_write``."""
    path = Path(path)
    make_folder(path.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent))
    except OSError as e:
        raise WriteError(e.errno, e.strerror, str(path)) from None
    try:
        fill(tmp)
        os.chmod(tmp, 0o777 & ~current_umask())
        if path.is_dir() and not path.is_symlink():
            path.rmdir()  # empty, or this raises: nothing is lost
        os.replace(tmp, path)
    except Exception as e:
        cause = _os_error_of(e, str(tmp))
        if cause is None:
            raise
        raise WriteError(cause.errno, cause.strerror, str(path)) from e
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _fsync_folder(path.parent)
    return path


def atomic_append_text(path: PathLike, text: str) -> Path:
    """Append ``text`` to a (small) text file atomically: the old content and ``text`` go to a new file
    that replaces the old one, so a failure leaves the file as it was."""
    path = Path(path)
    try:
        old = path.read_bytes()
    except FileNotFoundError:
        old = b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(old + text.encode("utf-8")))


def append_line(path: PathLike, line: str, fsync: bool = False) -> None:
    """Append one line to a log (``stats.jsonl``): not atomic (a reader skips a cut last line), but a
    failure is a ``WriteError`` naming the file."""
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            if fsync:
                os.fsync(f.fileno())
    except OSError as e:
        raise WriteError(e.errno, e.strerror, str(path)) from None


def make_folder(folder: PathLike) -> Path:
    """``mkdir -p folder``; a ``WriteError`` naming the folder when it cannot be made."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file (or a link to one) is in the way
        raise WriteError(errno.ENOTDIR, "it exists and is not a folder", str(folder)) from None
    except OSError as e:
        raise WriteError(e.errno, e.strerror, e.filename or str(folder)) from None
    return folder


def check_writable_folder(folder: PathLike) -> Path:
    """Make ``folder`` and try a file in it, so that a command that computes for long before it writes
    fails at once on an unwritable output (a full disk is found only when writing)."""
    folder = make_folder(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".write-test.", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as e:
        raise WriteError(e.errno, e.strerror, str(folder)) from None
    os.close(fd)
    os.unlink(tmp)
    return folder


def current_umask() -> int:
    """The process's umask (read without changing it where /proc allows)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def describe_os_error(e: OSError) -> str:
    """One line naming the path(s) and the reason: 'cannot write out/grid.png: No space left on device'."""
    if isinstance(e, WriteError):
        return str(e)
    if e.filename is None:
        return e.strerror or f"{type(e).__name__}: {e}"
    names = f"{e.filename} -> {e.filename2}" if e.filename2 is not None else str(e.filename)
    return f"{names}: {e.strerror or type(e).__name__}"


def _os_error_of(error: BaseException, tmp: str) -> OSError | None:
    """The file-system error behind ``error`` when it concerns the file being written, else None."""
    if isinstance(error, UserError):
        return None
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno is not None:
            if e.filename is None or _is_within(e.filename, tmp):
                return e
            return None  # about another file (an input): not a write error of this one
        m = _OS_ERROR_IN_MESSAGE.search(str(e))
        if m:
            code = int(m.group(1))
            return OSError(code, os.strerror(code))
        e = e.__cause__ or e.__context__
    return None


def _is_within(name: PathLike, tmp: str) -> bool:
    """``name`` is the temporary file or lies in the temporary folder."""
    name, tmp = os.path.abspath(name), os.path.abspath(tmp)
    return name == tmp or name.startswith(tmp + os.sep)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: PathLike) -> list[Path]:
    """Delete the temporary files ``atomic_write`` left in ``folder`` when a process was killed
    mid-write; return them. Call it only where no other process may be writing (under a lock)."""
    folder = Path(folder)
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in folder.iterdir():
            if _TEMP_NAME.match(entry.name) and entry.is_file() and not entry.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    removed.append(entry)
    return removed


# ------------------------------------------------------------------------------------------------
# Which outputs may be written


def check_output_file(path: PathLike, force: bool = False) -> Path:
    """The overwrite rule for a file the user names as an output (``--output``, ``--json``, DEST):
    it may not be a folder, and an existing file is replaced only with ``force`` (``--force``)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder; give a file name")
    if os.path.lexists(path) and not force:
        raise UserError(f"{path} exists; pass --force to replace it")
    return path


# ------------------------------------------------------------------------------------------------
# Outputs must not be inputs


def refuse_overwriting_inputs(inputs: Mapping[str, PathLike | None], outputs: Iterable[PathLike] | PathLike) -> None:
    """Raise ``UserError`` if writing any of ``outputs`` would replace one of ``inputs`` or write into
    an input folder (a dataset).

    ``inputs`` maps a name for the message (``"--network"``) to a path; missing ones and ``None``
    are ignored (they cannot be overwritten). ``outputs`` are the files (or folders) the command
    will create or replace; they may be many (one per seed) and are compared without touching them.
    Paths are compared after resolving links in their folders, so ``d/../d/x`` and a linked folder
    are recognised; an input given through a link is protected under both names.
    """
    files: dict[str, tuple[str, Path]] = {}
    folders: list[tuple[str, str, Path]] = []
    for label, given in inputs.items():
        if given is None or not os.path.lexists(given):
            continue
        for key in {_entry(given), os.path.realpath(given)}:
            files[key] = (label, Path(given))
        if os.path.isdir(given):
            folders.append((os.path.realpath(given).rstrip(os.sep) + os.sep, label, Path(given)))
    if not files:
        return
    if isinstance(outputs, (str, os.PathLike)):
        outputs = [outputs]
    parents: dict[str, tuple[str, dict[str, str]]] = {}  # folder as given -> (resolved, its links to inputs)
    for out in outputs:
        parent, name = os.path.split(os.fspath(out))
        if parent not in parents:
            resolved = os.path.realpath(parent or ".")
            parents[parent] = resolved, _links_to(resolved, files)
        resolved, links = parents[parent]
        key = links.get(name) or os.path.join(resolved, name)  # a link to an input would be read or replaced
        if key in files:
            label, given = files[key]
            raise UserError(
                f"{out} is the {label} input {given}: writing it would overwrite that input; choose another output"
            )
        for prefix, label, given in folders:
            if key.startswith(prefix):
                raise UserError(
                    f"{out} is inside the {label} folder {given}: the output would change that "
                    f"input; write it somewhere else"
                )


def _links_to(folder: str, files: Mapping[str, object]) -> dict[str, str]:
    """{name: target} of the links in ``folder`` that point at one of ``files`` (resolved paths)."""
    links = {}
    with contextlib.suppress(OSError):
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_symlink() and (target := os.path.realpath(entry.path)) in files:
                    links[entry.name] = target
    return links


def _entry(path: PathLike) -> str:
    """The resolved folder of ``path`` joined with its own name (a link itself is not followed)."""
    parent, name = os.path.split(os.path.abspath(path))
    return os.path.join(os.path.realpath(parent), name)
