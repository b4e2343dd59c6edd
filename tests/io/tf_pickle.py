"""A minimal allow-list reader of official TensorFlow network pickles, for tests only.

It allows exactly the globals such files use (``dnnlib.tflib.network.Network`` and the numpy array
and scalar reconstructors, in both the numpy 1.x and 2.x spellings) and turns every network into a
small ``TFNetwork`` record. The library's own reader lives in ``stylegan.io``.
"""

from __future__ import annotations

import importlib
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class TFNetwork:
    name: str
    version: int
    static_kwargs: dict[str, Any]
    components: dict[str, TFNetwork]
    build_func_name: str
    variables: dict[str, np.ndarray] = field(default_factory=dict)


class _NetworkState:
    """Stands in for dnnlib.tflib.network.Network: keeps the state dict it is given."""

    def __setstate__(self, state):
        self.state = state


_NUMPY = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


def _multiarray():
    try:
        return importlib.import_module("numpy._core.multiarray")
    except ImportError:  # numpy 1.x
        return importlib.import_module("numpy.core.multiarray")


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("dnnlib.tflib.network", "Network"):
            return _NetworkState
        if (module, name) in _NUMPY:
            return getattr(_multiarray() if name in ("_reconstruct", "scalar") else np, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")


def _convert(obj: _NetworkState) -> TFNetwork:
    s = obj.state
    return TFNetwork(
        name=s["name"],
        version=int(s["version"]),
        static_kwargs=dict(s["static_kwargs"]),
        components={k: _convert(v) for k, v in s["components"].items()},
        build_func_name=s["build_func_name"],
        variables={name: np.asarray(value) for name, value in s["variables"]},
    )


def read_tf_pickle(path) -> tuple[TFNetwork, TFNetwork, TFNetwork]:
    """(G, D, Gs) of an official TensorFlow network pickle."""
    with open(path, "rb") as f:
        G, D, Gs = _Unpickler(f, encoding="latin1").load()
    return _convert(G), _convert(D), _convert(Gs)
