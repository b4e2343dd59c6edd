"""Networks are built from frozen dataclass configs; this registry maps a network's ``kind``
(stored in checkpoints) to its class, and turns configs into JSON and back."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from stylegan.errors import CheckpointError, ConfigError

NETWORKS: dict[str, type[nn.Module]] = {}


def register(kind: str):
    """Class decorator: ``@register("stylegan2.generator")``. The class needs a ``Config`` attribute
    (a frozen dataclass) and an ``__init__(self, config)``."""

    def wrap(cls):
        if kind in NETWORKS and NETWORKS[kind] is not cls:
            raise ValueError(f"network kind {kind!r} registered twice")
        cls.kind = kind
        NETWORKS[kind] = cls
        return cls

    return wrap


def _ensure_models_imported() -> None:
    import stylegan.models  # noqa: F401  (registers the built-in networks)


def network_class(kind: str) -> type[nn.Module]:
    _ensure_models_imported()
    try:
        return NETWORKS[kind]
    except KeyError:
        raise CheckpointError(f"unknown network kind {kind!r}; known: {', '.join(sorted(NETWORKS))}") from None


def config_to_dict(config) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_from_dict(cls, data: dict[str, Any], where: str = ""):
    """Rebuild a (nested) config dataclass from ``config_to_dict`` output, checking it against the
    dataclass: a JSON object with known fields only, each of its declared type (an ``int`` field
    takes a non-negative integer, a ``float`` field a finite number). Problems raise ``ConfigError``."""
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a JSON object of fields, got {_json_type(data)}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{where} has no field(s) {sorted(unknown)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = kwargs[f.name] = _convert(hints[f.name], data[f.name], f"{where}.{f.name}")
            limit = f.metadata.get("at_most")
            if limit is not None and value is not None and value > limit:
                raise ConfigError(f"{where}.{f.name} must be at most {limit}, got {value}")
    return cls(**kwargs)


def at_most(limit: int) -> dict[str, int]:
    """Field metadata bounding a count that drives loops rather than tensor sizes, such as a number of
    layers: ``num_layers: int = field(default=8, metadata=at_most(64))``. Checked where a config
    is read from a file (``config_from_dict``); tensor sizes are bounded by ``build(max_elements=...)``."""
    return {"at_most": limit}


def _convert(hint, value, where: str):
    """``value`` (decoded JSON) as a value of type ``hint``, or a ``ConfigError`` naming ``where``."""
    if dataclasses.is_dataclass(hint):
        return config_from_dict(hint, value, where)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _convert(arg, value, where)
            except ConfigError:
                pass
        raise ConfigError(f"{where} must be {_describe(hint)}, got {value!r:.60}")
    if hint is type(None):
        if value is None:
            return None
    elif origin is tuple or hint is tuple:
        if isinstance(value, (list, tuple)):
            item = args[0] if args else typing.Any
            return tuple(v if item is typing.Any else _convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    elif hint is bool or hint is str:
        if isinstance(value, hint):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return value
    else:
        raise TypeError(f"config field {where} has a type the registry cannot check: {hint}")
    raise ConfigError(f"{where} must be {_describe(hint)}, got {value!r:.60}")


def _describe(hint) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is tuple or hint is tuple:
        return "a list"
    if dataclasses.is_dataclass(hint):
        return "a JSON object"
    return {type(None): "null", bool: "true or false", str: "a string", int: "an integer >= 0",
            float: "a finite number"}.get(hint, str(hint))


def _json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def build(kind: str, config, max_elements: int | None = None) -> nn.Module:
    """Build a network of ``kind`` from its config object or dict.

    Anything but a config object (a dict read from a file) is checked against the config dataclass first, and a
    network that refuses it (a resolution that is not a power of two, channel counts that come to
    zero, ...) raises ``ConfigError`` too. ``max_elements`` bounds the elements of the tensors
    created while building: a config that describes a larger network raises ``ConfigError``
    before the tensor that would cross the bound is allocated.
    """
    cls = network_class(kind)
    if isinstance(config, cls.Config):
        with _ElementBudget(max_elements):
            return cls(config)
    config = config_from_dict(cls.Config, config, f"{kind} config")
    try:
        with _ElementBudget(max_elements):
            return cls(config)
    except (ValueError, ArithmeticError, RuntimeError) as e:  # the network's own checks; impossible sizes
        raise ConfigError(f"no {kind} can be built from this config ({e})") from None


class _ElementBudget(TorchFunctionMode):
    """Counts the elements of the tensors that torch's factory functions create, and raises
    ``ConfigError`` before one would take the total past ``max_elements`` (no bound when None)."""

    SIZED = frozenset({torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn})

    def __init__(self, max_elements: int | None):
        super().__init__()
        self.max_elements = max_elements
        self.used = 0

    def __enter__(self):
        return self if self.max_elements is None else super().__enter__()

    def __exit__(self, *exc):
        return None if self.max_elements is None else super().__exit__(*exc)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.SIZED:
            size = kwargs.get("size", args[0] if args else ())
            if isinstance(size, int):  # torch.zeros(2, 3)
                size = [a for a in args if isinstance(a, int)]
            self.used += math.prod(size)
        elif func is torch.eye:
            self.used += args[0] * (args[1] if len(args) > 1 and isinstance(args[1], int) else args[0])
        if self.used > self.max_elements:
            raise ConfigError(f"it describes a network of more than {self.max_elements:,} tensor elements")
        return func(*args, **kwargs)
