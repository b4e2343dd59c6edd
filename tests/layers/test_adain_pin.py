import math

import pytest
import torch
import torch.nn.functional as F

from stylegan.layers.adain import InstanceNorm, LayerEpilogue, NoiseInjection, StyleModulation, make_normalization
from stylegan.layers.pin import (
    DEFAULT_GATE_INIT,
    GateSchedule,
    PixelInstanceNorm,
    gate_values,
    pin_layers,
    project_gates_,
)
from stylegan.layers.wscale import WScaleConv2d, WScaleDense
from stylegan.ops.norm import instance_norm, pixel_norm

# --- Pixel-Instance Normalization ---------------------------------------------------------


def test_pin_equals_instance_norm_at_p0_and_pixel_norm_at_p1_exactly():
    x = torch.randn(3, 6, 8, 8) * 4 + 1
    pin = PixelInstanceNorm(6, gate_init=0.0)
    assert torch.equal(pin(x), instance_norm(x))
    pin = PixelInstanceNorm(6, gate_init=1.0)
    assert torch.equal(pin(x), pixel_norm(x))


def test_pin_mixes_per_channel():
    x = torch.randn(2, 4, 5, 5)
    pin = PixelInstanceNorm(4)
    with torch.no_grad():
        pin.gate.copy_(torch.tensor([0.0, 0.3, 0.7, 1.0]))
    p = pin.gate.reshape(1, -1, 1, 1)
    torch.testing.assert_close(pin(x), p * pixel_norm(x) + (1 - p) * instance_norm(x))
    assert pin.gate.shape == (4,) and PixelInstanceNorm(4).gate[0].item() == DEFAULT_GATE_INIT


def test_gate_gets_gradient_and_projection_keeps_it_in_unit_interval():
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), PixelInstanceNorm(4, gate_init=0.5))
    opt = torch.optim.SGD(net.parameters(), lr=100.0)  # a huge step pushes gates far out of [0, 1]
    loss = (net(torch.randn(2, 3, 6, 6)) * torch.randn(2, 4, 6, 6)).sum()
    loss.backward()
    assert net[1].gate.grad is not None and net[1].gate.grad.abs().sum() > 0
    opt.step()
    assert ((net[1].gate < 0) | (net[1].gate > 1)).any()
    assert project_gates_(net) == 1
    assert net[1].gate.min() >= 0 and net[1].gate.max() <= 1
    assert len(pin_layers(net)) == 1 and list(gate_values(net)) == ["1"]


def test_projection_onto_sub_interval_and_bad_values():
    pin = PixelInstanceNorm(3)
    with torch.no_grad():
        pin.gate.copy_(torch.tensor([-1.0, 0.5, 2.0]))
    pin.project_(0.2, 0.6)
    assert pin.gate.tolist() == pytest.approx([0.2, 0.5, 0.6])
    with pytest.raises(ValueError):
        PixelInstanceNorm(3, gate_init=1.5)
    with pytest.raises(ValueError):
        pin.project_(-0.1, 1.0)


def test_gate_schedule_bounds_and_projection():
    sched = GateSchedule(start_kimg=100, end_kimg=300, high_start=0.0)  # IN first, PN let in gradually
    assert sched.bounds(0) == (0.0, 0.0)
    assert sched.bounds(200) == pytest.approx((0.0, 0.5))
    assert sched.bounds(1000) == (0.0, 1.0)
    pin = PixelInstanceNorm(2, gate_init=0.9)
    assert sched.project_(pin, 200) == 1
    assert pin.gate.tolist() == pytest.approx([0.5, 0.5])
    to_pn = GateSchedule(0, 10, low_end=1.0)
    assert to_pn.bounds(10) == (1.0, 1.0)
    assert GateSchedule().bounds(5) == (0.0, 1.0)  # the default: free in [0, 1]
    with pytest.raises(ValueError):
        GateSchedule(10, 5)
    with pytest.raises(ValueError):
        GateSchedule(0, 1, low_start=0.8, high_start=0.2)


# --- AdaIN epilogue ----------------------------------------------------------------------


