"""Filtered leaky ReLU: the alias-free nonlinearity of StyleGAN3 (Section 3.2, Figure 4c).

A pointwise nonlinearity creates frequencies above the Nyquist limit of the grid it runs on.
StyleGAN3 therefore runs it on a temporarily upsampled grid and low-passes the result before
going back to the output grid. For each channel::

    y = down_d( f_d * clamp( lrelu( f_u * up_u( pad(x + b) ) ) * gain ) )

in order: add the bias, upsample by ``up`` (zero insertion; the filter ``fu`` gets gain up^2 to
keep the signal's magnitude), pad (negative = crop), convolve with ``fu``, leaky ReLU with
``slope`` times ``gain``, clamp to +-``clamp``, convolve with ``fd``, keep every ``down``-th
sample. Filters are 1-D (separable), 2-D or ``None`` (identity), as in ``upfirdn2d``.

The reference composition runs these steps literally. The fast path (the default; see
``stylegan.ops.fastpath``) computes the same in fewer passes and allocations: the upsampling crops
inside its transposed convolution, and gain, activation and clamp run in place as one autograd
function that keeps only its output. Both are plain PyTorch, differentiable to any order.
"""

from __future__ import annotations

import math

import torch

from stylegan.ops.bias_act import act_clamp, bias_act
from stylegan.ops.fastpath import reference_enabled
from stylegan.ops.upfirdn2d import Padding, filter_size, parse_padding, upfirdn2d


def filtered_lrelu_output_size(
    in_size: tuple[int, int],
    fu: torch.Tensor | None,
    fd: torch.Tensor | None,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
) -> tuple[int, int]:
    """(height, width) of ``filtered_lrelu``'s output for an input of (height, width) ``in_size``."""
    in_h, in_w = in_size
    fu_w, fu_h = filter_size(fu)
    fd_w, fd_h = filter_size(fd)
    px0, px1, py0, py1 = parse_padding(padding)
    out_w = (in_w * up + px0 + px1 - (fu_w - 1) - (fd_w - 1) + (down - 1)) // down
    out_h = (in_h * up + py0 + py1 - (fu_h - 1) - (fd_h - 1) + (down - 1)) // down
    return out_h, out_w


def filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None = None,
    fd: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    gain: float = math.sqrt(2),
    slope: float = 0.2,
    clamp: float | None = None,
    flip_filter: bool = False,
) -> torch.Tensor:
    """Bias, upsample, leaky ReLU, clamp, low-pass and downsample [N, C, H, W] ``x`` (see module
    docstring). ``padding`` is given on the upsampled grid: an int, (x, y) or (x0, x1, y0, y1)."""
    if x.ndim != 4:
        raise ValueError(f"filtered_lrelu expects [N, C, H, W], got shape {list(x.shape)}")
    if not (isinstance(up, int) and up >= 1 and isinstance(down, int) and down >= 1):
        raise ValueError(f"up and down must be integers >= 1, got {up}, {down}")
    if b is not None and tuple(b.shape) != (x.shape[1],):
        raise ValueError(f"bias must have shape [{x.shape[1]}], got {list(b.shape)}")
    if gain <= 0 or slope < 0 or (clamp is not None and clamp < 0):
        raise ValueError("filtered_lrelu needs gain > 0, slope >= 0 and clamp >= 0")
    x = bias_act(x, b)
    if reference_enabled():
        x = upfirdn2d(x, fu, up=up, padding=parse_padding(padding), gain=up**2, flip_filter=flip_filter)
        x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
    else:
        x = upfirdn2d(x, fu, up=up, padding=parse_padding(padding), gain=up**2, flip_filter=flip_filter)
        x = act_clamp(x, slope, clamp, gain, inplace=x._base is None)
    return upfirdn2d(x, fd, down=down, flip_filter=flip_filter)
