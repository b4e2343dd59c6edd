"""Pixel-Instance Normalization (Tan, Wen, Yang 2021, arXiv 2103.01090, Section 4).

    PIN(x) = p (.) PN(x) + (1 - p) (.) IN(x)

with a learned per-channel gate p in [0, 1], PN the pixel norm across channels and IN the instance
norm of StyleGAN. As in Batch-Instance Normalization, p is a plain parameter that the optimiser
updates freely and that is projected back onto [0, 1] by clamping after every optimiser step
(``project_gates_``). With p = 0 PIN is exactly IN, with p = 1 exactly PN.

Design choices (the paper publishes no code; see docs/pin.md):
- the gate starts at ``DEFAULT_GATE_INIT`` = 0.5, the midpoint, so that both normalisations
  take part from the first step and neither end of the interval (where the projection could pin
  the gate) is the starting point;
- no schedule by default: the gate is learned in [0, 1]. ``GateSchedule`` narrows the interval
  over training (for instance, instance norm only at first, pixel norm allowed later).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from stylegan.ops.norm import pixel_instance_norm

DEFAULT_GATE_INIT = 0.5


def check_gate_value(value: float, what: str = "PIN gate") -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be within [0, 1], got {value:g}")
    return value


class PixelInstanceNorm(nn.Module):
    """PIN with a per-channel gate ``gate`` (shape [C]) initialised to ``gate_init``."""

    def __init__(self, num_channels: int, gate_init: float = DEFAULT_GATE_INIT, eps: float = 1e-8):
        super().__init__()
        self.num_channels = num_channels
        self.eps = eps
        self.gate = nn.Parameter(torch.full([num_channels], check_gate_value(gate_init, "PIN gate init")))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_instance_norm(x, self.gate, self.eps)

    @torch.no_grad()
    def project_(self, low: float = 0.0, high: float = 1.0) -> None:
        """Clamp the gate onto [low, high] (a sub-interval of [0, 1]) in place."""
        self.gate.clamp_(check_gate_value(low), check_gate_value(high))

    def extra_repr(self) -> str:
        return f"channels={self.num_channels}"


def pin_layers(module: nn.Module) -> list[PixelInstanceNorm]:
    """Every PIN layer inside ``module``."""
    return [m for m in module.modules() if isinstance(m, PixelInstanceNorm)]


def project_gates_(module: nn.Module, low: float = 0.0, high: float = 1.0) -> int:
    """Project the gates of every PIN layer in ``module`` onto [low, high]; call it after each
    optimiser step. Returns the number of PIN layers."""
    layers = pin_layers(module)
    for layer in layers:
        layer.project_(low, high)
    return len(layers)


def gate_values(module: nn.Module) -> dict[str, torch.Tensor]:
    """The gate of every PIN layer, by module name (for logging how far training moved them)."""
    return {name: m.gate.detach().clone() for name, m in module.named_modules() if isinstance(m, PixelInstanceNorm)}


@dataclass(frozen=True)
class GateSchedule:
    """An optional schedule for the gate: the interval [low, high] it is projected onto moves
    linearly from [low_start, high_start] at ``start_kimg`` to [low_end, high_end] at ``end_kimg``
    (constant before and after). For example ``GateSchedule(0, 1200, high_start=0.0)`` keeps the
    layer a pure instance norm at first and lets pixel norm in gradually over the first 1200 kimg;
    ``GateSchedule(0, 1200, low_end=1.0)`` ends as a pure pixel norm."""

    start_kimg: float = 0.0
    end_kimg: float = 0.0
    low_start: float = 0.0
    low_end: float = 0.0
    high_start: float = 1.0
    high_end: float = 1.0

    def __post_init__(self):
        if self.end_kimg < self.start_kimg:
            raise ValueError("GateSchedule: end_kimg must not come before start_kimg")
        for name in ("low_start", "low_end", "high_start", "high_end"):
            check_gate_value(getattr(self, name), f"GateSchedule.{name}")
        if self.low_start > self.high_start or self.low_end > self.high_end:
            raise ValueError("GateSchedule: low bounds must not exceed high bounds")

    def bounds(self, kimg: float) -> tuple[float, float]:
        """(low, high) at ``kimg`` thousand training images."""
        if self.end_kimg == self.start_kimg:
            t = 0.0 if kimg < self.start_kimg else 1.0
        else:
            t = min(max((kimg - self.start_kimg) / (self.end_kimg - self.start_kimg), 0.0), 1.0)
        low = self.low_start + (self.low_end - self.low_start) * t
        high = self.high_start + (self.high_end - self.high_start) * t
        return low, high

    def project_(self, module: nn.Module, kimg: float) -> int:
        """Project every PIN gate in ``module`` onto the interval of ``kimg``."""
        return project_gates_(module, *self.bounds(kimg))