def test_noise_injection_modes():
    layer = NoiseInjection(3, 4)
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(layer(x, "random"), x)  # weight starts at 0
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([1.0, 2.0, 0.0]))
    y = layer(x, "const")
    torch.testing.assert_close(y, x + layer.noise_const[None, None] * layer.weight.reshape(1, -1, 1, 1))
    assert torch.equal(layer(x, "none"), x)
    torch.manual_seed(3)
    a = layer(x, "random")
    torch.manual_seed(3)
    assert torch.equal(layer(x, "random"), a)
    # One noise map per sample, shared by the channels.
    d = (a - x)[:, :2] / layer.weight[:2].reshape(1, -1, 1, 1)
    torch.testing.assert_close(d[:, 0], d[:, 1])
    assert not torch.allclose(d[0, 0], d[1, 0])
    with pytest.raises(ValueError):
        layer(x, "sometimes")


def test_style_modulation_is_x_times_scale_plus_one_plus_bias():
    mod = StyleModulation(3, 5)
    x, w = torch.randn(2, 3, 4, 4), torch.randn(2, 5)
    style = F.linear(w, mod.affine.weight / math.sqrt(5), mod.affine.bias)
    expected = x * (style[:, :3, None, None] + 1) + style[:, 3:, None, None]
    torch.testing.assert_close(mod(x, w), expected)


@pytest.mark.parametrize("normalization", ["instance", "pin"])
def test_epilogue_order_noise_bias_lrelu_norm_style(normalization):
    torch.manual_seed(0)
    epi = LayerEpilogue(4, 6, 8, normalization=normalization, gate_init=0.25)
    with torch.no_grad():
        epi.noise.weight.normal_()
        epi.bias.normal_()
    x, w = torch.randn(2, 4, 8, 8), torch.randn(2, 6)
    y = x + epi.noise.noise_const[None, None] * epi.noise.weight.reshape(1, -1, 1, 1)
    y = F.leaky_relu(y + epi.bias.reshape(1, -1, 1, 1), 0.2)
    if normalization == "instance":
        y = instance_norm(y)
    else:
        y = 0.25 * pixel_norm(y) + 0.75 * instance_norm(y)
    y = epi.style(y, w)
    torch.testing.assert_close(epi(x, w, "const"), y)


def test_make_normalization():
    assert isinstance(make_normalization("instance", 3), InstanceNorm)
    assert isinstance(make_normalization("pin", 3, 0.1), PixelInstanceNorm)
    with pytest.raises(ValueError, match="normalization"):
        make_normalization("batch", 3)
    x = torch.randn(1, 2, 3, 3)
    assert torch.equal(InstanceNorm()(x), instance_norm(x))


# --- Equalized layers with the gain on the weight -----------------------------------------


def test_wscale_dense_gain_inside_and_lr_multiplier():
    layer = WScaleDense(8, 3, gain=math.sqrt(2), lr_multiplier=0.01, activation="lrelu")
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(5, 8)
    w = layer.weight * math.sqrt(2) / math.sqrt(8) * 0.01
    expected = F.leaky_relu(x @ w.t() + layer.bias * 0.01, 0.2)
    torch.testing.assert_close(layer(x), expected)
    assert layer.weight.std() > 10  # stored as N(0, 1 / lr_mul)


@pytest.mark.parametrize("resample", [None, "up", "down"])
def test_wscale_conv_fused_equals_separate(resample):
    """Fused upsampling (the official conv2d_transpose) equals the separate path with the kernel
    rotated by 180 degrees; see tests/models/test_stylegan1_fused_scale.py."""
    torch.manual_seed(0)
    plain = WScaleConv2d(3, 4, 3, activation="lrelu", resample=resample, fused=False)
    fused = WScaleConv2d(3, 4, 3, activation="lrelu", resample=resample, fused=True)
    state = plain.state_dict()
    if resample == "up":
        state["weight"] = state["weight"].flip([2, 3])
    fused.load_state_dict(state)
    x = torch.randn(2, 3, 8, 8)
    out = plain(x)
    size = {None: 8, "up": 16, "down": 4}[resample]
    assert out.shape == (2, 4, size, size)
    torch.testing.assert_close(fused(x), out, rtol=1e-5, atol=1e-5)
    if resample is None:
        ref = F.leaky_relu(F.conv2d(x, plain.weight * math.sqrt(2) / math.sqrt(27), plain.bias, padding=1), 0.2)
        torch.testing.assert_close(out, ref)
    with pytest.raises(ValueError):
        WScaleConv2d(3, 4, 3, resample="sideways")
