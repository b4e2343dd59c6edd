import math

import numpy as np
import pytest
import torch

from stylegan.ops.filtered_lrelu import filtered_lrelu, filtered_lrelu_output_size
from stylegan.ops.filters import design_lowpass_filter
from stylegan.ops.upfirdn2d import upfirdn2d_numpy


def filters(up, down, radial=False):
    fu = design_lowpass_filter(6 * up, 4.0, 3.0, 16.0 * up) if up > 1 else None
    fd = design_lowpass_filter(6 * down, 4.0, 3.0, 16.0 * up, radial=radial) if down > 1 else None
    return fu, fd


def explicit(x, fu, fd, b, up, down, padding, gain, slope, clamp):
    """The definition, step by step in NumPy: bias, zero insertion, pad, FIR, lrelu * gain, clamp, FIR, subsample."""

    def dense(f):
        if f is None:
            return np.ones((1, 1))
        f = f.double().numpy()
        return np.outer(f, f) if f.ndim == 1 else f

    out = []
    for n in range(x.shape[0]):
        chans = []
        for c in range(x.shape[1]):
            v = x[n, c].double().numpy() + (b[c].item() if b is not None else 0)
            v = upfirdn2d_numpy(v, dense(fu) * up**2, up=up, padding=padding)
            v = np.where(v >= 0, v, v * slope) * gain
            if clamp is not None:
                v = np.clip(v, -clamp, clamp)
            chans.append(upfirdn2d_numpy(v, dense(fd), down=down))
        out.append(np.stack(chans))
    return np.stack(out)


@pytest.mark.parametrize(
    "up,down,radial,padding",
    [
        (2, 2, False, (7, 6, 7, 6)),
        (4, 2, False, (13, 10, 13, 10)),
        (2, 2, True, (5, 4, 6, 3)),
        (2, 1, False, 0),
        (1, 2, False, (-1, 2, 0, 1)),
        (1, 1, False, 0),
    ],
)
def test_equals_explicit_sequence(up, down, radial, padding):
    x = torch.randn(2, 3, 14, 14, dtype=torch.float64)
    b = torch.randn(3, dtype=torch.float64)
    fu, fd = filters(up, down, radial)
    fu = fu.double() if fu is not None else None
    fd = fd.double() if fd is not None else None
    y = filtered_lrelu(x, fu, fd, b, up=up, down=down, padding=padding, gain=math.sqrt(2), slope=0.2, clamp=1.5)
    ref = explicit(x, fu, fd, b, up, down, padding, math.sqrt(2), 0.2, 1.5)
    assert tuple(y.shape[2:]) == filtered_lrelu_output_size((14, 14), fu, fd, up, down, padding)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)


