import copy

import pytest
import torch

from stylegan.editing import directions as D
from stylegan.editing.edit import EditInputs, edited_ws, inputs_from_seeds, parse_strengths, render_edits
from stylegan.editing.evaluate import score_edit
from stylegan.editing.styles import style_dim, style_layers
from stylegan.errors import UserError
from stylegan.tools.generate import synthesize


def test_parse_strengths():
    assert parse_strengths("-3..3", 7) == [-3, -2, -1, 0, 1, 2, 3]
    assert parse_strengths("2", 3) == [-2, 0, 2]
    assert parse_strengths("0.5,1", 9) == [0.5, 1.0]
    assert parse_strengths("1..2", 1) == [1.0]
    for bad in ("1..x", "nan", "inf", "1e9", ""):
        with pytest.raises(UserError):
            parse_strengths(bad, 3)


def _w_direction(G, layers=None, space="w"):
    dim = G.w_dim if space == "w" else G.num_ws * G.w_dim
    v = torch.nn.functional.normalize(torch.arange(1.0, dim + 1), dim=0)[None]
    return D.Direction(v, torch.tensor([2.0]), space, "ganspace", ["pc0"], layers)


def test_a_w_edit_moves_only_the_chosen_layers_by_strength_x_scale(G8):
    inputs = inputs_from_seeds(G8, [0, 1])
    d = _w_direction(G8, layers=[1, 2])
    ws = edited_ws(G8, inputs, d, 0, 1.5)
    delta = ws - inputs.ws
    assert torch.allclose(delta[:, [1, 2]], (1.5 * 2.0 * d.vectors[0]).expand(2, 2, -1), atol=1e-6)
    assert delta[:, [0, 3]].abs().max() == 0
    ws_all = edited_ws(G8, inputs, d, 0, 1.0, layers=[0, 1, 2, 3])  # an explicit range wins
    assert (ws_all - inputs.ws).abs().amin(dim=2).gt(0).all()


def test_w_plus_and_z_edits(G8):
    inputs = inputs_from_seeds(G8, [3])
    d = _w_direction(G8, space="w+")
    ws = edited_ws(G8, inputs, d, 0, 1.0)
    assert torch.allclose(ws - inputs.ws, 2.0 * d.vectors[0].reshape(1, G8.num_ws, G8.w_dim), atol=1e-6)
    z_dir = D.Direction(torch.eye(G8.z_dim)[:1], torch.ones(1), "z", "interfacegan", ["a"])
    ws_z = edited_ws(G8, inputs, z_dir, 0, 1.0)
    expected = G8.mapping(inputs.z + torch.eye(G8.z_dim)[0], None)
    assert torch.allclose(ws_z, expected, atol=1e-6)
    with pytest.raises(UserError, match="needs seeds"):
        edited_ws(G8, EditInputs(inputs.ws), z_dir, 0, 1.0)


def test_render_edits_strength_zero_is_the_unedited_image(G8):
    inputs = inputs_from_seeds(G8, [0, 1, 2])
    images = render_edits(G8, inputs, _w_direction(G8), 0, [-1.0, 0.0, 1.0])
    assert images.shape == (3, 3, 3, 8, 8)
    assert torch.allclose(images[:, 1], synthesize(G8, inputs.ws), atol=1e-6)
    assert not torch.allclose(images[:, 0], images[:, 2])


def test_an_s_edit_equals_shifting_the_affine_bias(G8):
    layers = style_layers(G8)
    vectors = torch.zeros(1, style_dim(layers))
    vectors[0, layers[2].offset + 3] = 1.0
    d = D.Direction(vectors, torch.tensor([0.5]), "s", "stylespace", ["c"], [layers[2].ws_index])
    inputs = inputs_from_seeds(G8, [5])
    images = render_edits(G8, inputs, d, 0, [2.0])
    G2 = copy.deepcopy(G8)
    affine = dict(G2.synthesis.named_modules())[layers[2].name]
    with torch.no_grad():
        affine.bias[3] += 1.0 / affine.bias_gain
    assert torch.allclose(images[:, 0], synthesize(G2, inputs.ws), atol=1e-5)
    masked = render_edits(G8, inputs, d, 0, [2.0], layers=[0])  # a layer range the channel is not in
    assert torch.allclose(masked[:, 0], synthesize(G8, inputs.ws), atol=1e-6)


def test_edit_scores_count_the_target_and_the_others():
    before = {
        "smile": torch.tensor([0, 0, 1, 1]),
        "glasses": torch.tensor([0, 1, 0, 1]),
        "yaw": torch.tensor([0.1, -0.5, 0.3, 0.0]),
    }
    # +strength makes everyone smile; -strength makes nobody smile and moves yaw of sample 2 a lot
    plus = {
        "smile": torch.tensor([1, 1, 1, 1]),
        "glasses": torch.tensor([0, 1, 0, 1]),
        "yaw": torch.tensor([0.1, -0.5, 0.3, 0.0]),
    }
    minus = {
        "smile": torch.tensor([0, 0, 0, 1]),
        "glasses": torch.tensor([0, 0, 0, 1]),
        "yaw": torch.tensor([0.1, -0.5, -0.6, 0.0]),
    }
    s = score_edit(before, plus, minus, "smile", 3.0)
    assert s.target == 0.75  # samples 0, 1 gain a smile; 2 loses it; 3 keeps it
    assert s.per_factor == {"glasses": 1.0, "yaw": 0.75} and s.preserved == 0.875 and s.preserved_min == 0.75
    flipped = score_edit(before, plus, minus, "smile", 3.0, sign=-1.0)  # the direction read backwards
    assert flipped.target == 0.0  # 0, 1 get -strength (no smile), 2, 3 get +strength (keep theirs)
    assert flipped.per_factor == {"glasses": 0.75, "yaw": 1.0}


def test_continuous_targets_flip_sign():
    before = {"yaw": torch.tensor([0.5, -0.5]), "smile": torch.tensor([0, 1])}
    plus = {"yaw": torch.tensor([0.9, 0.2]), "smile": torch.tensor([0, 1])}
    minus = {"yaw": torch.tensor([-0.1, -0.9]), "smile": torch.tensor([1, 1])}
    s = score_edit(before, plus, minus, "yaw", 1.0)
    assert s.target == 1.0 and s.per_factor == {"smile": 0.5}


@pytest.mark.parametrize("preset", ["stylegan1", "stylegan3-t"])
def test_sefa_and_style_edits_on_every_generation(preset):
    from stylegan.models import build_preset
    from tests.tools.conftest import build_seeded

    G = build_seeded(build_preset(preset, 16, channel_base=64, channel_max=8, map_layers=1, z_dim=8, w_dim=8))
    inputs = inputs_from_seeds(G, [0, 1])
    plain = synthesize(G, inputs.ws)
    sefa = D.sefa(G, num_components=2, scale_samples=20)
    images = render_edits(G, inputs, sefa, 0, [0.0, 3.0])
    assert torch.allclose(images[:, 0], plain, atol=1e-5) and not torch.allclose(images[:, 1], plain, atol=1e-3)
    layers = style_layers(G)
    vectors = torch.zeros(1, style_dim(layers))
    vectors[0, layers[1].offset] = 1.0
    s_dir = D.Direction(vectors, torch.ones(1), "s", "stylespace", ["c"])
    edited = render_edits(G, inputs, s_dir, 0, [0.0, 5.0])
    assert torch.allclose(edited[:, 0], plain, atol=1e-5) and not torch.allclose(edited[:, 1], plain, atol=1e-4)
