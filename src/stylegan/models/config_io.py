"""Network configs as JSON and back: frozen dataclasses turned into plain dicts for checkpoints, and
dicts from files checked field by field against the dataclass before anything is built."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from typing import Any

from stylegan.errors import ConfigError


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
    return {
        type(None): "null",
        bool: "true or false",
        str: "a string",
        int: "an integer >= 0",
        float: "a finite number",
    }.get(hint, str(hint))


def _json_type(value) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
