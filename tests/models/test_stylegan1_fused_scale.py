"""StyleGAN (v1) fused resampling convolutions (``fused_scale=True``, official default from 128 px
on) against an independent transcription of the official TensorFlow op sequence
(NVlabs/stylegan ``training/networks_stylegan.py``: ``get_weight``, ``upscale2d_conv2d``,
``conv2d_downscale2d``, ``blur2d``) written as plain numpy loops in float64.

TF semantics transcribed: ``tf.nn.conv2d`` (NCHW, 'SAME', filter [kh, kw, in, out]) is a
correlation whose 'SAME' padding is pad_total = max((out - 1) * stride + k - in, 0), pad_before =
pad_total // 2; ``tf.nn.conv2d_transpose(x, filter [kh, kw, out, in], output_shape)`` is the gradient
of that conv2d with respect to its input (checked below by the dot-product test): every input pixel
adds the kernel, unflipped, at stride 2 into the output.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch

from stylegan.io.tf_stylegan1 import import_tf_stylegan1, import_tf_stylegan1_discriminator
from stylegan.io.unpickle import load_tf_pickle
from stylegan.layers.wscale import WScaleConv2d
from stylegan.models.stylegan1 import (
    StyleGAN1Discriminator,
    StyleGAN1DiscriminatorConfig,
    StyleGAN1Generator,
    StyleGAN1GeneratorConfig,
)
from stylegan.ops.resample import blur2d, conv_downscale2d, upscale_conv2d
from stylegan.ops.upfirdn2d import setup_filter
from tests.conftest import reference_file

# --------------------------------------------------------------------------------------------
# The official ops, transcribed (numpy, float64, loops)


def _same_pad(size_in: int, size_out: int, k: int, stride: int) -> int:
    return max((size_out - 1) * stride + k - size_in, 0) // 2


def tf_conv2d(x, w, stride=1):
    """tf.nn.conv2d(x, w, strides=[1, 1, s, s], padding='SAME', data_format='NCHW'), w [kh, kw, in, out]."""
    n, _, h, wd = x.shape
    kh, kw, _, o = w.shape
    oh, ow = -(-h // stride), -(-wd // stride)
    pt, pl = _same_pad(h, oh, kh, stride), _same_pad(wd, ow, kw, stride)
    y = np.zeros([n, o, oh, ow])
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    p, q = i * stride + a - pt, j * stride + b - pl
                    if 0 <= p < h and 0 <= q < wd:
                        y[:, :, i, j] += x[:, :, p, q] @ w[a, b]
    return y


def tf_conv2d_transpose(x, w, output_shape, stride):
    """tf.nn.conv2d_transpose(x, w, output_shape, strides=[1, 1, s, s], padding='SAME',
    data_format='NCHW'), w [kh, kw, out, in]: scatter-add of the unflipped kernel."""
    y = np.zeros(output_shape)
    h, wd = output_shape[2:]
    kh, kw = w.shape[:2]
    pt, pl = _same_pad(h, x.shape[2], kh, stride), _same_pad(wd, x.shape[3], kw, stride)
    for i in range(x.shape[2]):
        for j in range(x.shape[3]):
            for a in range(kh):
                for b in range(kw):
                    p, q = i * stride + a - pt, j * stride + b - pl
                    if 0 <= p < h and 0 <= q < wd:
                        y[:, :, p, q] += x[:, :, i, j] @ w[a, b].T
    return y


def tf_get_weight(variable, gain=math.sqrt(2)):
    """get_weight(use_wscale=True, lrmul=1): the variable times gain / sqrt(fan_in), fan_in = kh kw in."""
    return variable * (gain / math.sqrt(np.prod(variable.shape[:-1])))


def tf_summed_kernel(w):
    """The padded four-tap sum of the official fused ops."""
    w = np.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]])
    return w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]


def tf_upscale2d_conv2d(x, w):
    """upscale2d_conv2d(fused_scale=True), w = get_weight(...) [k, k, in, out]."""
    w = tf_summed_kernel(w.transpose(0, 1, 3, 2))  # [4, 4, out, in]
    n, _, h, wd = x.shape
    return tf_conv2d_transpose(x, w, [n, w.shape[2], h * 2, wd * 2], stride=2)


def tf_conv2d_downscale2d(x, w):
    """conv2d_downscale2d(fused_scale=True), w = get_weight(...) [k, k, in, out]."""
    return tf_conv2d(x, tf_summed_kernel(w) * 0.25, stride=2)


def tf_blur2d(x, f=(1, 2, 1)):
    """blur2d: depthwise 'SAME' convolution with the normalised outer product of f."""
    f = np.outer(f, f).astype(np.float64)
    f /= f.sum()
    c = x.shape[1]
    return tf_conv2d(x, f[:, :, None, None] * np.eye(c))


def tf_lrelu(x):
    return np.where(x >= 0, x, 0.2 * x)


def tf_variable(weight: torch.Tensor) -> np.ndarray:
    """Our [out, in, kh, kw] parameter as the official variable [kh, kw, in, out]."""
    return weight.detach().double().numpy().transpose(2, 3, 1, 0)


def assert_matches(actual: torch.Tensor, expected: np.ndarray, rtol: float) -> float:
    actual = actual.detach().double().numpy()
    assert actual.shape == expected.shape
    diff = float(np.abs(actual - expected).max())
    assert diff <= rtol * max(float(np.abs(expected).max()), 1.0), diff
    return diff


# --------------------------------------------------------------------------------------------
# The transcription itself


def test_reference_transpose_is_the_gradient_of_conv2d():
    """<conv2d(y, w), x> == <y, conv2d_transpose(x, w)>: the definition of tf.nn.conv2d_transpose."""
    rng = np.random.default_rng(0)
    for size, k in [(8, 4), (16, 4), (8, 3)]:
        y = rng.standard_normal([2, 3, size, size])
        w = rng.standard_normal([k, k, 3, 5])
        x = rng.standard_normal([2, 5, size // 2, size // 2])
        lhs = np.sum(tf_conv2d(y, w, stride=2) * x)
        rhs = np.sum(y * tf_conv2d_transpose(x, w, y.shape, stride=2))
        assert lhs == pytest.approx(rhs, rel=1e-12)


def test_official_fused_ops_are_the_separate_ops_with_these_kernels():
    """The official fused upsampling is the separate one with the 3x3 kernel rotated by 180
    degrees; the fused downsampling is the separate one with the same kernel."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal([2, 3, 6, 6])
    w = rng.standard_normal([3, 3, 3, 4])
    up = np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)
    np.testing.assert_allclose(tf_upscale2d_conv2d(x, w), tf_conv2d(up, w[::-1, ::-1]), atol=1e-12)
    assert np.abs(tf_upscale2d_conv2d(x, w) - tf_conv2d(up, w)).max() > 0.1
    conv = tf_conv2d(up, w)
    box = conv.reshape(2, 4, 6, 2, 6, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(tf_conv2d_downscale2d(up, w), box, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Ops and layers (float64)

SIZES = [(4, 3, 5), (8, 8, 4), (16, 6, 16)]  # input size, in channels, out channels


@pytest.mark.parametrize(("size", "cin", "cout"), SIZES)
def test_fused_upscale_conv_matches_official(size, cin, cout):
    torch.manual_seed(size)
    x = torch.randn(2, cin, size, size, dtype=torch.float64)
    layer = WScaleConv2d(cin, cout, 3, bias=False, resample="up", fused=True).double()
    w = tf_get_weight(tf_variable(layer.weight))
    expected = tf_upscale2d_conv2d(x.numpy(), w)
    assert_matches(upscale_conv2d(x, torch.from_numpy(w.transpose(3, 2, 0, 1).copy()), fused=True), expected, 1e-12)
    assert_matches(layer(x), expected, 1e-12)
    f = setup_filter([1, 2, 1]).double()
    assert_matches(blur2d(layer(x), f), tf_blur2d(expected), 1e-12)


@pytest.mark.parametrize(("size", "cin", "cout"), [(2 * s, ci, co) for s, ci, co in SIZES])
def test_fused_conv_downscale_matches_official(size, cin, cout):
    torch.manual_seed(size)
    x = torch.randn(2, cin, size, size, dtype=torch.float64)
    layer = WScaleConv2d(cin, cout, 3, activation="lrelu", resample="down", fused=True).double()
    torch.nn.init.normal_(layer.bias)
    w = tf_get_weight(tf_variable(layer.weight))
    expected = tf_conv2d_downscale2d(x.numpy(), w)
    assert_matches(conv_downscale2d(x, torch.from_numpy(w.transpose(3, 2, 0, 1).copy()), fused=True), expected, 1e-12)
    bias = layer.bias.detach().double().numpy()[None, :, None, None]
    assert_matches(layer(x), tf_lrelu(expected + bias), 1e-12)


# --------------------------------------------------------------------------------------------
# Every fused layer of G and D (float32 networks, float64 reference)


def _inputs(modules, run):
    """The input each module of ``modules`` (name -> module) gets during ``run()``."""
    seen = {}
    handles = [
        m.register_forward_pre_hook(lambda _, a, name=name: seen.__setitem__(name, a[0])) for name, m in modules.items()
    ]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in handles:
            h.remove()
    return seen


def _check_generator(G, variables=None) -> float:
    """conv0 of every upsampling block up to its blur (the official ``blur(upscale2d_conv2d(x))``,
    which the layer epilogue then takes); ``variables``: the official weights, when imported."""
    syn = G.synthesis
    layers = {res: syn.block(res).conv0 for res in syn.block_resolutions[1:]}
    assert all(layer.conv.fused for layer in layers.values())
    seen = _inputs(
        {**{("x", r): m for r, m in layers.items()}, **{("y", r): m.epilogue for r, m in layers.items()}},
        lambda: G(torch.randn(2, G.z_dim), None, noise_mode="const"),
    )
    worst = 0.0
    for res, layer in layers.items():
        v = variables[f"{res}x{res}/Conv0_up/weight"] if variables else tf_variable(layer.conv.weight)
        expected = tf_blur2d(tf_upscale2d_conv2d(seen["x", res].double().numpy(), tf_get_weight(np.float64(v))))
        worst = max(worst, assert_matches(seen["y", res], expected, 1e-5))
    return worst


def _check_discriminator(D, variables=None) -> float:
    """conv1 of every downsampling block: lrelu(conv2d_downscale2d(blur(x)) + bias), x = conv0's output."""
    blocks = {res: getattr(D, f"b{res}") for res in D.block_resolutions}
    assert all(b.conv1.fused for b in blocks.values())
    r = D.img_resolution
    xs = _inputs({res: b.conv0 for res, b in blocks.items()}, lambda: D(torch.randn(4, D.img_channels, r, r)))
    worst = 0.0
    for res, b in blocks.items():
        with torch.no_grad():
            h = b.conv0(xs[res])  # not fused: its parity is tested with the official outputs
            y = b(xs[res])
        v = variables[f"{res}x{res}/Conv1_down/weight"] if variables else tf_variable(b.conv1.weight)
        bias = variables[f"{res}x{res}/Conv1_down/bias"] if variables else b.conv1.bias.detach().numpy()
        expected = tf_conv2d_downscale2d(tf_blur2d(h.double().numpy()), tf_get_weight(np.float64(v)))
        worst = max(worst, assert_matches(y, tf_lrelu(expected + bias[None, :, None, None]), 1e-5))
    return worst


def _randomised(net):
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.5)
    return net


@pytest.mark.parametrize("progressive", [False, True])
def test_generator_fused_layers_match_official(progressive):
    # channels 32, 16, 8, 4 at 4, 8, 16, 32 px: a different channel count in every block
    cfg = StyleGAN1GeneratorConfig(
        z_dim=16, w_dim=16, img_resolution=32, fmap_base=64, fmap_max=32, fused_scale=True, progressive=progressive
    )
    _check_generator(_randomised(StyleGAN1Generator(cfg)).eval())


def test_discriminator_fused_layers_match_official():
    cfg = StyleGAN1DiscriminatorConfig(
        img_resolution=32, fmap_base=64, fmap_max=32, fused_scale=True, progressive=False
    )
    _check_discriminator(_randomised(StyleGAN1Discriminator(cfg)).eval())


def test_fused_scale_auto_fuses_from_128_px():
    G = StyleGAN1Generator(StyleGAN1GeneratorConfig(img_resolution=128, fmap_base=64, fmap_max=4, z_dim=8, w_dim=8))
    assert [G.synthesis.block(r).conv0.conv.fused for r in (8, 16, 32, 64, 128)] == [False] * 4 + [True]
    D = StyleGAN1Discriminator(StyleGAN1DiscriminatorConfig(img_resolution=128, fmap_base=64, fmap_max=4))
    assert [getattr(D, f"b{r}").conv1.fused for r in (8, 16, 32, 64, 128)] == [False] * 4 + [True]


# --------------------------------------------------------------------------------------------
# The importer: official weights run through the fused path


def _with_kwargs(net, **kwargs):
    return dataclasses.replace(net, static_kwargs={**net.static_kwargs, **kwargs})


def _fused_case_a(rotate: bool):
    """The official case A pickle as the official code builds it with fused_scale=True in G and
    D; ``rotate``: every Conv0_up kernel rotated by 180 degrees."""
    _, D, Gs = load_tf_pickle(reference_file("sg1_A.pkl"))
    synth = Gs.components["synthesis"]
    variables = dict(synth.variables)
    if rotate:
        variables = {
            k: (np.ascontiguousarray(v[::-1, ::-1]) if k.endswith("Conv0_up/weight") else v)
            for k, v in variables.items()
        }
    synth = dataclasses.replace(_with_kwargs(synth, fused_scale=True), variables=variables)
    Gs = dataclasses.replace(_with_kwargs(Gs, fused_scale=True), components={**Gs.components, "synthesis": synth})
    return Gs, _with_kwargs(D, fused_scale=True)


def test_imported_fused_networks_match_official_ops():
    Gs, D = _fused_case_a(rotate=False)
    G = import_tf_stylegan1(Gs)
    Dn = import_tf_stylegan1_discriminator(D)
    assert G.config.fused_scale is True and Dn.config.fused_scale is True
    _check_generator(G, Gs.components["synthesis"].variables)
    _check_discriminator(Dn, D.variables)


@torch.no_grad()
def test_imported_fused_networks_reproduce_official_outputs():
    """Fused with rotated Conv0_up kernels, the official G computes exactly what it computes
    unfused with the original ones (see above), and fused D what D computes unfused: so the
    official outputs of case A are the outputs of these networks."""
    e = dict(np.load(reference_file("sg1_A_expected.npz")))
    Gs, D = _fused_case_a(rotate=True)
    G = import_tf_stylegan1(Gs)
    Dn = import_tf_stylegan1_discriminator(D)
    z = torch.from_numpy(e["input/z"])
    img = G(z, None, noise_mode="const")
    torch.testing.assert_close(img, torch.from_numpy(e["output/images_G_psi1"]), rtol=0, atol=1e-4)
    scores = Dn(torch.from_numpy(e["input/images"]))
    torch.testing.assert_close(scores, torch.from_numpy(e["output/scores_D_input"]), rtol=0, atol=1e-5)
