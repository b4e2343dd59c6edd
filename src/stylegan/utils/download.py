"""Files fetched once and kept: the cache directory, checksums, and verified atomic downloads.

The cache is ``cache_dir`` when given, else ``$STYLEGAN_CACHE``, else ``~/.cache/stylegan``. A
download streams into a temporary file beside its destination, is checked against a sha256 when
one is known, and is renamed into place, so a file in the cache is always complete. Offline, the
error says where to put the file by hand.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from stylegan.errors import UserError
from stylegan.utils.files import atomic_write

CACHE_ENV = "STYLEGAN_CACHE"


def default_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir`` if given, else ``$STYLEGAN_CACHE``, else ``~/.cache/stylegan``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "stylegan"


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str, dest: str | Path, sha256: str | None = None, timeout: float = 60.0, progress: bool = False
) -> Path:
    """Download ``url`` to ``dest``: stream into a temporary file beside it, check the sha256 (when
    given), then rename atomically, so ``dest`` is either absent or complete and verified.

    Failures raise ``UserError`` naming the url and where to put the file by hand.
    """
    dest = Path(dest)

    def fetch(tmp):
        digest = hashlib.sha256()
        try:
            with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0)
                bar = _progress_bar(total, dest.name) if progress else None
                while block := response.read(1 << 20):
                    out.write(block)
                    digest.update(block)
                    if bar is not None:
                        bar.update(len(block))
                if bar is not None:
                    bar.close()
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            raise UserError(
                f"could not download {url} ({reason}). If this machine is offline, fetch the file elsewhere and "
                f"put it at {dest}, or pass its path explicitly"
            ) from None
        got = digest.hexdigest()
        if sha256 is not None and got.lower() != sha256.lower():
            raise UserError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, got {got}; the file was not saved. "
                f"Put a verified copy at {dest}"
            )

    atomic_write(dest, fetch)
    return dest


def _progress_bar(total: int, name: str):
    from tqdm import tqdm

    return tqdm(total=total or None, unit="B", unit_scale=True, desc=f"downloading {name}", leave=False)
