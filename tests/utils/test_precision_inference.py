"""bfloat16 inference (``stylegan.utils.precision.prepare_inference``): close to float32 for every preset,
weights cast once, the float32 network untouched, ``--precision`` resolved and refused as documented."""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from stylegan.errors import UserError
from stylegan.models.configs import build_preset
from stylegan.ops.modulated_conv2d import modulated_conv2d
from stylegan.ops.upfirdn2d import setup_filter, upfirdn2d
from stylegan.utils import precision
from stylegan.utils.precision import prepare_inference, resolve_inference_precision

PRESETS = ["stylegan1", "stylegan1-pin", "stylegan2", "stylegan3-t", "stylegan3-r"]


def _small(preset: str) -> torch.nn.Module:
    """A 32 px network (StyleGAN2 up-convolutions, StyleGAN3 upsampling by 2 and 4) with non-zero noise
    strengths, so that the noise inputs are part of what is compared."""
    torch.manual_seed(0)
    G = build_preset(preset, 32, channel_base=1024, channel_max=32, map_layers=2, z_dim=32, w_dim=32).build()[0]
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength") or name.endswith("noise.weight"):
                p.normal_(0, 0.2)
    return G.eval()


def _relative_rms(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).square().mean().sqrt() / b.square().mean().sqrt()).item()


@pytest.mark.parametrize("preset", PRESETS)
def test_bfloat16_inference_is_close_to_float32(preset):
    """bfloat16 keeps 8 bits of mantissa (unit roundoff 2^-9 = 0.2 %); rounding every layer's weights and
    activations, over 7-16 layers, leaves a relative RMS error of a few per cent on these small random
    networks (measured 0.7-3.7 %, StyleGAN3-T the largest, with bfloat16 autocast alike). The bound is 5 %,
    and the error must also stay within 1.5x of torch's own bfloat16 autocast (which rounds only the
    convolutions' operands and keeps every elementwise op in float32)."""
    G = _small(preset)
    Gb = prepare_inference(G, "bf16")
    z = torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(1))
    c = torch.zeros(4, G.c_dim)
    with torch.no_grad():
        ws = G.mapping(z, c, truncation_psi=0.7)
        assert torch.equal(Gb.mapping(z, c, truncation_psi=0.7), ws)  # the mapping stays float32
        reference = G.synthesis(ws, noise_mode="const")
        img = Gb.synthesis(ws, noise_mode="const")
        one = Gb.synthesis(ws[:1], noise_mode="const")  # batch 1 takes other modconv forms
        with torch.autocast("cpu", dtype=torch.bfloat16):
            autocast = G.synthesis(ws, noise_mode="const").float()
    assert img.dtype == torch.float32 and img.shape == reference.shape
    error, error_autocast = _relative_rms(img, reference), _relative_rms(autocast, reference)
    assert error < 0.05, error
    assert error < 1.5 * error_autocast, (error, error_autocast)
    assert _relative_rms(one, reference[:1]) < 0.05
    assert torch.isfinite(img).all()


class _ParameterCasts(TorchDispatchMode):
    """Counts the dtype conversions (``aten._to_copy``) whose input is one of ``tensors``."""

    def __init__(self, tensors):
        super().__init__()
        self.pointers = {t.data_ptr() for t in tensors}
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._to_copy.default and args[0].data_ptr() in self.pointers:
            self.count += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("preset", PRESETS)
def test_weights_are_cast_once(preset):
    """After preparation the synthesis weights are bfloat16 and a forward pass converts no parameter;
    bfloat16 autocast on the float32 network converts the frozen weights on every call."""
    G = _small(preset)
    Gb = prepare_inference(G, "bf16")
    convs = [p for n, p in Gb.synthesis.named_parameters() if p.ndim == 4]
    assert convs and all(p.dtype == torch.bfloat16 and not p.requires_grad for p in convs)
    assert all(p.dtype == torch.float32 for p in Gb.mapping.parameters())
    assert all(p.dtype == torch.float32 for n, p in Gb.synthesis.named_parameters() if ".affine." in n)
    z, c = torch.randn(2, G.z_dim), torch.zeros(2, G.c_dim)
    with torch.no_grad():
        Gb(z, c, noise_mode="const")  # the first call may compute per-weight constants once
        with _ParameterCasts(list(Gb.parameters())) as casts:
            Gb(z, c, noise_mode="const")
        assert casts.count == 0
        with _ParameterCasts(list(G.synthesis.parameters())) as casts, torch.autocast("cpu", dtype=torch.bfloat16):
            G(z, c, noise_mode="const")
        assert casts.count > 0  # what the count would show for per-call casts


def test_float32_is_the_network_itself_and_preparing_leaves_it_untouched():
    G = _small("stylegan2")
    z, c = torch.randn(2, G.z_dim), torch.zeros(2, G.c_dim)
    with torch.no_grad():
        before = G(z, c, noise_mode="const")
        state = {k: v.clone() for k, v in G.state_dict().items()}
        assert prepare_inference(G, "fp32") is G
        prepare_inference(G, "bf16")
        after = G(z, c, noise_mode="const")
    assert torch.equal(before, after)
    assert all(torch.equal(v, G.state_dict()[k]) and v.dtype == G.state_dict()[k].dtype for k, v in state.items())


