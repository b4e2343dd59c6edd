"""Safe reading of the pickle files NVIDIA released networks in.

A pickle is a small program: it can import any global and call it. Official network pickles
need only a handful (tensor and array rebuilders, the official persistence placeholder, an
attribute dict, the TensorFlow ``Network`` class), so reading goes in two steps:

1. ``scan_globals`` walks the opcodes WITHOUT running any of them and lists every global the
   file refers to. A file that names anything outside its format's allow-list (``os.system``,
   ``builtins.eval``, ...) is refused right there, before a single opcode runs.
2. ``RestrictedUnpickler`` then loads it with ``find_class`` limited to the same list (a second
   gate), and every allowed global resolves to a harmless stand-in: official persistent objects
   become ``PersistentObject`` records (their embedded ``module_src`` is kept as text and never
   executed), TensorFlow networks become ``TFNetwork`` records, attribute dicts become dicts.

Formats (see ``../shared/reference/README.md``):
- official PyTorch snapshots (StyleGAN2-ADA-PyTorch, StyleGAN3 ``network-snapshot-*.pkl``):
  ``load_official_snapshot``;
- official TensorFlow pickles (StyleGAN, StyleGAN2, StyleGAN2-ADA; a tuple ``(G, D, Gs)``):
  ``load_tf_pickle``.
"""

from __future__ import annotations

import collections
import io
import pickle
import pickletools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stylegan.errors import CheckpointError

# --------------------------------------------------------------------------------------------
# Stand-ins for the globals official pickles use


@dataclass
class PersistentObject:
    """What ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` would rebuild: an
    instance of an official class. Kept as data: ``module_src`` (the class's source code) is
    never executed; ``state`` is the instance ``__dict__`` (``_parameters``, ``_buffers``,
    ``_modules``, ``_init_args``, ``_init_kwargs``, ...)."""

    type: str
    version: int
    class_name: str
    module_src: str
    state: dict


def _reconstruct_persistent_obj(meta):
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("state"), dict):
        raise CheckpointError("malformed official persistent object (expected a class record with a state dict)")
    return PersistentObject(
        type=meta["type"],
        version=meta.get("version"),
        class_name=str(meta.get("class_name")),
        module_src=meta.get("module_src") or "",
        state=meta["state"],
    )


