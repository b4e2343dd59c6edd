"""Networks are built from frozen dataclass configs; this registry maps a network's ``kind``
(stored in checkpoints) to its class, and turns configs into JSON and back."""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

from torch import nn

from stylegan.errors import CheckpointError

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


def config_from_dict(cls, data: dict[str, Any]):
    """Rebuild a (nested) config dataclass from ``config_to_dict`` output; unknown keys are an error."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise CheckpointError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        hint = hints[f.name]
        kwargs[f.name] = _convert(hint, value)
    return cls(**kwargs)


def _convert(hint, value):
    if value is None:
        return None
    if dataclasses.is_dataclass(hint):
        return config_from_dict(hint, value)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for arg in args:
            if arg is type(None):
                continue
            if dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return config_from_dict(arg, value)
            if typing.get_origin(arg) is tuple and isinstance(value, list):
                return tuple(value)
        return tuple(value) if isinstance(value, list) else value
    if origin is tuple or hint is tuple:
        return tuple(_convert(args[0], v) if args and args[-1] is Ellipsis else v for v in value)
    return value


def build(kind: str, config) -> nn.Module:
    """Build a network of ``kind`` from its config object or dict."""
    cls = network_class(kind)
    if isinstance(config, dict):
        config = config_from_dict(cls.Config, config)
    return cls(config)
