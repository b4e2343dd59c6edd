"""FIR resampling: upsample by zero insertion, pad, apply a FIR filter, downsample.

This is the ``upfirdn2d`` primitive of StyleGAN2/3 written in plain PyTorch. For an input x,
filter f, upsampling factor u, padding p and downsampling factor d::

    y = downsample_d( conv( pad_p( upsample_u(x) ), f * gain ) )

``conv`` is a true convolution (the filter is flipped) unless ``flip_filter=True``, in which case
it is a correlation. A 1-D filter is applied separably (rows, then columns); a 2-D filter as is.
Everything is differentiable to any order through autograd.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from stylegan.ops.fastpath import as_channels_last, bfloat16_cpu, reference_enabled

Padding = int | Sequence[int]


def parse_scaling(scaling: int | Sequence[int]) -> tuple[int, int]:
    """Return (sx, sy) from an int or an (x, y) pair."""
    if isinstance(scaling, int):
        return scaling, scaling
    sx, sy = scaling
    return int(sx), int(sy)


def parse_padding(padding: Padding) -> tuple[int, int, int, int]:
    """Return (x0, x1, y0, y1) from an int, an (x, y) pair or a (x0, x1, y0, y1) quadruple."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    padding = [int(p) for p in padding]
    if len(padding) == 2:
        px, py = padding
        return px, px, py, py
    if len(padding) == 4:
        return tuple(padding)  # type: ignore[return-value]
    raise ValueError(f"padding must have 1, 2 or 4 entries, got {padding}")


def filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    """Return (width, height) of a 1-D (separable) or 2-D filter; (1, 1) for no filter."""
    if f is None:
        return 1, 1
    if f.ndim == 1:
        return f.shape[0], f.shape[0]
    return f.shape[-1], f.shape[0]


def setup_filter(
    f,
    device: torch.device | str = "cpu",
    normalize: bool = True,
    flip_filter: bool = False,
    gain: float = 1.0,
    separable: bool | None = None,
) -> torch.Tensor:
    """Turn filter taps into the tensor ``upfirdn2d`` expects.

    A 1-D list of taps becomes its outer product (2-D) unless ``separable`` (default: separable
    when it has 8 or more taps). ``normalize`` makes the taps sum to 1; ``gain`` is spread over
    the filter's dimensions so that the overall gain is ``gain``.
    """
    if f is None:
        f = 1
    f = torch.as_tensor(f, dtype=torch.float32)
    if f.ndim == 0:
        f = f[None]
    if f.ndim not in (1, 2):
        raise ValueError("filter must be 1-D or 2-D")
    if separable is None:
        separable = f.ndim == 1 and f.numel() >= 8
    if f.ndim == 1 and not separable:
        f = torch.outer(f, f)
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f * (gain ** (f.ndim / 2))
    return f.to(device=device)


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1.0,
) -> torch.Tensor:
    """Upsample, pad, FIR-filter and downsample a batch of images ``x`` of shape [N, C, H, W].

    ``padding`` may be negative (cropping). ``gain`` multiplies the filter (applied once in total,
    also for separable filters).
    """
    if f is None:
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    batch, channels, in_h, in_w = x.shape
    upx, upy = parse_scaling(up)
    downx, downy = parse_scaling(down)
    px0, px1, py0, py1 = parse_padding(padding)

    f = f.to(x.dtype) * (gain ** (f.ndim / 2))
    if reference_enabled():
        return _upfirdn2d_reference(x, f, upx, upy, downx, downy, (px0, px1, py0, py1), flip_filter)

    # Fast path: no multiplications by inserted zeros, no discarded outputs, channels-last
    # depthwise convolutions on the CPU.
    x = as_channels_last(x)
    if (upx > 1 or upy > 1) and bfloat16_cpu(x):
        return _upsample_zero_insert(x, f, upx, upy, downx, downy, (px0, px1, py0, py1), flip_filter)
    if upx > 1 or upy > 1:
        x = _upsample_and_filter(x, f, upx, upy, (px0, px1, py0, py1), flip_filter)
        return x[:, :, ::downy, ::downx] if downx > 1 or downy > 1 else x

    x = _pad_or_crop(x, px0, px1, py0, py1)

    # Convolve with the filter (conv2d correlates, so flip unless asked not to) and downsample by
    # keeping every d-th output pixel: the stride computes only the pixels that are kept.
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 2:
        weight = f[None, None].repeat([channels, 1, 1, 1])
        return F.conv2d(x, weight, stride=(downy, downx), groups=channels)
    weight = f[None, None].repeat([channels, 1, 1])
    x = F.conv2d(x, weight.unsqueeze(2), stride=(1, downx), groups=channels)
    return F.conv2d(x, weight.unsqueeze(3), stride=(downy, 1), groups=channels)


