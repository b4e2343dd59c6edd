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

With ``recompute=True`` and an autograd graph, the op keeps only its input and recomputes the
upsampled activations when the backward pass needs them (activation checkpointing, Chen et al.
2016, "Training Deep Nets with Sublinear Memory Cost"): the upsampled tensor is ``up**2`` times the
input's size and, with the filtering passes' intermediates, dominates what a StyleGAN3 generator
keeps for its backward pass. The gradients are the same (the same operations run again);
differentiable to any order as well (path-length regularisation).

Without an autograd graph (inference), an upsampled tensor larger than
``STYLEGAN_FILTERED_LRELU_STRIPS_MB`` (default 1024; 0 turns this off) is never materialised
whole: the output is computed in horizontal strips of about ``STRIP_MB``, each from the input
rows it depends on. This lowers peak memory at high resolution for a little more time.
"""

from __future__ import annotations

import math
import os

import torch
import torch.utils.checkpoint

from stylegan.errors import UserError
from stylegan.ops.bias_act import act_clamp, bias_act
from stylegan.ops.fastpath import reference_enabled
from stylegan.ops.upfirdn2d import Padding, filter_size, parse_padding, upfirdn2d

STRIP_MB = 128  # size of one strip's upsampled tensor, in MB


def _strips_threshold_bytes() -> float:
    value = os.environ.get("STYLEGAN_FILTERED_LRELU_STRIPS_MB", "1024").strip()
    try:
        mb = float(value)
    except ValueError:
        raise UserError(f"STYLEGAN_FILTERED_LRELU_STRIPS_MB must be a number of MB, got {value!r}") from None
    return mb * 2**20 if mb > 0 else math.inf


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
    recompute: bool = False,
) -> torch.Tensor:
    """Bias, upsample, leaky ReLU, clamp, low-pass and downsample [N, C, H, W] ``x`` (see module
    docstring). ``padding`` is given on the upsampled grid: an int, (x, y) or (x0, x1, y0, y1).
    ``recompute``: keep only the inputs for the backward pass and recompute the rest there."""
    if x.ndim != 4:
        raise ValueError(f"filtered_lrelu expects [N, C, H, W], got shape {list(x.shape)}")
    if not (isinstance(up, int) and up >= 1 and isinstance(down, int) and down >= 1):
        raise ValueError(f"up and down must be integers >= 1, got {up}, {down}")
    if b is not None and tuple(b.shape) != (x.shape[1],):
        raise ValueError(f"bias must have shape [{x.shape[1]}], got {list(b.shape)}")
    if gain <= 0 or slope < 0 or (clamp is not None and clamp < 0):
        raise ValueError("filtered_lrelu needs gain > 0, slope >= 0 and clamp >= 0")
    padding = parse_padding(padding)
    args = (fu, fd, up, down, padding, gain, slope, clamp, flip_filter)
    if recompute and torch.is_grad_enabled() and (x.requires_grad or (b is not None and b.requires_grad)):
        return torch.utils.checkpoint.checkpoint(_filtered_lrelu, x, b, *args, use_reentrant=False)
    return _filtered_lrelu(x, b, *args)


def _filtered_lrelu(
    x: torch.Tensor,
    b: torch.Tensor | None,
    fu: torch.Tensor | None,
    fd: torch.Tensor | None,
    up: int,
    down: int,
    padding: tuple[int, int, int, int],
    gain: float,
    slope: float,
    clamp: float | None,
    flip_filter: bool,
) -> torch.Tensor:
    """``filtered_lrelu`` after its checks."""
    x = bias_act(x, b)
    if reference_enabled():
        x = upfirdn2d(x, fu, up=up, padding=padding, gain=up**2, flip_filter=flip_filter)
        x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
        return upfirdn2d(x, fd, down=down, flip_filter=flip_filter)
    strips = [] if x.requires_grad and torch.is_grad_enabled() else output_strips(x, fu, fd, up, down, padding)
    if len(strips) > 1:
        return torch.cat(
            [
                _upsample_act_downsample(x, fu, fd, up, down, padding, gain, slope, clamp, flip_filter, rows)
                for rows in strips
            ],
            dim=2,
        )
    return _upsample_act_downsample(x, fu, fd, up, down, padding, gain, slope, clamp, flip_filter)


def output_strips(
    x: torch.Tensor,
    fu: torch.Tensor | None,
    fd: torch.Tensor | None,
    up: int,
    down: int,
    padding: Padding,
    threshold_bytes: float | None = None,
    strip_bytes: float = STRIP_MB * 2**20,
    min_overlaps: int = 16,
) -> list[tuple[int, int]]:
    """Output row ranges [o0, o1) that split the work into strips of about ``strip_bytes`` of
    upsampled tensor, when the whole upsampled tensor would exceed ``threshold_bytes``; else one range.
    A strip has at least ``min_overlaps`` times the rows its filters overlap into the next, so the
    rows computed twice stay a few percent."""
    threshold = _strips_threshold_bytes() if threshold_bytes is None else threshold_bytes
    px0, px1, py0, py1 = parse_padding(padding)
    out_h, _ = filtered_lrelu_output_size(tuple(x.shape[2:]), fu, fd, up, down, padding)
    row_bytes = x.shape[0] * x.shape[1] * (x.shape[3] * up + px0 + px1) * x.element_size() * down
    if out_h * row_bytes <= threshold:
        return [(0, out_h)]
    _, fu_h = filter_size(fu)
    _, fd_h = filter_size(fd)
    overlap = -(-(fu_h - 1) // (up * down)) + -(-(fd_h - 1) // down)
    rows = max(int(strip_bytes // row_bytes), min_overlaps * overlap, 1)
    return [(o0, min(o0 + rows, out_h)) for o0 in range(0, out_h, rows)]


def _upsample_act_downsample(
    x: torch.Tensor,
    fu,
    fd,
    up: int,
    down: int,
    padding: tuple[int, int, int, int],
    gain: float,
    slope: float,
    clamp: float | None,
    flip_filter: bool,
    rows: tuple[int, int] | None = None,
) -> torch.Tensor:
    """The fast path after the bias, for all output rows or for output rows [o0, o1) only.

    Output row o reads upsampled rows [o down, o down + fd_h), and upsampled row j reads rows
    [j, j + fu_h) of the zero-inserted, padded input, whose row t holds input row (t - py0) / up
    where that is a whole number. A strip therefore takes the input rows [r0, r1) it needs and
    pads (or crops) them so that its first zero-inserted row is the strip's first one."""
    px0, px1, py0, py1 = padding
    if rows is not None:
        o0, o1 = rows
        _, fu_h = filter_size(fu)
        _, fd_h = filter_size(fd)
        j0, j1 = o0 * down, (o1 - 1) * down + fd_h  # upsampled rows of the strip
        t1 = j1 + fu_h - 1  # zero-inserted rows [j0, t1)
        r0 = max(0, (j0 - py0) // up)
        r1 = min(x.shape[2], -(-(t1 - py0) // up))
        if r1 <= r0:  # the strip reads padding only: act(0) = 0, filtered to 0
            width = filtered_lrelu_output_size(tuple(x.shape[2:]), fu, fd, up, down, padding)[1]
            return x.new_zeros([x.shape[0], x.shape[1], o1 - o0, width])
        py0 = py0 + r0 * up - j0
        py1 = (t1 - j0) - (r1 - r0) * up - py0
        x = x[:, :, r0:r1]
    x = upfirdn2d(x, fu, up=up, padding=(px0, px1, py0, py1), gain=up**2, flip_filter=flip_filter)
    x = act_clamp(x, slope, clamp, gain, inplace=x._base is None)
    return upfirdn2d(x, fd, down=down, flip_filter=flip_filter)
