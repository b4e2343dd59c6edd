"""Every fast path equals the reference ops, forward and gradients (float64 tight, float32 to 1e-5)."""

import math

import pytest
import torch

from stylegan.ops import (
    bias_act,
    conv2d_resample,
    modulated_conv2d,
    reference_enabled,
    reference_ops,
    setup_filter,
    upfirdn2d,
    use_reference,
)
from stylegan.ops.bias_act import act_clamp
from stylegan.ops.filtered_lrelu import filtered_lrelu
from stylegan.ops.filters import design_lowpass_filter

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def _compare(fn, inputs, dtype):
    """Run ``fn`` on the reference and the fast path; compare outputs and input gradients."""
    results = []
    for reference in (True, False):
        leaves = [t.detach().clone().to(dtype).requires_grad_(t.is_floating_point()) for t in inputs]
        with reference_ops(reference):
            y = fn(*leaves)
        torch.manual_seed(1)
        probe = torch.randn(y.shape, dtype=dtype)
        grads = torch.autograd.grad((y * probe).sum(), [t for t in leaves if t.requires_grad])
        results.append((y.detach(), grads))
    (y_ref, g_ref), (y_fast, g_fast) = results
    assert y_ref.shape == y_fast.shape
    scale = max(1.0, y_ref.abs().max().item())
    tol = TOL[dtype]
    torch.testing.assert_close(y_fast, y_ref, atol=tol * scale, rtol=tol)
    for a, b in zip(g_fast, g_ref, strict=True):
        torch.testing.assert_close(a, b, atol=tol * max(1.0, b.abs().max().item()), rtol=tol)


DTYPES = [torch.float64, torch.float32]


def test_switch():
    assert not reference_enabled()
    use_reference(True)
    assert reference_enabled()
    use_reference(False)
    with reference_ops():
        assert reference_enabled()
    assert not reference_enabled()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "taps,up,down,padding",
    [
        ([1, 3, 3, 1], 2, 1, [2, 1, 2, 1]),  # 2-D filter, upsampling
        ([1, 3, 3, 1], 1, 2, [1, 1, 1, 1]),  # 2-D filter, downsampling
        ([1, 3, 3, 1], 1, 1, [1, 2, 2, 1]),  # plain filtering
        ([1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1, 1], 2, 1, [7, 6, 5, 8]),  # separable 12 taps, up
        ([1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1, 1], 1, 2, [-1, 2, 0, -2]),  # separable, down, with crop
        ([1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1, 1], 2, 2, 3),  # up and down
        ([1, 3, 3, 1], 4, 1, [3, 2, 1, 0]),  # up by 4
    ],
)
def test_upfirdn2d(dtype, taps, up, down, padding):
    torch.manual_seed(0)
    f = setup_filter(taps)
    x = torch.randn(2, 5, 16, 14)
    for flip in (False, True):
        _compare(
            lambda x, flip=flip: upfirdn2d(x, f, up=up, down=down, padding=padding, flip_filter=flip, gain=1.5),
            [x],
            dtype,
        )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("up,down,kernel", [(1, 1, 3), (2, 1, 3), (1, 2, 3), (2, 1, 1), (1, 2, 1)])
