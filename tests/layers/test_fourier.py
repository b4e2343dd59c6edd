import math

import torch

from stylegan.layers.fourier import FourierFeatureInput


def features(layer, transform=None, w=None):
    if transform is not None:
        layer.transform.copy_(transform)
    with torch.no_grad():
        return layer(torch.randn(2, layer.w_dim) if w is None else w)


def make_layer(size=20, sampling_rate=16, bandwidth=2.0):
    torch.manual_seed(1)
    return FourierFeatureInput(w_dim=8, channels=6, size=size, sampling_rate=sampling_rate, bandwidth=bandwidth)


def test_shape_initialisation_and_frequency_band():
    layer = make_layer()
    x = features(layer)
    assert x.shape == (2, 6, 20, 20)
    assert torch.equal(layer.affine.weight, torch.zeros(4, 8))  # w starts without effect...
    assert torch.equal(layer.affine.bias, torch.tensor([1.0, 0, 0, 0]))  # ...and the identity
    assert layer.freqs.norm(dim=1).max() <= layer.bandwidth
    assert layer.phases.abs().max() <= 0.5


def test_translation_by_one_pixel_shifts_the_features():
    """transform[:2, 2] = -t moves the content by +t (units of sampling_rate pixels; x right, y down)."""
    layer = make_layer()
    w = torch.randn(2, 8)
    base = features(layer, torch.eye(3), w)
    m = torch.eye(3)
    m[0, 2] = -1 / layer.sampling_rate  # one pixel to the right
    m[1, 2] = -2 / layer.sampling_rate  # two pixels down
    moved = features(layer, m, w)
    torch.testing.assert_close(moved[:, :, 2:, 1:], base[:, :, :-2, :-1], atol=2e-5, rtol=0)


def test_rotation_by_90_degrees_rotates_the_features_counter_clockwise():
    layer = make_layer()
    w = torch.randn(2, 8)
    base = features(layer, torch.eye(3), w)
    m = torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # inverse of a +90 degree rotation
    rotated = features(layer, m, w)
    torch.testing.assert_close(rotated, torch.rot90(base, 1, dims=(2, 3)), atol=2e-5, rtol=0)


def test_w_rotation_and_translation_compose_with_the_user_transform():
    """affine(w) = (r_c, r_s, t_x, t_y) acts like a user transform rotation(r) @ translation(-t)."""
    layer = make_layer()
    w = torch.zeros(2, 8)
    angle, tx, ty = 0.3, 0.05, -0.1
    with torch.no_grad():
        layer.affine.bias.copy_(torch.tensor([math.cos(angle) * 3, math.sin(angle) * 3, tx * 3, ty * 3]))
    from_w = features(layer, torch.eye(3), w)  # (r_c, r_s) normalised; t scaled by the same norm
    with torch.no_grad():
        layer.affine.bias.copy_(torch.tensor([1.0, 0, 0, 0]))
    c, s = math.cos(angle), math.sin(angle)
    rot = torch.tensor([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    shift = torch.tensor([[1, 0, -tx], [0, 1, -ty], [0, 0, 1.0]])
    from_user = features(layer, rot @ shift, w)
    torch.testing.assert_close(from_w, from_user, atol=1e-5, rtol=0)


def test_frequencies_beyond_nyquist_are_faded_out():
    """Scaling up the input (a zoom-in transform) pushes every frequency past sampling_rate / 2."""
    layer = make_layer(bandwidth=2.0, sampling_rate=16)
    m = torch.diag(torch.tensor([10.0, 10.0, 1.0]))
    with torch.no_grad():
        layer.weight.copy_(torch.eye(6))  # see the raw sinusoids
    x = features(layer, m)
    freqs = (layer.freqs @ m[:2, :2]).norm(dim=1)
    assert (freqs > 8).any()
    assert x[:, freqs > 8].abs().max() == 0
