"""What every importer shares: reading official constructor kwargs one by one (whatever is left
at the end is unsupported and named in the error), the mapping network's kwargs, and loading a
translated state dict strictly (every tensor accounted for, every shape checked)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from stylegan.errors import CheckpointError
from stylegan.models.mapping import MappingConfig


class KwargReader:
    """Pops official kwargs one by one; whatever is left at the end is unsupported."""

    def __init__(self, class_name: str, kwargs: Mapping[str, Any]):
        self.class_name = class_name
        self.kwargs = dict(kwargs)

    def pop(self, name: str, default: Any = None) -> Any:
        return self.kwargs.pop(name, default)

    def pop_dict(self, name: str) -> dict[str, Any]:
        value = self.kwargs.pop(name, None) or {}
        return dict(value)

    def finish(self, extra: Mapping[str, Any] | None = None, where: str = "") -> None:
        left = dict(self.kwargs)
        if extra:
            left.update(extra)
        if left:
            names = ", ".join(f"{where}{k}={v!r}" for k, v in left.items())
            raise CheckpointError(f"{self.class_name}: unsupported official kwarg(s): {names}")


def mapping_config(reader: KwargReader, mk: dict[str, Any], default_beta: float | None,
                    default_layers: int = 8) -> MappingConfig:
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
            raise CheckpointError(
                f"{what}: {name} has shape {tuple(tensor.shape)}, expected {tuple(own[name].shape)}"
            )
    module.load_state_dict({k: torch.as_tensor(v).to(torch.float32) for k, v in state_dict.items()}, strict=True)
