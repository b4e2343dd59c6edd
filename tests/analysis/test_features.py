import pytest
import torch

from stylegan.analysis.features import (
    FeatureRecorder,
    capture_features,
    default_analysis_layer,
    final_feature_layer,
    list_feature_layers,
    resolve_layer,
    ws_for_seeds,
)
from stylegan.errors import UserError
from stylegan.models import build_preset
from tests.analysis.conftest import tiny_stylegan1


@torch.no_grad()
def test_recorder_captures_named_layers_without_changing_the_model():
    G = tiny_stylegan1()
    ws = ws_for_seeds(G, [0, 1])
    plain = G.synthesis(ws, noise_mode="const")
    seen = {}
    handle = G.synthesis.b16.conv0.register_forward_hook(lambda m, i, o: seen.setdefault("x", o))
    with FeatureRecorder(G, ["b16.conv0", "synthesis.b8"]) as rec:
        img = G.synthesis(ws, noise_mode="const")
    handle.remove()
    assert torch.equal(img, plain)
    assert set(rec.features) == {"synthesis.b16.conv0", "synthesis.b8"}
    assert torch.equal(rec.features["synthesis.b16.conv0"], seen["x"])
    assert rec.features["synthesis.b8"].shape == (2, 32, 8, 8)
    assert not G.synthesis.b16.conv0._forward_hooks  # hooks are gone afterwards


def test_unknown_layer_names_give_a_clear_error():
    G = tiny_stylegan1()
    assert resolve_layer(G, "b16.conv1")[0] == "synthesis.b16.conv1"
    with pytest.raises(UserError, match="did you mean"):
        resolve_layer(G, "b64.conv1")
    with pytest.raises(UserError, match="no layer named"):
        FeatureRecorder(G, ["nonsense"])


def test_layer_listing_and_defaults():
    G = tiny_stylegan1()
    layers = dict(list_feature_layers(G))
    assert layers["synthesis.b16.conv0"] == (16, 16, 16)
    assert layers["synthesis.b32.torgb"] == (3, 32, 32)
    assert "synthesis" not in layers
    assert default_analysis_layer(G) == "synthesis.b32.conv0"  # first AdaIN at min(128, resolution)
    assert final_feature_layer(G) == "synthesis.b32"


@torch.no_grad()
def test_capture_in_batches_equals_one_pass():
    G = tiny_stylegan1()
    ws = ws_for_seeds(G, [3, 4, 5], truncation_psi=0.7)
    one = capture_features(G, ["b8.conv1"], ws, batch_size=8)
    parts = capture_features(G, ["b8.conv1"], ws, batch_size=2)
    # (batched convolutions may round differently)
    torch.testing.assert_close(
        one.features["synthesis.b8.conv1"], parts.features["synthesis.b8.conv1"], rtol=1e-4, atol=1e-4
    )
    torch.testing.assert_close(one.images, parts.images, rtol=1e-4, atol=1e-4)
    assert one.images.shape == (3, 3, 32, 32)


@torch.no_grad()
def test_works_on_stylegan2_blocks_that_return_tuples():
    torch.manual_seed(0)
    G, _ = build_preset("stylegan2", 16, channel_base=128, channel_max=16, map_layers=2, z_dim=16, w_dim=16).build()
    layers = dict(list_feature_layers(G))
    assert layers["synthesis.b8"] == (16, 8, 8)  # (x, img) tuple: the features are recorded
    assert default_analysis_layer(G) == "synthesis.b16.conv0"
    cap = capture_features(G, ["synthesis.b8", "b16.conv0"], ws_for_seeds(G, [0]))
    assert cap.features["synthesis.b8"].shape == (1, 16, 8, 8)
