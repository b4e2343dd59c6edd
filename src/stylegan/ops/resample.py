"""Resampling of ProGAN and StyleGAN (v1): nearest-neighbour upscaling, 2x2 box downscaling, the
[1, 2, 1] blur, and the convolutions fused with them.

- ``upscale2d``: every pixel repeated ``factor`` x ``factor`` times (nearest neighbour).
- ``downscale2d``: mean of every ``factor`` x ``factor`` box (average pooling).
- ``blur2d``: low-pass FIR filter applied after upsampling / before downsampling (StyleGAN,
  Section 2 and Appendix C: "bilinear" up/downsampling with a separable [1, 2, 1] filter).
- ``upscale_conv2d``: conv(upscale2d(x)) with a 3x3 kernel; the fused form is the official
  ``upscale2d_conv2d`` (``fused_scale=True``): one stride-2 transposed convolution with the 4x4
  kernel obtained by summing the four shifted copies of the 3x3 kernel. It is *not* the separate
  form with the same weights: it equals conv(upscale2d(x)) with the kernel rotated by 180 degrees.
- ``conv_downscale2d``: downscale2d(conv(x)); the fused form (official ``conv2d_downscale2d``) is
  one stride-2 convolution with the (summed, / 4) 4x4 kernel, equal to the separate form up to
  float rounding.

Weights are given as [out, in, kh, kw] correlation kernels (what ``torch.nn.functional.conv2d`` runs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stylegan.ops.upfirdn2d import filter2d


def upscale2d(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Nearest-neighbour upscaling of [N, C, H, W] by an integer ``factor``."""
    if factor == 1:
        return x
    return x.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)


def downscale2d(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Box downscaling of [N, C, H, W]: the mean of every ``factor`` x ``factor`` block."""
    if factor == 1:
        return x
    return F.avg_pool2d(x, factor)


def blur2d(x: torch.Tensor, f: torch.Tensor | None) -> torch.Tensor:
    """Apply the 2-D low-pass filter ``f`` (see ``setup_filter``) keeping the size ('SAME' padding).

    The filter is run as a correlation, as the official depthwise convolution does."""
    if f is None:
        return x
    return filter2d(x, f, flip_filter=True)


def _summed_kernel(w: torch.Tensor) -> torch.Tensor:
    """4x4 kernel: the sum of the 3x3 kernel placed at the four offsets of a 2x2 block."""
    w = F.pad(w, [1, 1, 1, 1])
    return w[..., 1:, 1:] + w[..., :-1, 1:] + w[..., 1:, :-1] + w[..., :-1, :-1]


def upscale_conv2d(x: torch.Tensor, w: torch.Tensor, fused: bool = False) -> torch.Tensor:
    """x2 upscaling and a convolution with 'SAME' padding, output [N, O, 2H, 2W].

    Separate: conv2d(upscale2d(x, 2), w). Fused: the official ``upscale2d_conv2d``,
    ``tf.nn.conv2d_transpose`` (stride 2, 'SAME', output [2H, 2W]) of the summed 4x4 kernel taken
    as [kh, kw, out, in], i.e. the adjoint of a stride-2 correlation with that kernel: every input
    pixel scatters the kernel unflipped, which equals conv2d(upscale2d(x), w.flip([2, 3]))."""
    kh, kw = w.shape[-2:]
    if not fused:
        return F.conv2d(upscale2d(x), w, padding=(kh // 2, kw // 2))
    if (kh, kw) != (3, 3):
        raise ValueError("the fused upscale + convolution takes a 3x3 kernel")
    w4 = _summed_kernel(w).transpose(0, 1)  # [in, out, 4, 4], no flip (as conv2d_transpose)
    return F.conv_transpose2d(x, w4, stride=2, padding=1)


def conv_downscale2d(x: torch.Tensor, w: torch.Tensor, fused: bool = False) -> torch.Tensor:
    """downscale2d(conv2d(x, w), 2) with 'SAME' padding, output [N, O, H/2, W/2]. Fused: the
    official ``conv2d_downscale2d``, a stride-2 'SAME' correlation with the summed 4x4 kernel / 4."""
    kh, kw = w.shape[-2:]
    if not fused:
        return downscale2d(F.conv2d(x, w, padding=(kh // 2, kw // 2)))
    if (kh, kw) != (3, 3):
        raise ValueError("the fused convolution + downscale takes a 3x3 kernel")
    return F.conv2d(x, _summed_kernel(w) * 0.25, stride=2, padding=1)


def lerp_clip(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """a + (b - a) * clip(t, 0, 1): the cross-fade of progressive growing."""
    t = min(max(float(t), 0.0), 1.0)
    if t == 0.0:
        return a
    if t == 1.0:
        return b
    return a + (b - a) * t
