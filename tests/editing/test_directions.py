import warnings

import pytest
import torch

from stylegan.editing import directions as D
from stylegan.editing.styles import affine_weights, style_layers
from stylegan.errors import StyleganWarning, UserError


def _same_up_to_sign(a, b, atol=1e-4):
    return all(torch.allclose(x, y, atol=atol) or torch.allclose(x, -y, atol=atol) for x, y in zip(a, b))


def test_sefa_returns_the_right_singular_vectors_of_a_known_affine_weight():
    g = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(12, 6, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    s = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    A = (u * s) @ v.T  # [12 channels, w_dim 6]
    vectors, eigenvalues = D.sefa_vectors([A[:5], A[5:]], normalize=False)  # two layers stacked
    assert _same_up_to_sign(vectors.double(), v.T)
    assert torch.allclose(eigenvalues.double(), s.square(), rtol=1e-5)
    # row normalisation (the official code) changes nothing when the rows already have one length
    B = torch.eye(6, dtype=torch.float64)[[0, 1, 2, 3, 4, 5, 0, 1]] * 3.0
    vectors_b, values_b = D.sefa_vectors([B], normalize=True)
    assert torch.allclose(values_b[:2], torch.tensor([2.0, 2.0])) and torch.allclose(values_b[2:], torch.ones(4))


def test_sefa_on_a_network_factorises_the_chosen_layers(G8):
    d = D.sefa(G8, layers=[0, 1], num_components=3, scale_samples=50)
    chosen = [s for s in style_layers(G8) if s.ws_index in (0, 1)]
    A = torch.cat([w / w.norm(dim=1, keepdim=True) for w in affine_weights(G8, chosen)]).double()
    evals, evecs = torch.linalg.eigh(A.T @ A)
    assert _same_up_to_sign(d.vectors.double(), evecs.T.flip(0)[:3])
    assert d.layers == [0, 1] and d.space == "w" and d.method == "sefa" and len(d.info["style_layers"]) == 3
    assert torch.allclose(d.vectors @ d.vectors.T, torch.eye(3), atol=1e-5)


def test_ganspace_of_a_linear_generator_equals_the_pca_of_its_images():
    g = torch.Generator().manual_seed(1)
    cov_sqrt = torch.diag(torch.tensor([3.0, 2.0, 1.0, 0.5])) @ torch.linalg.qr(torch.randn(4, 4, generator=g))[0]
    w = torch.randn(20000, 4, generator=g) @ cov_sqrt
    d = D.ganspace(w, 3)
    assert torch.allclose(d.scales, torch.tensor([3.0, 2.0, 1.0]), rtol=0.05)
    basis, _ = torch.linalg.qr(torch.randn(10, 4, generator=g))  # images = basis @ w: linear, isometric
    images = w @ basis.T
    d_img = D.ganspace(images, 3)
    assert _same_up_to_sign(d_img.vectors, d.vectors @ basis.T, atol=1e-3)
    assert torch.allclose(d_img.scales, d.scales, rtol=1e-4)


def test_find_ganspace_of_a_linear_mapping(G8):
    class Linear(torch.nn.Module):
        def __init__(self, M, num_ws):
            super().__init__()
            self.M, self.num_ws = M, num_ws

        def forward(self, z, c=None, truncation_psi=1.0, **kw):
            return (z @ self.M.T)[:, None].expand(-1, self.num_ws, -1)

    M = torch.diag(torch.tensor([4.0, 3.0, 2.0, 1.0, 0.5, 0.4, 0.3, 0.2]))[torch.randperm(8)]
    import copy

    G = copy.deepcopy(G8)
    G.mapping = Linear(M, G.num_ws)
    d = D.find_ganspace(G, samples=20000, components=2)
    evals, evecs = torch.linalg.eigh(M @ M.T)
    assert _same_up_to_sign(d.vectors, evecs.T.flip(0)[:2], atol=0.02)
    assert torch.allclose(d.scales, torch.tensor([4.0, 3.0]), rtol=0.05)


def test_interfacegan_recovers_a_planted_boundary():
    g = torch.Generator().manual_seed(2)
    latents = torch.randn(5000, 16, generator=g)
    normal = torch.nn.functional.normalize(torch.randn(16, generator=g), dim=0)
    scores = latents @ normal + 0.05 * torch.randn(5000, generator=g)
    d = D.interfacegan(latents, scores, keep=0.05, name="planted")
    assert float(d.vectors[0] @ normal) > 0.98  # positive strengths raise the score
    assert d.scales[0] == pytest.approx(1.0, abs=0.05)  # unit variance along any direction
    assert d.info["svm_train_accuracy"] == 1.0 and d.names == ["planted"]
    with pytest.raises(UserError, match="one score per latent"):
        D.interfacegan(latents, scores[:10])
    with pytest.raises(UserError, match="every score is the same"):
        D.interfacegan(latents, torch.zeros(5000))
    with pytest.raises(UserError, match="overlap"):
        D.interfacegan(latents, (torch.arange(5000) % 3).float(), keep=0.5)
    labels = D.interfacegan(latents, (latents @ normal > 0).float())  # two values: labels, every sample used
    assert labels.info["positives"] + labels.info["negatives"] == 5000 and float(labels.vectors[0] @ normal) > 0.95


def test_conditioning_removes_the_other_directions():
    g = torch.Generator().manual_seed(3)
    a, b, c = (torch.nn.functional.normalize(torch.randn(10, generator=g), dim=0) for _ in range(3))
    out = D.condition(a, [b, c])
    assert out.norm() == pytest.approx(1.0) and abs(float(out @ b)) < 1e-6 and abs(float(out @ c)) < 1e-6
    assert float(out @ a) > 0
    one = D.condition(a, [b])  # Eq. 4: (n1 - (n1.n2) n2) / |...|
    expected = torch.nn.functional.normalize(a - (a @ b) * b, dim=0)
    assert torch.allclose(one, expected, atol=1e-6)
    with pytest.raises(UserError, match="span"):
        D.condition(b, [b])
    with pytest.raises(UserError, match="one or two"):
        D.condition(a, [b, c, a])


def test_stylespace_finds_the_planted_channel():
    g = torch.Generator().manual_seed(4)
    styles = torch.randn(1000, 30, generator=g)
    positive, negative = torch.randn(10, 30, generator=g), torch.randn(10, 30, generator=g)
    positive[:, 7] += 4.0
    negative[:, 12] += 3.0
    d = D.stylespace(styles, positive, negative, num_channels=2, name="x")
    assert d.info["channels"] == [7, 12] and d.space == "s"
    assert d.vectors[0, 7] == 1.0 and d.vectors[1, 12] == -1.0 and d.vectors.abs().sum() == 2


def test_stylespace_names_the_layers_of_a_network(G8):
    layers = style_layers(G8)
    styles = torch.randn(200, 40)
    positive, negative = torch.zeros(3, 40), torch.zeros(3, 40)
    positive[:, 26] = 5.0  # b8.conv1.affine channel 2, reads ws 2
    d = D.stylespace(styles, positive, negative, G8, num_channels=1, name="a")
    assert d.names == ["a:b8.conv1.affine[2]"] and d.layers == [2] and layers[3].offset == 24
    d2 = D.stylespace(styles, positive, negative, G8, num_channels=1, layers=[0])  # search only ws 0
    assert d2.info["channels"][0] < 8


def test_direction_files_round_trip_and_bad_files(tmp_path, G8):
    d = D.sefa(G8, num_components=2, scale_samples=0)
    path = D.save_direction(d, tmp_path / "d.safetensors")
    back = D.load_direction(path)
    assert torch.equal(back.vectors, d.vectors) and back.names == d.names and back.fingerprint == d.fingerprint
    assert back.info["eigenvalues"] == d.info["eigenvalues"] and back.layers is None
    assert d.fingerprint == D.network_fingerprint(G8)
    (tmp_path / "text.safetensors").write_text("not a direction")
    from safetensors.torch import save_file

    save_file({"vectors": torch.zeros(1, 8)}, str(tmp_path / "other.safetensors"), metadata={"format": "x"})
    bad = dict(format=D.FORMAT, method="sefa", space="w", names='["a"]', layers="null", info="{}")
    save_file(
        {"vectors": torch.full((1, 8), float("nan")), "scales": torch.ones(1)},
        str(tmp_path / "nan.safetensors"),
        metadata=bad,
    )
    save_file(
        {"vectors": torch.ones(1, 8), "scales": torch.ones(1)},
        str(tmp_path / "layers.safetensors"),
        metadata={**bad, "layers": '"0-3"'},
    )
    for name, match in [
        ("missing", "not found"),
        ("text", "not a readable"),
        ("other", "not a direction"),
        ("nan", "NaN"),
        ("layers", "layers"),
    ]:
        with pytest.raises(UserError, match=match):
            D.load_direction(tmp_path / f"{name}.safetensors")


def test_directions_check_the_network(G8):
    import copy

    d = D.sefa(G8, num_components=1, scale_samples=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.check_network(G8)  # the network it came from: silent
    other = copy.deepcopy(G8)
    with torch.no_grad():
        next(other.synthesis.parameters()).add_(1)
    with pytest.warns(StyleganWarning, match="another network"):
        d.check_network(other)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.check_network(other, also=(d.fingerprint,))
    wrong = D.Direction(torch.ones(1, 5), torch.ones(1), "w", "sefa", ["x"])
    with pytest.raises(UserError, match="5 dimensions"):
        wrong.check_network(G8)
    with pytest.raises(UserError, match="no vector"):
        d.index("pc9")


def test_probe_classifier_scores_and_names():
    score = D.probe_classifier("hair_color=ginger")
    assert score(torch.zeros(2, 3, 32, 32)).shape == (2,)
    with pytest.raises(UserError, match="unknown toyfaces factor"):
        D.probe_classifier("beard")
    with pytest.raises(UserError, match="categorical"):
        D.probe_classifier("hair_color")
    with pytest.raises(UserError, match="without a value"):
        D.probe_classifier("smile=yes")


def test_ganspace_on_the_activations_of_a_linear_generator_finds_the_pca_of_w():
    """A generator whose layer is linear in w (y = w B^T + b, B with orthonormal columns): PCA of the
    activations, regressed back to w, gives the PCA directions of w (GANSpace Section 2)."""
    g = torch.Generator().manual_seed(6)
    scale = torch.diag(torch.tensor([3.0, 2.0, 1.0, 0.5, 0.25]))
    w = torch.randn(5000, 5, generator=g) @ scale @ torch.linalg.qr(torch.randn(5, 5, generator=g))[0]
    basis, _ = torch.linalg.qr(torch.randn(40, 5, generator=g))
    features = (w @ basis.T + torch.randn(40, generator=g)).reshape(5000, 10, 2, 2)  # any feature-map shape
    d = D.ganspace_from_features(w, features, 3)
    assert _same_up_to_sign(d.vectors, D.ganspace(w, 3).vectors, atol=1e-4)
    assert torch.allclose(d.scales, D.ganspace(w, 3).scales, rtol=1e-4) and d.info["features"] == 40
    with pytest.raises(UserError, match="one feature row per latent"):
        D.ganspace_from_features(w[:10], features, 3)


def test_find_ganspace_activations_on_a_network(G8):
    d = D.find_ganspace_activations(G8, "b8.conv0", samples=200, components=3)
    assert d.info["layer"] == "synthesis.b8.conv0" and len(d) == 3 and d.space == "w"
    assert torch.allclose(d.vectors.norm(dim=1), torch.ones(3), atol=1e-5)
    with pytest.raises(UserError, match="no layer named"):
        D.find_ganspace_activations(G8, "b99.conv0", samples=10)
