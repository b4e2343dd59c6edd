import pytest
import torch
import torch.nn.functional as F

from stylegan.ops.conv2d_resample import conv2d_resample
from stylegan.ops.modulated_conv2d import modulated_conv2d
from stylegan.ops.upfirdn2d import setup_filter, upfirdn2d


def reference_conv_resample(x, w, f, up, down, padding, flip_weight=True):
    """Slow, literal definition: upsample by zero insertion, zero-pad by the total padding once,
    then FIR filter (gain up^2), convolve and downsample, all without further padding."""
    fw = f.shape[-1]
    p0 = p1 = padding
    if up > 1:
        p0, p1 = p0 + (fw + up - 1) // 2, p1 + (fw - up) // 2
    if down > 1:
        p0, p1 = p0 + (fw - down + 1) // 2, p1 + (fw - down) // 2
    x = upfirdn2d(x, None, up=up, padding=[p0, p1, p0, p1])
    if up > 1:
        x = upfirdn2d(x, f, gain=up**2)
    if not flip_weight:
        w = w.flip([2, 3])
    x = F.conv2d(x, w)
    if down > 1:
        x = upfirdn2d(x, f, down=down)
    return x


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("up,down", [(1, 1), (2, 1), (1, 2)])
@pytest.mark.parametrize("flip_weight", [True, False])
def test_conv2d_resample_matches_literal_definition(k, up, down, flip_weight):
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    w = torch.randn(5, 3, k, k, dtype=torch.float64)
    f = setup_filter([1, 3, 3, 1]).double()
    y = conv2d_resample(x, w, f, up=up, down=down, padding=k // 2, flip_weight=flip_weight)
    ref = reference_conv_resample(x, w, f, up, down, k // 2, flip_weight)
    torch.testing.assert_close(y, ref)


@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_fused_equals_unfused_and_per_sample(up, demodulate):
    x = torch.randn(3, 4, 8, 8, dtype=torch.float64)
    weight = torch.randn(6, 4, 3, 3, dtype=torch.float64)
    styles = torch.randn(3, 4, dtype=torch.float64)
    f = setup_filter([1, 3, 3, 1]).double()
    kw = dict(up=up, padding=1, resample_filter=f, demodulate=demodulate, flip_weight=(up == 1))
    a = modulated_conv2d(x, weight, styles, fused_modconv=True, **kw)
    b = modulated_conv2d(x, weight, styles, fused_modconv=False, **kw)
    torch.testing.assert_close(a, b)
    # Per sample, by the equations: w' = s * w; w'' = w' / sqrt(sum w'^2 + 1e-8).
    for i in range(3):
        wi = weight * styles[i].reshape(1, -1, 1, 1)
        if demodulate:
            wi = wi / (wi.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).sqrt()
        ref = conv2d_resample(x[i : i + 1], wi, f, up=up, padding=1, flip_weight=(up == 1))
        torch.testing.assert_close(a[i : i + 1], ref)


def test_demodulated_output_has_unit_scale_for_unit_input():
    torch.manual_seed(1)
    x = torch.randn(4, 64, 16, 16)
    weight = torch.randn(64, 64, 3, 3)
    styles = torch.randn(4, 64) * 5
    y = modulated_conv2d(x, weight, styles, padding=1)
    assert 0.7 < y.std().item() < 1.3


def test_modconv_second_order():
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    styles = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda a, b, c: modulated_conv2d(a, b, c, padding=1), (x, weight, styles))
