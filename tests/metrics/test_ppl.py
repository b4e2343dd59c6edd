import numpy as np
import pytest
import torch
from torch import nn

from stylegan.metrics.ppl import box_downsample, face_crop, filtered_mean, perceptual_path_length, ppl_distances, slerp
from stylegan.metrics.sampling import label_sampler


class LinearGenerator(nn.Module):
    """A 'generator' whose image is a fixed linear map of w, so path lengths are known exactly.

    mapping: w = z (or z scaled to the sphere of radius sqrt(d) with ``normalize``, like the
    StyleGAN mapping's input normalisation), broadcast to 2 ws; synthesis: image = A w as
    [3, 4, 4]. Every mapping input is recorded in the class-level ``seen`` list."""

    seen: list = []

    def __init__(self, d=6, normalize=False):
        super().__init__()
        self.z_dim = self.w_dim = d
        self.c_dim, self.num_ws, self.img_resolution, self.img_channels = 0, 2, 4, 3
        self.normalize = normalize
        self.register_buffer("A", torch.randn(48, d, generator=torch.Generator().manual_seed(1)) / 4)
        self.mapping = self._map
        self.synthesis = Synthesis(self)

    def _map(self, z, c=None, **kwargs):
        LinearGenerator.seen.append(z.detach().clone())
        w = z * (z.shape[1] ** 0.5) / z.norm(dim=1, keepdim=True) if self.normalize else z
        return w[:, None].repeat(1, self.num_ws, 1)


class Synthesis(nn.Module):
    def __init__(self, G):
        super().__init__()
        self.A = G.A

    def forward(self, ws, **kwargs):
        return (ws[:, 0] @ self.A.T).reshape(-1, 3, 4, 4)


def squared_l2(a, b):
    return (a - b).square().flatten(1).sum(1)


def run(G, **kw):
    LinearGenerator.seen.clear()
    labels = label_sampler(G)
    return ppl_distances(G, squared_l2, labels=labels, **kw)


@pytest.mark.parametrize("sampling", ["end", "full"])
def test_w_space_path_length_is_exact_for_a_linear_generator(sampling):
    # lerp in W: img(t + eps) - img(t) = eps A (w1 - w0), so d / eps^2 = |A (w1 - w0)|^2 for every t.
    torch.manual_seed(0)
    G = LinearGenerator()
    dist = run(G, num_samples=40, space="w", sampling=sampling, batch_size=16, epsilon=1e-2)
    z = torch.cat([s for s in LinearGenerator.seen])
    expected = []
    for batch in LinearGenerator.seen:  # each mapping call holds [z0; z1] of one batch
        z0, z1 = batch.chunk(2)
        expected.append(((z1 - z0) @ G.A.T).square().sum(1))
    expected = torch.cat(expected).double().numpy()
    assert z.shape[0] == 80
    np.testing.assert_allclose(dist, expected, rtol=1e-3)


def test_w_space_mean_matches_the_expected_length():
    # E |A (w1 - w0)|^2 = 2 |A|_F^2 for w ~ N(0, I); the filtered mean is close to it.
    torch.manual_seed(1)
    G = LinearGenerator()
    value = perceptual_path_length(G, squared_l2, 4000, label_sampler(G), space="w", sampling="end", batch_size=500)
    assert value == pytest.approx(2 * G.A.square().sum().item(), rel=0.05)


@pytest.mark.parametrize("sampling", ["end", "full"])
def test_z_space_slerp_length_is_the_angle(sampling):
    # With w = sqrt(d) z / |z| and A orthonormal, the image moves along a great circle at speed
    # sqrt(d) * angle(z0, z1): d / eps^2 = d * angle^2. Compare with Monte Carlo angles.
    torch.manual_seed(2)
    d = 6
    G = LinearGenerator(d, normalize=True)
    q, _ = torch.linalg.qr(torch.randn(48, d, generator=torch.Generator().manual_seed(3)))
    G.A.copy_(q)
    value = perceptual_path_length(
        G, squared_l2, 3000, label_sampler(G), space="z", sampling=sampling, batch_size=500, epsilon=1e-3
    )
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal([200000, d]), rng.standard_normal([200000, d])
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    reference = filtered_mean(d * np.arccos(cos) ** 2)
    assert value == pytest.approx(reference, rel=0.04)


def test_slerp_endpoints_and_constant_speed():
    torch.manual_seed(4)
    a, b = torch.randn(5, 8, dtype=torch.float64), torch.randn(5, 8, dtype=torch.float64)
    an, bn = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    torch.testing.assert_close(slerp(a, b, torch.zeros(5, 1, dtype=torch.float64)), an)
    torch.testing.assert_close(slerp(a, b, torch.ones(5, 1, dtype=torch.float64)), bn)
    angle = torch.acos((an * bn).sum(1))
    half = slerp(a, b, torch.full((5, 1), 0.5, dtype=torch.float64))
    torch.testing.assert_close(torch.acos((an * half).sum(1)), angle / 2)


def test_filtered_mean_drops_the_extremes():
    x = np.concatenate([np.ones(996), [1000.0, 1000.0, -1000.0, -1000.0]])
    assert filtered_mean(x) == 1.0
    x = np.arange(1000, dtype=np.float64)
    lo, hi = np.percentile(x, 1, method="lower"), np.percentile(x, 99, method="higher")
    assert filtered_mean(x) == pytest.approx(x[(x >= lo) & (x <= hi)].mean())


def test_crop_and_downsample():
    img = torch.arange(16 * 16, dtype=torch.float32).reshape(1, 1, 16, 16)
    crop = face_crop(img)
    assert crop.shape == (1, 1, 8, 8) and crop[0, 0, 0, 0] == 6 * 16 + 4
    down = box_downsample(img, 4)
    assert down.shape == (1, 1, 4, 4) and down[0, 0, 0, 0] == img[0, 0, :4, :4].mean()
    assert box_downsample(img, 0) is img
    with pytest.raises(ValueError):
        ppl_distances(LinearGenerator(), squared_l2, 2, label_sampler(LinearGenerator()), space="q")