def _upfirdn2d_reference(
    x: torch.Tensor,
    f: torch.Tensor,
    upx: int,
    upy: int,
    downx: int,
    downy: int,
    padding: tuple[int, int, int, int],
    flip_filter: bool,
) -> torch.Tensor:
    """The literal definition: zero insertion, pad/crop, full-resolution convolution, subsampling.

    ``f`` already carries the gain and the dtype of ``x``.
    """
    batch, channels, in_h, in_w = x.shape
    px0, px1, py0, py1 = padding
    x = x.reshape(batch, channels, in_h, 1, in_w, 1)
    x = F.pad(x, [0, upx - 1, 0, 0, 0, upy - 1]).reshape(batch, channels, in_h * upy, in_w * upx)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 2:
        x = F.conv2d(x, f[None, None].repeat([channels, 1, 1, 1]), groups=channels)
    else:
        weight = f[None, None].repeat([channels, 1, 1])
        x = F.conv2d(x, weight.unsqueeze(2), groups=channels)
        x = F.conv2d(x, weight.unsqueeze(3), groups=channels)
    return x[:, :, ::downy, ::downx]


def _upsample_and_filter(
    x: torch.Tensor, f: torch.Tensor, upx: int, upy: int, padding: tuple[int, int, int, int], flip_filter: bool
) -> torch.Tensor:
    """Zero insertion, padding and FIR filtering in one strided transposed convolution.

    A transposed convolution with stride ``up`` scatters every input pixel times the kernel, which
    is the true convolution of the zero-inserted signal, without multiplying the inserted zeros.
    Its full output starts ``K - 1`` samples before the upsampled signal does, so the requested
    padding (x0, x1, y0, y1) becomes a pad/crop of the output.
    """
    channels = x.shape[1]
    px0, px1, py0, py1 = padding
    kernel = f.flip(list(range(f.ndim))) if flip_filter else f
    kh, kw = kernel.shape if kernel.ndim == 2 else (kernel.shape[0], kernel.shape[0])
    left, right, top, bottom = px0 - kw + 1, px1 + upx - kw, py0 - kh + 1, py1 + upy - kh
    # The transposed convolution crops equal amounts from both sides itself (its ``padding``).
    cx, cy = max(0, -max(left, right)), max(0, -max(top, bottom))
    if kernel.ndim == 2:
        weight = kernel[None, None].repeat([channels, 1, 1, 1])
        x = F.conv_transpose2d(x, weight, stride=(upy, upx), padding=(cy, cx), groups=channels)
    else:
        weight = kernel[None, None].repeat([channels, 1, 1])
        x = F.conv_transpose2d(x, weight.unsqueeze(2), stride=(1, upx), padding=(0, cx), groups=channels)
        x = F.conv_transpose2d(x, weight.unsqueeze(3), stride=(upy, 1), padding=(cy, 0), groups=channels)
    return _pad_or_crop(x, left + cx, right + cx, top + cy, bottom + cy)


def _upsample_zero_insert(
    x: torch.Tensor,
    f: torch.Tensor,
    upx: int,
    upy: int,
    downx: int,
    downy: int,
    padding: tuple[int, int, int, int],
    flip_filter: bool,
) -> torch.Tensor:
    """Upsampling for bfloat16 on the CPU: zero insertion, then strided depthwise convolutions, one
    axis at a time for a separable filter (so that each pass inserts zeros along its own axis only).

    oneDNN's bfloat16 depthwise *transposed* convolution is 10-25x slower than its float32 one on a
    CPU with AVX512-BF16 (1-D 12 taps, x2), while its bfloat16 depthwise convolution is 2-4x faster
    than float32; the zero-inserted convolution multiplies zeros but is the fastest bfloat16 form
    measured (``docs/performance.md``)."""
    channels = x.shape[1]
    px0, px1, py0, py1 = padding
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 2:
        x = _pad_or_crop(_zero_insert(x, upx, upy), px0, px1, py0, py1)
        return F.conv2d(x, f[None, None].repeat([channels, 1, 1, 1]), stride=(downy, downx), groups=channels)
    weight = f[None, None].repeat([channels, 1, 1])
    x = _pad_or_crop(_zero_insert(x, upx, 1), px0, px1, 0, 0)
    x = F.conv2d(x, weight.unsqueeze(2), stride=(1, downx), groups=channels)
    x = _pad_or_crop(_zero_insert(x, 1, upy), 0, 0, py0, py1)
    return F.conv2d(x, weight.unsqueeze(3), stride=(downy, 1), groups=channels)


