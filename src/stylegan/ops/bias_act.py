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
    the activation and the clamp in place on that fresh tensor (``act_clamp``)."""
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        b = b.to(x.dtype).reshape(shape)
        if gain == 1:
            y = torch.add(x, b)
        elif torch.compiler.is_compiling():
            # Inductor (torch 2.13, CPU) loses the alpha of an add whose other operand is a matmul
            # (its addmm fusion); the compiled graph fuses this form into one pass anyway.
            y = b * gain + x * gain
        else:
            y = torch.add(b * gain, x, alpha=gain)  # one pass in eager mode
        if y.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            y = y.contiguous(memory_format=torch.channels_last)
    elif gain != 1:
        y = x * gain
    elif act == "linear" and (clamp is None or clamp < 0):
        return x
    else:
        y = x.clone()
    return act_clamp(y, 0.0 if act == "relu" else alpha if act == "lrelu" else 1.0, clamp, inplace=True)


def act_clamp(
    y: torch.Tensor, slope: float, clamp: float | None, gain: float = 1.0, inplace: bool = False
) -> torch.Tensor:
    """``clamp(lrelu(y) * gain)``: leaky ReLU with ``slope`` in [0, 1] (0: ReLU, 1: identity),
    ``gain`` > 0, clamp to +-``clamp``. ``inplace`` overwrites ``y``, which must then be a fresh
    tensor that nothing else needs (not a view).

    Under autograd this is one function that keeps only its output: the derivative is a factor
    that the output determines (``gain`` where y > 0, else ``gain * slope``; 0 where the clamp is
    active), applied in the backward pass by autograd's own kernels (differentiable again, for R1
    and path-length regularisation).
    """
    clamp = clamp if clamp is not None and clamp >= 0 else None
    if slope == 1 and clamp is None and gain == 1:
        return y
    if y.requires_grad and torch.is_grad_enabled():
        return _ActClamp.apply(y, slope, clamp, gain, inplace)
    return _act_clamp_forward(y, slope, clamp, gain, inplace)


def _act_clamp_forward(y: torch.Tensor, slope: float, clamp: float | None, gain: float, inplace: bool) -> torch.Tensor:
    if gain != 1:
        y = y.mul_(gain) if inplace else y * gain
        inplace = True
    if slope == 0:
        y = y.relu_() if inplace else y.relu()
    elif slope != 1:
        y = F.leaky_relu_(y, slope) if inplace else F.leaky_relu(y, slope)
    elif not inplace:
        y = y.clone()
    return y if clamp is None else y.clamp_(-clamp, clamp)


def _act_clamp_grad(dy: torch.Tensor, y: torch.Tensor, slope: float, clamp: float | None, gain: float) -> torch.Tensor:
    """dL/dx for y = clamp(lrelu(x) * gain), from the output ``y`` alone: autograd's own fused
    backward kernels, one pass each, with ``y`` as their input (y > 0 exactly where x > 0, and
    |y| = clamp exactly where the clamp is active). Differentiable again when grad mode is on
    (double backward); otherwise the passes after the first overwrite one new tensor instead of
    allocating three (large allocations cost more than the arithmetic on the CPU)."""
    y = y.detach()
    ops = torch.ops.aten
    if torch.is_grad_enabled():
        if clamp is not None:
            dy = ops.hardtanh_backward(dy, y, -clamp, clamp)
        if slope != 1:
            dy = ops.leaky_relu_backward(dy, y, slope, True)
        return dy * gain if gain != 1 else dy
    dx = None
    if gain != 1:
        dx = dy * gain
    if clamp is not None:
        dx = (
            ops.hardtanh_backward(dy, y, -clamp, clamp)
            if dx is None
            else ops.hardtanh_backward.grad_input(dx, y, -clamp, clamp, grad_input=dx)
        )
    if slope != 1:
        dx = (
            ops.leaky_relu_backward(dy, y, slope, True)
            if dx is None
            else ops.leaky_relu_backward.grad_input(dx, y, slope, True, grad_input=dx)
        )
    return dy if dx is None else dx


class _ActClamp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y, slope, clamp, gain, inplace):
        out = _act_clamp_forward(y, slope, clamp, gain, inplace)
        if inplace:
            ctx.mark_dirty(out)
        ctx.save_for_backward(out)
        ctx.slope, ctx.clamp, ctx.gain = slope, clamp, gain
        return out

    @staticmethod
    def backward(ctx, dy):
        (y,) = ctx.saved_tensors
        return _act_clamp_grad(dy, y, ctx.slope, ctx.clamp, ctx.gain), None, None, None, None