def test_output_sizes_of_the_generator_layers():
    """An alias-free layer with 36 px in, 3x3 conv (38 px), x2 up and down, back to 36 px."""
    fu, fd = filters(2, 2)
    x = torch.randn(1, 4, 38, 38)
    pad_total = (36 - 1) * 2 + 1 - 38 * 2 + 12 + 12 - 2
    padding = [(pad_total + 2) // 2, pad_total - (pad_total + 2) // 2] * 2
    y = filtered_lrelu(x, fu, fd, up=2, down=2, padding=padding)
    assert y.shape == (1, 4, 36, 36)
    assert filtered_lrelu_output_size((38, 38), fu, fd, 2, 2, padding) == (36, 36)


def test_linear_where_the_lrelu_is_linear():
    """slope 1 makes the whole op linear; with a large bias every value stays on the positive side."""
    fu, fd = filters(2, 2)
    x1, x2 = torch.randn(2, 1, 3, 20, 20, dtype=torch.float64)
    fu, fd = fu.double(), fd.double()

    def op(x, b=None, slope=1.0):  # no zero padding: a zero border next to the bias would turn negative
        return filtered_lrelu(x, fu, fd, b, up=2, down=2, padding=0, gain=1.0, slope=slope)

    torch.testing.assert_close(op(2 * x1 - 3 * x2), 2 * op(x1) - 3 * op(x2))
    b = torch.full([3], 50.0, dtype=torch.float64)  # x + b > 0 everywhere after the up-filter
    torch.testing.assert_close(op(x1 + x2, b, 0.2), op(x1, b, 0.2) + op(x2, b, 0.2) - op(torch.zeros_like(x1), b, 0.2))
    # ...and not linear where the signal changes sign.
    assert (op(x1 + x2, None, 0.2) - op(x1, None, 0.2) - op(x2, None, 0.2)).abs().max() > 1e-3


def test_gain_and_clamp():
    x = torch.randn(1, 2, 8, 8) * 100
    y = filtered_lrelu(x, None, None, up=1, down=1, gain=2.0, slope=0.5, clamp=10.0)
    expected = torch.where(x >= 0, x, 0.5 * x) * 2.0
    torch.testing.assert_close(y, expected.clamp(-10, 10))


def test_second_order_gradients():
    fu, fd = filters(2, 2)
    x = torch.randn(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, dtype=torch.float64, requires_grad=True)

    def fn(x, b):
        return filtered_lrelu(x, fu.double(), fd.double(), b, up=2, down=2, padding=10)

    assert torch.autograd.gradcheck(fn, (x, b))
    assert torch.autograd.gradgradcheck(fn, (x, b))


def test_rejects_bad_arguments():
    x = torch.randn(1, 2, 6, 6)
    with pytest.raises(ValueError):
        filtered_lrelu(x, b=torch.zeros(3))
    with pytest.raises(ValueError):
        filtered_lrelu(x, up=0)
    with pytest.raises(ValueError):
        filtered_lrelu(x[0])


@pytest.mark.parametrize(
    "up,down,padding,radial",
    # StyleGAN3's layer paddings, crops (negative), one-sided padding and a radial (2-D) down filter.
    [
        (2, 2, [5, 4, 5, 4], False),
        (4, 2, [-6, -9, -6, -9], False),
        (2, 1, [5, 4, 5, 4], False),
        (1, 2, [5, 4, 5, 4], False),
        (2, 2, [-3, -2, 1, -4], False),
        (2, 2, [0, 0, 13, 0], False),
        (1, 1, [2, 2, 2, 2], False),
        (4, 2, [5, 4, 5, 4], True),
    ],
)
def test_strips_compute_the_whole_output(up, down, padding, radial, monkeypatch):
    """Inference on a large upsampled tensor runs in strips of output rows; stitched, they equal
    the reference computed whole (float64)."""
    from stylegan.ops import filtered_lrelu as module
    from stylegan.ops.fastpath import reference_ops

    torch.manual_seed(0)
    fu = design_lowpass_filter(6 * up, cutoff=3.0, width=2.0, fs=8 * up) if up > 1 else None
    fd = design_lowpass_filter(6 * down, cutoff=3.0, width=2.0, fs=8 * up, radial=radial) if down > 1 else None
    fu, fd = (f.double() if f is not None else None for f in (fu, fd))
    x = torch.randn(2, 3, 37, 23, dtype=torch.float64) * 3
    b = torch.randn(3, dtype=torch.float64)
    kwargs = dict(up=up, down=down, padding=padding, gain=math.sqrt(2), slope=0.2, clamp=4.0)
    with reference_ops():
        want = filtered_lrelu(x, fu, fd, b, **kwargs)
    strips = module.output_strips(x, fu, fd, up, down, padding, threshold_bytes=0, strip_bytes=1, min_overlaps=0)
    assert len(strips) == want.shape[2] and strips[0][0] == 0 and strips[-1][1] == want.shape[2]
    assert all(prev[1] == nxt[0] for prev, nxt in zip(strips, strips[1:]))
    calls = []
    real_output_strips = module.output_strips

    def small_strips(*args, **kw):
        calls.append(1)
        return real_output_strips(*args, threshold_bytes=0, strip_bytes=1, min_overlaps=0)  # one row each

    monkeypatch.setattr(module, "output_strips", small_strips)
    with torch.no_grad():
        got = filtered_lrelu(x, fu, fd, b, **kwargs)
    xg = x.clone().requires_grad_(True)  # with an autograd graph: whole, never in strips
    whole = filtered_lrelu(xg, fu, fd, b, **kwargs)
    assert len(calls) == 1
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(whole.detach(), want, rtol=1e-10, atol=1e-10)


def test_strips_threshold_from_the_environment(monkeypatch):
    from stylegan.errors import UserError
    from stylegan.ops.filtered_lrelu import output_strips

    x = torch.zeros(1, 8, 64, 64)
    fu = design_lowpass_filter(12, cutoff=3.0, width=2.0, fs=16)
    monkeypatch.setenv("STYLEGAN_FILTERED_LRELU_STRIPS_MB", "0.1")  # the upsampled tensor has 0.5 MB
    assert len(output_strips(x, fu, fu, 2, 2, 5, strip_bytes=2**16, min_overlaps=1)) > 1
    monkeypatch.setenv("STYLEGAN_FILTERED_LRELU_STRIPS_MB", "0")  # off
    assert output_strips(x, fu, fu, 2, 2, 5, strip_bytes=2**16, min_overlaps=1) == [(0, 58)]  # one: all rows
    monkeypatch.setenv("STYLEGAN_FILTERED_LRELU_STRIPS_MB", "lots")
    with pytest.raises(UserError, match="STYLEGAN_FILTERED_LRELU_STRIPS_MB must be a number"):
        output_strips(x, fu, fu, 2, 2, 5)