class TFNetworkState:
    """Stand-in for ``dnnlib.tflib.network.Network``: ``__setstate__`` only stores the state dict
    (the official class would execute ``build_module_src`` and build a TensorFlow graph)."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise CheckpointError("malformed TensorFlow network record (its state is not a dict)")
        self.state = state


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """``torch._utils._rebuild_tensor_v2`` without hooks or metadata: a plain tensor view of a storage."""
    if not isinstance(storage, torch.storage.TypedStorage | torch.UntypedStorage):
        raise CheckpointError(f"malformed tensor record (storage is a {type(storage).__name__})")
    return torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, False, collections.OrderedDict())


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    """``torch._utils._rebuild_parameter`` (and ``_with_state``): the tensor itself, hooks dropped."""
    if not isinstance(data, torch.Tensor):
        raise CheckpointError(f"malformed parameter record ({type(data).__name__})")
    return data.detach()


def _load_storage_from_bytes(payload):
    """``torch.storage._load_from_bytes``: the payload is a small ``torch.save`` stream; torch reads it
    with its own safe (weights-only) unpickler."""
    if not isinstance(payload, bytes | bytearray):
        raise CheckpointError("malformed tensor storage record (payload is not bytes)")
    storage = torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
    if not isinstance(storage, torch.storage.TypedStorage | torch.UntypedStorage):
        raise CheckpointError("malformed tensor storage record (payload is not a storage)")
    return storage


def _numpy_multiarray():
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    return multiarray


def _numpy_globals() -> dict[str, Any]:
    multiarray = _numpy_multiarray()
    table = {"numpy.dtype": np.dtype, "numpy.ndarray": np.ndarray}
    # numpy 1.x writes numpy.core.multiarray.*, numpy 2.x numpy._core.multiarray.*.
    for prefix in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[f"{prefix}._reconstruct"] = multiarray._reconstruct
        table[f"{prefix}.scalar"] = multiarray.scalar
    return table


def _snapshot_globals() -> dict[str, Any]:
    return {
        "torch_utils.persistence._reconstruct_persistent_obj": _reconstruct_persistent_obj,
        "dnnlib.util.EasyDict": dict,
        "collections.OrderedDict": collections.OrderedDict,
        "builtins.set": set,  # protocol 3 (Python 3.7, the StyleGAN2-ADA releases) has no set opcode
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
        "torch.storage._load_from_bytes": _load_storage_from_bytes,
        **_numpy_globals(),
    }


def _tf_globals() -> dict[str, Any]:
    return {"dnnlib.tflib.network.Network": TFNetworkState, "dnnlib.util.EasyDict": dict, **_numpy_globals()}


# Format name -> allowed globals (dotted name -> the stand-in find_class returns).
ALLOWED_GLOBALS: dict[str, dict[str, Any]] = {"official-snapshot": _snapshot_globals(), "tensorflow": _tf_globals()}

# A global that identifies each format.
FORMAT_MARKERS = {
    "torch_utils.persistence._reconstruct_persistent_obj": "official-snapshot",
    "dnnlib.tflib.network.Network": "tensorflow",
}

# --------------------------------------------------------------------------------------------
# Static scan: which globals does a pickle refer to? Nothing is executed.

_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
_UNKNOWN = object()


def _refuse_global(path, name: str) -> CheckpointError:
    return CheckpointError(
        f"refusing to load {path}: it refers to the global {name!r}, which no file of its kind needs "
        "(a pickle can run code; nothing from it was executed)"
    )


def scan_globals(stream, path="file") -> list[str]:
    """Every global (``module.name``) the pickle in ``stream`` refers to, in order of first use.

    Walks the opcodes with ``pickletools.genops`` (which executes nothing). ``STACK_GLOBAL`` takes
    its module and name from the two values pushed just before it, which is how every pickler
    writes it; anything else (a computed name), extension codes and persistent ids are refused.
    """
    found: list[str] = []
    memo: dict[int, Any] = {}
    pushed: list[Any] = []  # values pushed since the last stack-consuming opcode
    try:
        for op, arg, _pos in pickletools.genops(stream):
            name = op.name
            if name in _STRING_OPS:
                pushed.append(arg if isinstance(arg, str) else arg.decode("latin-1") if isinstance(arg, bytes) else arg)
                continue
            if name in _GET_OPS:
                pushed.append(memo.get(arg, _UNKNOWN))
                continue
            if name == "MEMOIZE":
                memo[len(memo)] = pushed[-1] if pushed else _UNKNOWN
                continue
            if name in _PUT_OPS:
                memo[arg] = pushed[-1] if pushed else _UNKNOWN
                continue
            if name == "FRAME":
                continue
            if name in ("GLOBAL", "INST"):
                module, _, attr = arg.partition(" ")
                _add(found, f"{module}.{attr}")
            elif name == "STACK_GLOBAL":
                if len(pushed) < 2 or not all(isinstance(v, str) for v in pushed[-2:]):
                    raise CheckpointError(
                        f"refusing to load {path}: it builds a global reference from computed "
                        "values, which no network file does (nothing from it was executed)"
                    )
                _add(found, f"{pushed[-2]}.{pushed[-1]}")
            elif name in ("EXT1", "EXT2", "EXT4"):
                raise CheckpointError(
                    f"refusing to load {path}: it uses pickle extension codes, which no network "
                    "file does (nothing from it was executed)"
                )
            elif name in ("PERSID", "BINPERSID"):
                raise CheckpointError(
                    f"refusing to load {path}: it uses pickle persistent ids, which this format "
                    "does not (nothing from it was executed)"
                )
            pushed = []
    except CheckpointError:
        raise
    except Exception as e:  # pickletools raises ValueError on truncation, others on garbage
        raise CheckpointError(f"{path} is truncated or corrupt (cannot read it as a pickle: {e})") from None
    return found


def _add(found: list[str], name: str) -> None:
    if name not in found:
        found.append(name)


def detect_pickle_format(path: str | Path) -> str:
    """``'official-snapshot'`` or ``'tensorflow'`` for a pickle file, from the globals it names (nothing
    is executed). Files naming a global that no supported format allows are refused."""
    with open(path, "rb") as f:
        names = scan_globals(f, path)
    every_allowed = set().union(*ALLOWED_GLOBALS.values())
    for name in names:
        if name not in every_allowed:
            raise _refuse_global(path, name)
    formats = {FORMAT_MARKERS[n] for n in names if n in FORMAT_MARKERS}
    if len(formats) != 1:
        raise CheckpointError(
            f"{path} is a pickle but not an official StyleGAN network pickle (found globals: "
            f"{', '.join(names) or 'none'})"
        )
    fmt = formats.pop()
    for name in names:
        if name not in ALLOWED_GLOBALS[fmt]:
            raise _refuse_global(path, name)
    return fmt


class RestrictedUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` whose ``find_class`` only hands out the stand-ins of one format's
    allow-list and refuses everything else (naming it) before it can be called."""

    def __init__(self, file, allowed: dict[str, Any], path="file"):
        super().__init__(file)
        self.allowed = allowed
        self.path = path

    def find_class(self, module, name):
        dotted = f"{module}.{name}"
        if dotted not in self.allowed:
            raise _refuse_global(self.path, dotted)
        return self.allowed[dotted]

    def persistent_load(self, pid):
        raise CheckpointError(
            f"refusing to load {self.path}: it uses pickle persistent ids, which this format does not"
        )