def _zero_insert(x: torch.Tensor, upx: int, upy: int) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, H * upy, W * upx] with x at every (upy, upx)-th pixel and zeros elsewhere,
    in the memory layout of ``x``."""
    if upx == 1 and upy == 1:
        return x
    batch, channels, h, w = x.shape
    layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    z = torch.empty([batch, channels, h * upy, w * upx], dtype=x.dtype, device=x.device, memory_format=layout)
    z.zero_()
    z[:, :, ::upy, ::upx] = x
    return z


def _pad_or_crop(x: torch.Tensor, left: int, right: int, top: int, bottom: int) -> torch.Tensor:
    """Zero-pad (positive amounts) and crop (negative amounts) the last two dimensions. Crops are
    views and nothing is copied when all amounts are zero (``F.pad`` copies, and returns NCHW
    for channels-last input when it crops)."""
    if min(left, right, top, bottom) < 0:
        x = x[:, :, max(-top, 0) : x.shape[2] - max(-bottom, 0), max(-left, 0) : x.shape[3] - max(-right, 0)]
    if max(left, right, top, bottom) > 0:
        x = F.pad(x, [max(left, 0), max(right, 0), max(top, 0), max(bottom, 0)])
    return x


def filter2d(
    x: torch.Tensor, f: torch.Tensor | None, padding: Padding = 0, flip_filter: bool = False, gain: float = 1.0
) -> torch.Tensor:
    """FIR-filter ``x``, padded so that the output keeps the input's size (plus ``padding``)."""
    px0, px1, py0, py1 = parse_padding(padding)
    fw, fh = filter_size(f)
    pad = [px0 + fw // 2, px1 + (fw - 1) // 2, py0 + fh // 2, py1 + (fh - 1) // 2]
    return upfirdn2d(x, f, padding=pad, flip_filter=flip_filter, gain=gain)


def upsample2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int | Sequence[int] = 2,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1.0,
) -> torch.Tensor:
    """Upsample ``x`` by ``up`` with the interpolation filter ``f`` (output size H*up x W*up).

    The filter gain is multiplied by up_x * up_y to keep the signal's magnitude.
    """
    upx, upy = parse_scaling(up)
    px0, px1, py0, py1 = parse_padding(padding)
    fw, fh = filter_size(f)
    pad = [
        px0 + (fw + upx - 1) // 2,
        px1 + (fw - upx) // 2,
        py0 + (fh + upy - 1) // 2,
        py1 + (fh - upy) // 2,
    ]
    return upfirdn2d(x, f, up=up, padding=pad, flip_filter=flip_filter, gain=gain * upx * upy)


def downsample2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    down: int | Sequence[int] = 2,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1.0,
) -> torch.Tensor:
    """Low-pass ``x`` with ``f`` and keep every ``down``-th pixel (output size H/down x W/down)."""
    downx, downy = parse_scaling(down)
    px0, px1, py0, py1 = parse_padding(padding)
    fw, fh = filter_size(f)
    pad = [
        px0 + (fw - downx + 1) // 2,
        px1 + (fw - downx) // 2,
        py0 + (fh - downy + 1) // 2,
        py1 + (fh - downy) // 2,
    ]
    return upfirdn2d(x, f, down=down, padding=pad, flip_filter=flip_filter, gain=gain)


def upfirdn2d_numpy(x: np.ndarray, f: np.ndarray, up: int = 1, down: int = 1, padding=0) -> np.ndarray:
    """Direct (loop-free but obviously correct) NumPy version of ``upfirdn2d`` for tests.

    x: [H, W], f: 2-D. True convolution via scipy.signal.convolve2d.
    """
    from scipy.signal import convolve2d

    px0, px1, py0, py1 = parse_padding(padding)
    h, w = x.shape
    u = np.zeros((h * up, w * up), dtype=np.float64)
    u[::up, ::up] = x
    u = np.pad(u, ((max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0))))
    u = u[max(-py0, 0) : u.shape[0] - max(-py1, 0), max(-px0, 0) : u.shape[1] - max(-px1, 0)]
    y = convolve2d(u, f, mode="valid")
    return y[::down, ::down]
