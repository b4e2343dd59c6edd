"""What every importer shares: reading constructor kwargs one by one (``KwargReader``) and a file's
tensors one by one (``Entries``), each naming whatever is left over at the end as unsupported; the
mapping network's kwargs; and loading a translated state dict strictly (every tensor accounted for,
every shape checked)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from stylegan.errors import CheckpointError
from stylegan.models.mapping import MappingConfig


class KwargReader:
    """Constructor kwargs read one by one (``pop`` takes one out, ``get`` reads it and marks it
    understood); ``finish`` names whatever was neither, so no setting of a file is silently dropped.
    ``source`` says whose kwargs they are in the error ("official", "TensorFlow")."""

    def __init__(self, class_name: str, kwargs: Mapping[str, Any], source: str = "official"):
        self.class_name = class_name
        self.source = source
        self.kwargs = dict(kwargs)
        self.seen: set[str] = set()

    def pop(self, name: str, default: Any = None) -> Any:
        return self.kwargs.pop(name, default)

    def pop_dict(self, name: str) -> dict[str, Any]:
        value = self.kwargs.pop(name, None) or {}
        return dict(value)

    def get(self, name: str, default: Any = None, none: Any = None) -> Any:
        """The value of ``name`` (``default`` when absent, ``none`` when it is None), kept for later reads."""
        self.seen.add(name)
        value = self.kwargs.get(name, default)
        return none if value is None else value

    def finish(
        self, extra: Mapping[str, Any] | None = None, where: str = "", ignore: frozenset[str] | set[str] = frozenset()
    ) -> None:
        """Refuse what is left (and ``extra``, a nested dict's leftovers); ``ignore`` lists kwargs
        that only steer training or sampling and are dropped on purpose."""
        left = {k: v for k, v in self.kwargs.items() if k not in self.seen and k not in ignore}
        if extra:
            left.update(extra)
        if left:
            names = ", ".join(f"{where}{k}={v!r}" for k, v in left.items())
            raise CheckpointError(f"{self.class_name}: unsupported {self.source} kwarg(s): {names}")


class Entries:
    """The named tensors of a file (TensorFlow variables, a state dict) as an importer consumes
    them: ``take`` returns one and marks it used (a missing one is an error naming it), ``use`` and
    ``ignore`` mark entries used without reading them, and ``finish`` names every entry left over."""

    def __init__(
        self, what: str, entries: Mapping[str, Any], noun: str = "entry", nouns: str = "entries", missing_hint: str = ""
    ):
        self.what, self.noun, self.nouns, self.missing_hint = what, noun, nouns, missing_hint
        self.entries = dict(entries)
        self.used: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def take(self, name: str) -> Any:
        if name not in self.entries:
            raise CheckpointError(f"{self.what}: {self.noun} {name!r} is missing{self.missing_hint}")
        self.used.add(name)
        return self.entries[name]

    def use(self, *names: str) -> None:
        self.used.update(names)

    def ignore(self, pattern: str) -> None:
        """Mark every entry whose whole name matches the regular expression ``pattern`` as used."""
        self.used.update(n for n in self.entries if re.fullmatch(pattern, n))

    def finish(self) -> None:
        left = [n for n in self.entries if n not in self.used]
        if left:
            raise CheckpointError(
                f"{self.what}: {self.nouns} this importer does not understand: {', '.join(left[:8])}"
                + (" ..." if len(left) > 8 else "")
            )


def mapping_config(
    reader: KwargReader, mk: dict[str, Any], default_beta: float | None, default_layers: int = 8
) -> MappingConfig:
    cfg = MappingConfig(
        num_layers=int(mk.pop("num_layers", default_layers)),
        embed_features=mk.pop("embed_features", None),
        layer_features=mk.pop("layer_features", None),
        activation=mk.pop("activation", "lrelu"),
        lr_multiplier=float(mk.pop("lr_multiplier", 0.01)),
        w_avg_beta=mk.pop("w_avg_beta", default_beta),
    )
    reader.finish(mk, where="mapping_kwargs.")
    return cfg


def as_tuple(v) -> tuple[int, ...]:
    return tuple(int(x) if float(x).is_integer() else float(x) for x in v)


def load_state_strict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], what: str) -> None:
    """Copy every tensor of ``state_dict`` into ``module``; missing or extra entries are an error."""
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    extra = [k for k in state_dict if k not in own]
    if missing or extra:
        raise CheckpointError(
            f"{what}: state dict does not fit the network built from its kwargs "
            f"(missing: {missing[:5]}{'...' if len(missing) > 5 else ''}; "
            f"unexpected: {extra[:5]}{'...' if len(extra) > 5 else ''})"
        )
    for name, tensor in state_dict.items():
        tensor = torch.as_tensor(tensor)
        if tuple(tensor.shape) != tuple(own[name].shape):
            raise CheckpointError(f"{what}: {name} has shape {tuple(tensor.shape)}, expected {tuple(own[name].shape)}")
    module.load_state_dict({k: torch.as_tensor(v).to(torch.float32) for k, v in state_dict.items()}, strict=True)
