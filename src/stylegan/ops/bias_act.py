"""Bias + activation + gain + clamp, the epilogue of every StyleGAN2/3 layer.

    y = clamp( act(x + b) * gain, -clamp, clamp )

``gain`` defaults to the activation's own gain (sqrt(2) for ReLU-like activations, so that the
variance of the signal is kept, as in He initialisation; 1 for linear ones).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from stylegan.ops.fastpath import reference_enabled


@dataclass(frozen=True)
class Activation:
    func: Callable[[torch.Tensor, float], torch.Tensor]
    def_alpha: float = 0.0
    def_gain: float = 1.0


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(lambda x, a: x),
    "relu": Activation(lambda x, a: F.relu(x), def_gain=math.sqrt(2)),
    "lrelu": Activation(lambda x, a: F.leaky_relu(x, a), def_alpha=0.2, def_gain=math.sqrt(2)),
    "tanh": Activation(lambda x, a: torch.tanh(x)),
    "sigmoid": Activation(lambda x, a: torch.sigmoid(x)),
    "elu": Activation(lambda x, a: F.elu(x)),
    "selu": Activation(lambda x, a: F.selu(x)),
    "softplus": Activation(lambda x, a: F.softplus(x)),
    "swish": Activation(lambda x, a: torch.sigmoid(x) * x, def_gain=math.sqrt(2)),
}


def activation_gain(act: str) -> float:
    """The default gain of an activation (sqrt(2) for lrelu, 1 for linear)."""
    return get_activation(act).def_gain


def get_activation(act: str) -> Activation:
    try:
        return ACTIVATIONS[act]
    except KeyError:
        raise ValueError(f"unknown activation {act!r}; choose from {sorted(ACTIVATIONS)}") from None


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    dim: int = 1,
    act: str = "linear",
    alpha: float | None = None,
    gain: float | None = None,
    clamp: float | None = None,
) -> torch.Tensor:
    """Add bias ``b`` along ``dim``, apply ``act``, scale by ``gain`` and clamp to +-``clamp``."""
    spec = get_activation(act)
    alpha = spec.def_alpha if alpha is None else float(alpha)
    gain = spec.def_gain if gain is None else float(gain)
    if act in _POSITIVELY_HOMOGENEOUS and gain > 0 and alpha >= 0 and not reference_enabled():
        return _bias_act_fast(x, b, dim, act, alpha, gain, clamp)
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.to(x.dtype).reshape(shape)
    x = spec.func(x, alpha)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


# act(g * x) == g * act(x) for g > 0: the gain can be applied together with the bias.
_POSITIVELY_HOMOGENEOUS = ("linear", "relu", "lrelu")


def _bias_act_fast(
    x: torch.Tensor, b: torch.Tensor | None, dim: int, act: str, alpha: float, gain: float, clamp: float | None
) -> torch.Tensor:
    """Fast path of ``bias_act`` for linear/relu/lrelu: bias and gain in one pass (g*x + g*b), then
    the activation and the clamp in place on that fresh tensor (the clamp out of place when
    autograd needs the activation's result)."""
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        b = b.to(x.dtype).reshape(shape)
        y = torch.add(x, b) if gain == 1 else torch.add(b * gain, x, alpha=gain)
        if y.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            y = y.contiguous(memory_format=torch.channels_last)
    elif gain != 1:
        y = x * gain
    elif act == "linear" and (clamp is None or clamp < 0):
        return x
    else:
        y = x.clone()
    if act == "lrelu":
        y = F.leaky_relu_(y, alpha)
    elif act == "relu":
        y = y.relu_()
    if clamp is not None and clamp >= 0:
        y = y.clamp(-clamp, clamp) if y.requires_grad else y.clamp_(-clamp, clamp)
    return y