def test_projection_gradients_flow_through_a_bfloat16_network():
    Gb = prepare_inference(_small("stylegan2"), "bf16")
    ws = Gb.mapping(torch.randn(1, Gb.z_dim), torch.zeros(1, 0)).detach().requires_grad_(True)
    Gb.synthesis(ws, noise_mode="const").square().mean().backward()
    assert ws.grad is not None and torch.isfinite(ws.grad).all() and ws.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "up, down, taps, padding",
    [(2, 1, 12, (-3, 2, 5, -1)), (4, 1, 24, 0), (2, 2, 12, 3), ((2, 1), 1, 8, 1)],
)
@pytest.mark.parametrize("separable", [True, False])
def test_bfloat16_upsampling_equals_the_float32_fast_path(up, down, taps, padding, separable):
    """The bfloat16 upsampling (zero insertion, strided convolutions) computes what the float32 transposed
    convolution computes, on the same bfloat16-rounded input and taps: to float32 rounding of the sums plus
    one bfloat16 rounding of the output (and of the intermediate row pass when separable)."""
    f = setup_filter(torch.hann_window(taps + 2)[1:-1], separable=separable).to(torch.bfloat16).float()
    x = torch.randn(2, 5, 11, 9).to(torch.bfloat16)
    expected = upfirdn2d(x.double(), f.double(), up=up, down=down, padding=padding)
    actual = upfirdn2d(x, f, up=up, down=down, padding=padding)
    assert actual.dtype == torch.bfloat16 and actual.shape == expected.shape
    assert (actual.double() - expected).abs().max() <= 2 * 2**-8 * expected.abs().max()


@pytest.mark.parametrize("batch", [1, 3])
def test_bfloat16_1x1_modulated_convolution_is_the_same_product(batch):
    """The batched matrix product of 1x1 layers equals Eq. 1-3 (float64 reference on the same inputs)."""
    x = torch.randn(batch, 6, 5, 4).to(torch.bfloat16)
    weight = torch.randn(7, 6, 1, 1).to(torch.bfloat16)
    styles, noise, gain = torch.randn(batch, 6), torch.randn(batch, 1, 5, 4), torch.rand(6) + 0.5
    for demodulate in (True, False):
        expected = modulated_conv2d(
            x.double(),
            weight.double(),
            styles.double(),
            noise.double(),
            demodulate=demodulate,
            input_gain=gain.double(),
        )
        actual = modulated_conv2d(x, weight, styles, noise, demodulate=demodulate, input_gain=gain)
        assert actual.dtype == torch.bfloat16
        assert (actual.double() - expected).abs().max() <= 4 * 2**-8 * expected.abs().max()


def test_frozen_demodulation_energy_follows_changes_of_the_weight():
    """The per-weight constant of frozen bfloat16 weights is recomputed when the weight changes in place."""
    x = torch.randn(2, 4, 6, 6).to(torch.bfloat16)
    weight = torch.randn(3, 4, 3, 3).to(torch.bfloat16)
    styles = torch.randn(2, 4)
    first = modulated_conv2d(x, weight, styles, padding=1)
    with torch.no_grad():
        weight[0].mul_(3)
    second = modulated_conv2d(x, weight, styles, padding=1)
    expected = modulated_conv2d(x.double(), weight.double(), styles.double(), padding=1)
    assert (second.double() - expected).abs().max() <= 4 * 2**-8 * expected.abs().max()
    assert not torch.equal(first, second)


def test_resolve_inference_precision(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert resolve_inference_precision("auto", "cpu") == "bf16"
    assert resolve_inference_precision("auto", "cuda") == "fp32"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert resolve_inference_precision("auto", "cpu") == "fp32"
    assert resolve_inference_precision("bf16", "cpu") == "bf16"
    assert resolve_inference_precision("fp32", "cuda") == "fp32"
    with pytest.raises(UserError, match="bf16 is bfloat16 inference on the CPU"):
        resolve_inference_precision("bf16", "cuda")
    with pytest.raises(UserError, match="must be one of fp32, bf16, auto"):
        resolve_inference_precision("fp16", "cpu")


def test_auto_takes_bfloat16_only_for_networks_where_it_was_measured_faster(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    G = _small("stylegan2")
    weights = sum(p.numel() for p in G.synthesis.parameters() if p.ndim == 4)
    assert weights < precision.AUTO_BF16_MIN_CONV_WEIGHTS
    assert resolve_inference_precision("auto", "cpu", G) == "fp32"
    assert resolve_inference_precision("bf16", "cpu", G) == "bf16"  # asked for: given
    monkeypatch.setattr(precision, "AUTO_BF16_MIN_CONV_WEIGHTS", weights)
    assert resolve_inference_precision("auto", "cpu", G) == "bf16"