def restricted_load(path: str | Path, fmt: str, scan: bool = True):
    """Scan (unless the caller just did), then load the pickle at ``path`` with the allow-list of ``fmt``."""
    if scan and detect_pickle_format(path) != fmt:
        raise CheckpointError(f"{path} is not a {fmt} pickle")
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f, ALLOWED_GLOBALS[fmt], path).load()
    except CheckpointError:
        raise
    except Exception as e:
        raise CheckpointError(f"{path} is truncated or corrupt ({type(e).__name__}: {e})") from None


def load_torch_file(path: str | Path, what: str, allowed_globals=()) -> Any:
    """``torch.load(weights_only=True)`` of a file that holds tensors and plain containers only (and
    ``allowed_globals``), its refusals in our words: a file that names another global is refused as
    a hostile pickle (none of it runs), a damaged one is called so. ``what`` names the file's kind."""
    try:
        with torch.serialization.safe_globals(list(allowed_globals)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{what} not found: {path}") from None
    except pickle.UnpicklingError as e:
        name = re.search(r"GLOBAL (\S+)", str(e))
        if name:
            raise _refuse_global(path, name.group(1)) from None
        reason = _without_torch_advice(str(e)) or type(e).__name__
    except Exception as e:  # noqa: BLE001  (a damaged file can fail in many ways)
        reason = f"{type(e).__name__}: {_without_torch_advice(str(e))}"
    raise CheckpointError(f"{path} is not a readable {what}: truncated or corrupt ({reason[:200]})") from None


def _without_torch_advice(message: str) -> str:
    """torch.load's message without its advice to load with ``weights_only=False`` (which would run the file)."""
    advice = ("Weights only load failed", "Please file an issue", "Check the documentation of torch.load")
    lines = [line.strip() for line in message.splitlines()]
    return "; ".join(line for line in lines if line and not line.startswith(advice))


# --------------------------------------------------------------------------------------------
# TensorFlow network pickles


@dataclass
class TFNetwork:
    """One ``dnnlib.tflib.network.Network`` of an official TensorFlow pickle, as plain data.

    ``variables`` are the network's OWN variables, named relative to its scope, in file order
    (0-d variables become 0-d arrays); sub-network variables live in ``components``.
    """

    name: str
    version: int
    static_kwargs: dict
    components: dict[str, TFNetwork] = field(default_factory=dict)
    build_func_name: str = ""
    variables: dict[str, np.ndarray] = field(default_factory=dict)

    def all_variables(self) -> dict[str, np.ndarray]:
        """Own variables, then each component's prefixed with ``<component key>/`` (recursively)."""
        out = dict(self.variables)
        for key, comp in self.components.items():
            out.update({f"{key}/{k}": v for k, v in comp.all_variables().items()})
        return out


TF_VERSIONS = (3, 4, 5)  # 3: StyleGAN (NVlabs/stylegan), 4: StyleGAN2, 5: StyleGAN2-ADA (TensorFlow)


def _tf_network(obj, path, where: str) -> TFNetwork:
    if not isinstance(obj, TFNetworkState) or not hasattr(obj, "state"):
        raise CheckpointError(f"{path}: {where} is not a TensorFlow network record")
    s = obj.state
    version = s.get("version")
    if version not in TF_VERSIONS:
        raise CheckpointError(f"{path}: unsupported TensorFlow network pickle version {version!r} (supported: 3, 4, 5)")
    for key, kind in (("name", str), ("static_kwargs", dict), ("components", dict), ("variables", list)):
        if not isinstance(s.get(key), kind):
            raise CheckpointError(f"{path}: {where} has no valid {key!r}")
    variables: dict[str, np.ndarray] = {}
    for item in s["variables"]:
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)):
            raise CheckpointError(f"{path}: {where} has a malformed variable entry")
        var_name, value = item
        if not isinstance(value, np.ndarray | np.generic) or value.dtype.kind != "f":
            raise CheckpointError(f"{path}: {where} variable {var_name!r} is not a float array")
        if var_name in variables:
            raise CheckpointError(f"{path}: {where} has variable {var_name!r} twice")
        variables[var_name] = np.asarray(value)
    components = {str(k): _tf_network(v, path, f"{where}/{k}") for k, v in s["components"].items()}
    return TFNetwork(
        name=s["name"],
        version=version,
        static_kwargs=dict(s["static_kwargs"]),
        components=components,
        build_func_name=str(s.get("build_func_name", "")),
        variables=variables,
    )


