"""Hand-made hostile pickles for the loader tests. Each payload, if it ran, would create ``marker``."""

from __future__ import annotations

import pickle
import sys
import types
from contextlib import contextmanager
from pathlib import Path


def protocol0_call(module: str, name: str, arg: str) -> bytes:
    """``module.name(arg)`` written by hand with the GLOBAL opcode (protocol 0)."""
    return f"c{module}\n{name}\n(V{arg}\ntR.".encode()


def protocol4_call(module: str, name: str, arg: str) -> bytes:
    """``module.name(arg)`` with STACK_GLOBAL (what current picklers write)."""

    def short(s: str) -> bytes:
        b = s.encode()
        return b"\x8c" + bytes([len(b)]) + b + b"\x94"

    return b"\x80\x04" + short(module) + short(name) + b"\x93\x94" + short(arg) + b"\x85R\x94."


class Payload:
    """An object whose unpickling calls ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@contextmanager
def fake_official_modules():
    """Importable stand-ins for the official modules, so that the real pickler can write
    snapshot- and TensorFlow-shaped files that name the official globals."""
    names = ["torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util", "dnnlib.tflib", "dnnlib.tflib.network"]
    saved = {n: sys.modules.get(n) for n in names}
    mods = {n: types.ModuleType(n) for n in names}

    def _reconstruct_persistent_obj(meta):
        return meta

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    mods["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class Network:
        def __init__(self, state):
            self._state = state

        def __getstate__(self):
            return self._state

    Network.__module__ = "dnnlib.tflib.network"
    Network.__qualname__ = "Network"
    mods["dnnlib.tflib.network"].Network = Network
    sys.modules.update(mods)
    try:
        yield types.SimpleNamespace(reconstruct=_reconstruct_persistent_obj, Network=Network)
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


class PersistentRecord:
    """Pickles exactly like an official persistent object: REDUCE of _reconstruct_persistent_obj(meta)."""

    def __init__(self, fake, class_name: str, state: dict):
        self.fake, self.class_name, self.state = fake, class_name, state

    def __reduce__(self):
        meta = dict(type="class", version=6, module_src="", class_name=self.class_name, state=self.state)
        return self.fake.reconstruct, (meta,)


def snapshot_with(payload, tmp: Path) -> Path:
    """A snapshot-shaped pickle (dict of persistent networks holding tensors) with ``payload`` nested
    deep inside G's init kwargs, after valid tensors."""
    import torch

    with fake_official_modules() as fake:
        fc = PersistentRecord(
            fake,
            "FullyConnectedLayer",
            {
                "_parameters": {"weight": torch.nn.Parameter(torch.ones(2, 2)), "bias": torch.zeros(2)},
                "_buffers": {},
                "_modules": {},
                "_init_args": (2, 2),
                "_init_kwargs": {},
            },
        )
        G = PersistentRecord(
            fake,
            "Generator",
            {
                "_parameters": {},
                "_buffers": {},
                "_modules": {"fc": fc},
                "_init_args": (),
                "_init_kwargs": {"z_dim": 2, "mapping_kwargs": {"num_layers": 1, "extra": [payload]}},
            },
        )
        path = tmp / "network-snapshot-000000.pkl"
        path.write_bytes(pickle.dumps({"G": G, "D": None, "G_ema": G, "augment_pipe": None}, protocol=4))
    return path


def tf_pickle_with(payload, tmp: Path) -> Path:
    """A TensorFlow-shaped (G, D, Gs) pickle with ``payload`` among the static kwargs."""
    import numpy as np

    with fake_official_modules() as fake:

        def net(name, extra=None):
            state = dict(
                version=4,
                name=name,
                static_kwargs={"resolution": 4, **(extra or {})},
                components={},
                build_module_src="",
                build_func_name="G_main",
                variables=[("w", np.ones(2, np.float32))],
            )
            return fake.Network(state)

        path = tmp / "tf.pkl"
        path.write_bytes(pickle.dumps((net("G"), net("D", {"evil": payload}), net("Gs")), protocol=4))
    return path