def test_conv2d_resample(dtype, up, down, kernel):
    torch.manual_seed(0)
    f = setup_filter([1, 3, 3, 1])
    x = torch.randn(2, 6, 8, 8)
    w = torch.randn(4, 6, kernel, kernel)
    _compare(lambda x, w: conv2d_resample(x, w, f, up=up, down=down, padding=kernel // 2), [x, w], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("up,demodulate,with_noise", [(1, True, True), (2, True, False), (1, False, False)])
def test_modulated_conv2d(dtype, fused, up, demodulate, with_noise):
    torch.manual_seed(0)
    f = setup_filter([1, 3, 3, 1])
    x = torch.randn(3, 6, 8, 8)
    w = torch.randn(5, 6, 3, 3)
    s = torch.randn(3, 6) + 1
    noise = torch.randn(1, 1, 8 * up, 8 * up) if with_noise else None

    def fn(x, w, s):
        return modulated_conv2d(
            x,
            w,
            s,
            noise=noise,
            up=up,
            padding=1,
            resample_filter=f,
            demodulate=demodulate,
            flip_weight=(up == 1),
            fused_modconv=fused,
        )

    _compare(fn, [x, w, s], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_modulated_conv2d_input_gain(dtype):
    torch.manual_seed(0)
    x, w, s, gain = torch.randn(2, 4, 7, 7), torch.randn(3, 4, 3, 3), torch.randn(2, 4), torch.rand(4) + 0.5
    _compare(lambda x, w, s: modulated_conv2d(x, w, s, padding=2, input_gain=gain), [x, w, s], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "act,gain,clamp,with_bias",
    [
        ("lrelu", None, 256.0, True),
        ("lrelu", None, 0.5, True),
        ("linear", None, 0.7, True),
        ("relu", 2.0, None, False),
        ("linear", None, None, False),
        ("linear", 0.5, None, True),
        ("tanh", None, None, True),
    ],
)
def test_bias_act(dtype, act, gain, clamp, with_bias):
    torch.manual_seed(0)
    x = torch.randn(3, 6, 5, 4)
    b = torch.randn(6)
    if with_bias:
        _compare(lambda x, b: bias_act(x, b, act=act, gain=gain, clamp=clamp), [x, b], dtype)
    else:
        _compare(lambda x: bias_act(x, act=act, gain=gain, clamp=clamp), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "up,down,padding",
    # StyleGAN3's layers pad by (taps / 2 - 1, taps / 2 - 2) on each side and crop in the layer
    # that changes the sampling rate; the crops exercise the view (not in-place) path.
    [
        (2, 2, [5, 4, 5, 4]),
        (1, 2, [5, 4, 5, 4]),
        (2, 1, [5, 4, 5, 4]),
        (1, 1, [5, 4, 5, 4]),
        (4, 2, [-6, -9, -6, -9]),
        (2, 2, [-3, -2, 1, -4]),
    ],
)
def test_filtered_lrelu(dtype, up, down, padding):
    torch.manual_seed(0)
    fu = design_lowpass_filter(6 * up, cutoff=3.0, width=2.0, fs=8 * up) if up > 1 else None
    fd = design_lowpass_filter(6 * down, cutoff=3.0, width=2.0, fs=8 * up) if down > 1 else None
    x = torch.randn(2, 4, 20, 20) * 3
    b = torch.randn(4)
    _compare(
        lambda x, b: filtered_lrelu(
            x, fu, fd, b, up=up, down=down, padding=padding, gain=math.sqrt(2), slope=0.2, clamp=4.0
        ),
        [x, b],
        dtype,
    )


@pytest.mark.parametrize("slope,clamp,gain", [(0.2, 1.5, math.sqrt(2)), (0.0, None, 2.0), (1.0, 0.8, 1.0)])
@pytest.mark.parametrize("inplace", [False, True])
def test_act_clamp_second_order(slope, clamp, gain, inplace):
    """The fused activation keeps only its output, yet gradients of gradients (R1, path length)
    match the composition of autograd's own ops."""
    torch.manual_seed(0)
    x0 = torch.randn(3, 4, 5, 5, dtype=torch.float64)
    w0 = torch.randn(4, 1, 1, dtype=torch.float64)
    probe = torch.randn(3, 4, 5, 5, dtype=torch.float64)
    results = []
    for fused in (False, True):
        x = x0.clone().requires_grad_(True)
        w = w0.clone().requires_grad_(True)
        pre = x * w * 2  # a fresh tensor, as the fast paths give it
        if fused:
            y = act_clamp(pre, slope, clamp, gain, inplace=inplace)
        else:
            y = torch.nn.functional.leaky_relu(pre, slope) * gain
            y = y if clamp is None else y.clamp(-clamp, clamp)
        (dx,) = torch.autograd.grad((y * probe).sum(), x, create_graph=True)
        (dw,) = torch.autograd.grad((dx**2).sum(), w)
        results.append((y.detach(), dx.detach(), dw))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
    assert torch.autograd.gradgradcheck(
        lambda t: act_clamp(t * 1.0, slope, clamp, gain, inplace=inplace), (x0.clone().requires_grad_(True),)
    )