def load_tf_pickle(path: str | Path, scan: bool = True) -> tuple[TFNetwork, TFNetwork, TFNetwork]:
    """``(G, D, Gs)`` of an official TensorFlow network pickle, as data (no TensorFlow needed, no code run)."""
    obj = restricted_load(path, "tensorflow", scan)
    if not (isinstance(obj, tuple) and len(obj) == 3):
        raise CheckpointError(
            f"{path}: a TensorFlow network pickle holds the tuple (G, D, Gs), found {type(obj).__name__}"
        )
    G, D, Gs = (_tf_network(o, path, n) for o, n in zip(obj, ("G", "D", "Gs")))
    return G, D, Gs


# --------------------------------------------------------------------------------------------
# Official PyTorch snapshots

# Positional constructor arguments of the official top-level classes (they are normally passed by keyword).
_POSITIONAL = {
    "Generator": ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"),
    "Discriminator": ("c_dim", "img_resolution", "img_channels"),
}


def _state_dict_of(obj: PersistentObject, path, prefix: str = "") -> dict[str, torch.Tensor]:
    """Parameters and persistent buffers of a pickled official module, with the usual dotted names."""
    state = obj.state
    out: dict[str, torch.Tensor] = {}
    skip = set(state.get("_non_persistent_buffers_set") or ())
    for group in ("_parameters", "_buffers"):
        for name, value in (state.get(group) or {}).items():
            if value is None or name in skip:
                continue
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(f"{path}: {prefix}{name} is not a tensor")
            out[prefix + name] = value.detach()
    for name, child in (state.get("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, PersistentObject):
            raise CheckpointError(f"{path}: sub-module {prefix}{name} is not an official persistent object")
        out.update(_state_dict_of(child, path, f"{prefix}{name}."))
    return out


def official_class_name(obj: PersistentObject) -> str:
    """The official module path of a top-level network, told from its class name and structure
    (the module name is not stored; ``module_src`` is never run)."""
    if obj.class_name == "Generator":
        synthesis = (obj.state.get("_modules") or {}).get("synthesis")
        modules = synthesis.state.get("_modules") or {} if isinstance(synthesis, PersistentObject) else {}
        is_sg3 = isinstance(modules.get("input"), PersistentObject) and modules["input"].class_name == "SynthesisInput"
        return "networks_stylegan3.Generator" if is_sg3 else "networks_stylegan2.Generator"
    if obj.class_name == "Discriminator":
        return "networks_stylegan2.Discriminator"
    return obj.class_name


def _init_kwargs_of(obj: PersistentObject, path, what: str) -> dict:
    args = tuple(obj.state.get("_init_args") or ())
    kwargs = obj.state.get("_init_kwargs")
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"{path}: {what} carries no constructor kwargs")
    kwargs = dict(kwargs)
    names = _POSITIONAL.get(obj.class_name, ())
    if len(args) > len(names):
        raise CheckpointError(f"{path}: {what} ({obj.class_name}) has unexpected positional arguments {args}")
    kwargs.update(zip(names, args))
    return kwargs


def load_official_snapshot(path: str | Path, scan: bool = True) -> dict[str, dict]:
    """Networks of an official PyTorch snapshot (``network-snapshot-*.pkl``) as data.

    Returns ``{name: {"class_name", "init_kwargs", "state_dict"}}`` for each of ``G``, ``D``,
    ``G_ema`` the file holds; ``class_name`` is the official module path such as
    ``networks_stylegan2.Generator``.
    """
    obj = restricted_load(path, "official-snapshot", scan)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: an official snapshot holds a dict of networks, found {type(obj).__name__}")
    out = {}
    for name in ("G", "D", "G_ema"):
        net = obj.get(name)
        if net is None:
            continue
        if not isinstance(net, PersistentObject):
            raise CheckpointError(f"{path}: {name} is not an official persistent network")
        if "stylegan_export" in net.state:
            exported = _exported_network(net, path, name)
            if exported is not None:
                out[name] = exported
            continue
        out[name] = {
            "class_name": official_class_name(net),
            "init_kwargs": _init_kwargs_of(net, path, name),
            "state_dict": _state_dict_of(net, path),
        }
    if not out:
        raise CheckpointError(f"{path}: official snapshot without G, D or G_ema (keys: {sorted(map(str, obj))})")
    return out


def _exported_network(obj: PersistentObject, path, what: str) -> dict | None:
    """A network of a pickle written by ``stylegan export --format official-pytorch`` (see
    ``stylegan.io.export_official``): its kwargs and weights, or None for the placeholder of a
    missing discriminator."""
    state = obj.state
    if obj.class_name == "MissingNetwork":
        return None
    class_name, kwargs, sd = state.get("official_class"), state.get("init_kwargs"), state.get("state_dict")
    if not (
        isinstance(class_name, str)
        and isinstance(kwargs, dict)
        and isinstance(sd, dict)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in sd.items())
    ):
        raise CheckpointError(f"{path}: {what} is a malformed network record of a stylegan-exported pickle")
    return {"class_name": class_name, "init_kwargs": dict(kwargs), "state_dict": dict(sd)}
