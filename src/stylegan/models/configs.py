"""Named presets: ``stylegan1``, ``stylegan1-pin``, ``stylegan2``, ``stylegan3-t``, ``stylegan3-r``.

A preset turns a resolution and optional capacity settings into the frozen configs of a
generator and a discriminator. Each generation's module registers its own presets with
``@register_preset``; ``build_preset(name, resolution, ...)`` returns a ``ModelSpec``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stylegan.errors import UserError


@dataclass(frozen=True)
class ModelSpec:
    """The networks of a preset: kinds and configs of G and D (build them with ``build()``)."""

    preset: str
    G_kind: str
    G: Any
    D_kind: str
    D: Any

    def build(self):
        from stylegan.models.registry import build

        return build(self.G_kind, self.G), build(self.D_kind, self.D)


PresetFn = Callable[..., ModelSpec]
PRESETS: dict[str, PresetFn] = {}


def register_preset(name: str):
    """Decorator for a function ``(resolution, *, c_dim, img_channels, channel_base, channel_max,
    map_layers, z_dim, w_dim, **extra) -> ModelSpec``."""

    def wrap(fn: PresetFn) -> PresetFn:
        PRESETS[name] = fn
        return fn

    return wrap


def preset_names() -> list[str]:
    import stylegan.models  # noqa: F401  (registers the presets)

    return sorted(PRESETS)


def check_resolution(resolution: int, low: int = 4, high: int = 1024) -> None:
    if not (low <= resolution <= high and resolution & (resolution - 1) == 0):
        raise UserError(f"resolution must be a power of two between {low} and {high}, got {resolution}")


def build_preset(
    name: str,
    resolution: int,
    *,
    c_dim: int = 0,
    img_channels: int = 3,
    channel_base: int | None = None,
    channel_max: int | None = None,
    map_layers: int | None = None,
    z_dim: int | None = None,
    w_dim: int | None = None,
    **extra,
) -> ModelSpec:
    """The G and D configs of preset ``name`` at ``resolution``; ``None`` takes the preset's default."""
    names = preset_names()
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}; choose from {', '.join(names)}")
    return PRESETS[name](
        resolution, c_dim=c_dim, img_channels=img_channels, channel_base=channel_base, channel_max=channel_max,
        map_layers=map_layers, z_dim=z_dim, w_dim=w_dim, **extra,
    )
