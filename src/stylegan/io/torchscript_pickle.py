"""TorchScript networks from ``.pt`` archives, or from pickles that carry one, read inertly.

The official metric detectors come as TorchScript files (``inception-2015-12-05.pt``, ``vgg16.pt``)
or, from the StyleGAN3 tools, as pickles wrapping the same archive. A pickle can run arbitrary code
when loaded with ``pickle.load``, so it is read by an unpickler that resolves **no** global at all:
every class or function the pickle names becomes an inert record (``PickledCall``), and the
TorchScript archive (a zip of TorchScript code and tensors, stored as bytes) is found in the record
tree and loaded with ``torch.jit.load``, which runs TorchScript, never Python. A pickle that holds
no TorchScript archive is refused with a message pointing to the ``.pt`` file. (Network pickles
are read by ``stylegan.io.unpickle``, which allows the few globals their formats need.)
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import torch

from stylegan.errors import UserError


def load_torchscript(path: str | Path, device: str | torch.device = "cpu") -> torch.jit.ScriptModule:
    """Load a TorchScript network from a ``.pt`` archive or from a pickle that carries one."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data.startswith(b"PK\x03\x04"):  # a zip archive: what torch.jit.save writes
            return torch.jit.load(io.BytesIO(data), map_location=device).eval()
    except (RuntimeError, OSError) as e:
        raise UserError(f"{path} is not a readable TorchScript file ({e})") from None
    archive = torchscript_archive_from_pickle(data, source=str(path))
    try:
        return torch.jit.load(io.BytesIO(archive), map_location=device).eval()
    except RuntimeError as e:
        raise UserError(f"{path}: the TorchScript archive inside the pickle did not load ({e})") from None


class PickledCall:
    """What a pickle asked for, without doing it: ``module.name(*args)`` plus its state.

    The unpickler makes one subclass per global it meets (``module`` and ``name`` as class
    attributes), so both call forms of the pickle protocol (REDUCE: ``cls(*args)``, NEWOBJ:
    ``cls.__new__(cls, *args)``) only build a record.
    """

    module = "<none>"
    name = "<none>"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.args, obj.state, obj.items = args, None, None
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):  # BUILD: keep the state, run nothing
        self.state = state

    def append(self, item):
        self.items = (self.items or []) + [item]

    def extend(self, items):
        self.items = (self.items or []) + list(items)

    def __setitem__(self, key, value):
        self.items = (self.items or []) + [(key, value)]

    def __repr__(self):
        return f"<pickled {self.module}.{self.name}>"


class _InertUnpickler(pickle.Unpickler):
    """Resolves no globals and loads no persistent ids: nothing in the pickle can run."""

    def find_class(self, module, name):
        return type(f"Pickled_{name}", (PickledCall,), {"module": str(module), "name": str(name)})

    def persistent_load(self, pid):
        record = type("PickledPersistentId", (PickledCall,), {"module": "<persistent>", "name": "id"})
        return record(pid)


def torchscript_archive_from_pickle(data: bytes, source: str = "pickle") -> bytes:
    """The TorchScript zip archive stored (as bytes) somewhere inside a pickle, found without
    executing anything from the pickle."""
    try:
        tree = _InertUnpickler(io.BytesIO(data)).load()
    except Exception as e:  # any malformed pickle: report, never trust
        raise UserError(f"{source} is neither a TorchScript archive nor a readable pickle ({e})") from None
    for blob in _iter_bytes(tree):
        if _is_torchscript_archive(blob):
            return blob
    raise UserError(
        f"{source} holds no TorchScript network; download the TorchScript (.pt) form of the detector instead"
    )


def _iter_bytes(node, depth: int = 0):
    if depth > 64:
        return
    if isinstance(node, (bytes, bytearray)):
        yield bytes(node)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _iter_bytes(key, depth + 1)
            yield from _iter_bytes(value, depth + 1)
    elif isinstance(node, (list, tuple, set, frozenset)):
        for item in node:
            yield from _iter_bytes(item, depth + 1)
    elif isinstance(node, PickledCall):
        yield from _iter_bytes(node.args, depth + 1)
        yield from _iter_bytes(node.state, depth + 1)
        yield from _iter_bytes(node.items, depth + 1)


def _is_torchscript_archive(blob: bytes) -> bool:
    if not blob.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            names = z.namelist()
    except zipfile.BadZipFile:
        return False
    return any("/code/" in n or n.startswith("code/") for n in names) and any(n.endswith("data.pkl") for n in names)
