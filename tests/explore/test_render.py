"""The explorer's rendering gives the library's own images for the same settings."""

import copy
import dataclasses

import numpy as np
import pytest
import torch

import stylegan
from stylegan.analysis.features import capture_features, list_feature_layers, ws_for_seeds
from stylegan.errors import UserError
from stylegan.explore.render import (
    Settings,
    artifact_tools,
    latent_seeds,
    layer_table,
    pin_gates,
    power_spectrum_db,
    render,
    settings_ws,
    style_presets,
    untransformed,
)
from stylegan.tools.generate import generate_images
from stylegan.tools.mix import preset_layers, style_mix
from stylegan.utils.images import to_uint8


@pytest.fixture(scope="module")
def G(nets):
    return stylegan.load(nets["sg2"]).eval()


@pytest.mark.parametrize(
    "seed,psi,cutoff,noise", [(0, 1.0, None, "const"), (5, 0.7, 2, "none"), (123, -0.5, None, "const")]
)
def test_default_view_is_generate_image(G, seed, psi, cutoff, noise):
    r = render(G, Settings(x=seed, psi=psi, cutoff=cutoff, noise_mode=noise))
    ref = to_uint8(generate_images(G, [seed], psi, cutoff, noise_mode=noise))[0]
    assert r.picture.shape == ref.shape == (16, 16, 3)
    assert np.array_equal(r.picture, ref)
    assert r.layer is None and r.shape == [3, 16, 16] and r.dtype == "float32"


def test_seed_is_x_plus_y_times_step(G):
    r = render(G, Settings(x=3, y=2))
    assert np.array_equal(r.picture, to_uint8(generate_images(G, [203]))[0])


def test_conditional_class_is_chosen(nets):
    G = stylegan.load(nets["cond"])
    for k in range(3):
        r = render(G, Settings(x=4, class_idx=k, psi=0.5))
        assert np.array_equal(r.picture, to_uint8(generate_images(G, [4], 0.5, class_idx=k))[0])
    with pytest.raises(UserError, match="conditional"):
        render(G, Settings(x=4))


def test_stylegan3_transform_is_generate_transform(nets):
    G = stylegan.load(nets["sg3"])
    s = Settings(x=2, translate_x=0.125, translate_y=-0.25, rotate=10)
    ref = generate_images(G, [2], translate=(0.125, -0.25), rotate=10)
    assert np.array_equal(render(G, s).picture, to_uint8(ref)[0])
    plain = render(G, Settings(x=2)).picture
    assert not np.array_equal(render(G, s).picture, plain)
    assert np.array_equal(render(G, Settings(x=2)).picture, plain)  # the network's transform was restored
    # round to pixel: 0.13 of 16 px is 2.08 px -> 2 px = 0.125
    rounded = render(G, dataclasses.replace(s, translate_x=0.13, round_translate=True)).picture
    assert np.array_equal(rounded, render(G, s).picture)
    # untransform undoes the translation: content moved by whole pixels comes back in place (the
    # network is translation-equivariant up to its borders)
    inner = (slice(4, -4), slice(4, -4))
    for px in (2, -3):
        moved = Settings(x=2, translate_x=px / 16)
        back = render(G, dataclasses.replace(moved, untransform=True)).picture.astype(float)
        shifted = render(G, moved).picture.astype(float)
        assert np.abs(back - plain)[inner].mean() < 0.1 < np.abs(shifted - plain)[inner].mean()


def test_untransform_with_identity_keeps_the_interior():
    x = torch.randn(1, 2, 24, 24).cumsum(2).cumsum(3) / 30  # smooth content
    out = untransformed(x, torch.eye(3))
    assert torch.allclose(out[..., 6:-6, 6:-6], x[..., 6:-6, 6:-6], atol=0.05)


def test_latent_blend_of_four_seeds(G):
    blend = latent_seeds(0.25, 1.5)
    assert [s for s, _ in blend] == [100, 101, 200, 201]
    assert np.allclose([w for _, w in blend], [0.375, 0.125, 0.375, 0.125])
    assert latent_seeds(7, 0) == [(7, 1.0)]
    ws = settings_ws(G, Settings(x=0.25, y=1.5, psi=0.8))
    parts = ws_for_seeds(G, [100, 101, 200, 201], 0.8)
    expected = sum(w * parts[i] for i, (_, w) in enumerate(blend))
    assert torch.allclose(ws[0], expected, atol=1e-6)
    assert latent_seeds(-0.5, 0)[0][0] == 2**32 - 1  # negative positions wrap like the official tool


def test_style_mixing_is_style_mix(G):
    styles = preset_layers("coarse", G.num_ws)
    r = render(G, Settings(x=1, mix_seed=9, mix_layers=styles, psi=0.9))
    ref = style_mix(G, [1], [9], styles, truncation_psi=0.9).cells[0, 0]
    assert np.array_equal(r.picture, to_uint8(ref[None])[0])
    assert style_presets(G) == {k: preset_layers(k, G.num_ws) for k in ("coarse", "middle", "fine")}


def test_random_noise_from_its_seed(G):
    G = copy.deepcopy(G)
    with torch.no_grad():  # a new network's noise strengths are 0
        for name, p in G.named_parameters():
            if "noise_strength" in name:
                p.fill_(0.5)
    torch.manual_seed(7)
    ref = to_uint8(generate_images(G, [3], noise_mode="random"))[0]
    state = torch.get_rng_state()
    a = render(G, Settings(x=3, noise_mode="random", noise_seed=7)).picture
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is left as it was
    assert np.array_equal(a, ref)
    b = render(G, Settings(x=3, noise_mode="random", noise_seed=8)).picture
    assert not np.array_equal(a, b)


def test_layer_view_matches_the_recorded_feature_map(G):
    layer = "synthesis.b8.conv0"
    s = Settings(x=4, layer=layer, sel_channels=1, base_channel=5, normalize=True, gain_db=6.0)
    r = render(G, s)
    feats = capture_features(G, [layer], ws_for_seeds(G, [4])).features[layer][0]
    sel = feats[5:6]
    img = sel / sel.abs().amax(dim=(1, 2), keepdim=True) * 10 ** (6 / 20)
    expected = (img * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy()
    assert r.layer == layer and r.shape == list(feats.shape)
    assert np.array_equal(r.picture[:, :, 0], expected) and np.array_equal(r.picture[:, :, 2], expected)
    assert r.stats["mean"] == pytest.approx(float(feats.mean()), rel=1e-5)
    assert r.stats["sel_max"] == pytest.approx(float(sel.abs().max()), rel=1e-5)
    assert r.stats["std"] == pytest.approx(float(feats.std()), rel=1e-5)
    # the channel is clamped into range; 3 channels of a layer show as RGB
    assert render(G, dataclasses.replace(s, base_channel=10_000)).base_channel == feats.shape[0] - 1
    assert render(G, dataclasses.replace(s, sel_channels=3, base_channel=0)).sel_channels == 3
    # the output image's layer name without the prefix works too
    assert render(G, Settings(x=4, layer="b8.conv0")).layer == layer


def test_fft_view_finds_a_cosine():
    y, x = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    wave = torch.cos(2 * np.pi * 5 * x / 32)[None]
    db = power_spectrum_db(wave)
    peak = np.unravel_index(np.argmax(db), db.shape)
    assert peak in {(16, 16 + 5), (16, 16 - 5)}
    G_out = torch.cat([wave, wave, wave])
    from stylegan.explore.render import layer_view

    picture, *_ = layer_view(G_out, Settings(fft=True))
    assert picture.shape == (32, 64, 3)
    # the spectrum of the shown channel alone, or of all: a second channel at another frequency
    two = torch.cat([wave, torch.cos(2 * np.pi * 3 * y / 32)[None]])
    shown_only, *_ = layer_view(two, Settings(fft=True, fft_all=False, sel_channels=1, base_channel=0))
    both, *_ = layer_view(two, Settings(fft=True, sel_channels=1, base_channel=0))
    from stylegan.analysis.figures import colorize

    assert np.array_equal(shown_only[:, 32:], colorize(power_spectrum_db(wave), -50, 50))
    assert np.array_equal(both[:, 32:], colorize(power_spectrum_db(two), -50, 50))
    assert not np.array_equal(shown_only, both)


def test_layer_table_lists_every_feature_map(G):
    table = layer_table(G)
    assert [(t["name"], tuple(t["shape"])) for t in table[:-1]] == list_feature_layers(G)
    assert table[-1]["name"] is None and table[-1]["shape"] == [3, 16, 16]
    assert all(t["dtype"] == "float32" for t in table)


@pytest.mark.parametrize(
    "change,match",
    [
        ({"psi": 3.0}, "truncation psi"),
        ({"cutoff": 99}, "cutoff"),
        ({"mix_layers": [99]}, "out of range"),
        ({"translate_x": 0.1}, "StyleGAN3"),
        ({"class_idx": 1}, "unconditional"),
        ({"sel_channels": 2}, "1 or 3"),
        ({"x": float("nan")}, "finite"),
        ({"noise_mode": "loud"}, "noise mode"),
        ({"precision": "fp8"}, "precision"),
        ({"gain_db": 500.0}, "gain"),
        ({"layer": "synthesis.nope"}, "no layer named"),
        ({"w_id": "abc"}, "imported"),
        ({"mix_seed": -1}, "mix seed"),
    ],
)
def test_bad_settings_are_user_errors(G, change, match):
    with pytest.raises(UserError, match=match):
        render(G, Settings(**change))


def test_reduced_precision_renders_close(G):
    ref = render(G, Settings(x=1)).image
    for precision in ("bf16", "fp16"):
        low = render(G, Settings(x=1, precision=precision, layer="synthesis.b8.conv0"))
        assert low.image.dtype == torch.float32 and (low.image - ref).abs().max() < 0.25
        assert low.dtype == {"bf16": "bfloat16", "fp16": "float16"}[precision]  # the layer ran in it


def test_bf16_weights_are_cast_once_per_network(G):
    from stylegan.explore.render import network_for

    first = network_for(G, "bf16")
    assert network_for(G, "bf16") is first and network_for(G, "fp32") is G  # kept, not rebuilt per frame
    assert {p.dtype for p in G.synthesis.parameters()} == {torch.float32}  # the network itself untouched
    assert torch.bfloat16 in {p.dtype for p in first.synthesis.parameters()}
    a = render(G, Settings(x=2, precision="bf16")).image
    assert torch.equal(a, render(G, Settings(x=2, precision="bf16")).image)


def test_artifact_tools_find_a_planted_spike():
    from tests.analysis.conftest import plant_noise_spike, tiny_stylegan1

    G = plant_noise_spike(tiny_stylegan1())
    out = artifact_tools(G, Settings(x=0, layer="b16.conv0"), size=64)
    assert out["layer"] == "synthesis.b16.conv0"
    assert out["region"]["is_artifact"] and tuple(out["region"]["peak"]) in {(5, 9), (5, 10), (6, 9), (6, 10)}
    assert set(out["profiles"]) == {"object", "background", "artifact"}
    assert out["energy_figure"].size == (3 * 64 + 16, 64 + 8 + 16)
    from stylegan.analysis.features import default_analysis_layer

    assert artifact_tools(G, Settings(x=0), size=32)["layer"] == default_analysis_layer(G)


def test_pin_gates(nets):
    G = stylegan.load(nets["pin"])
    gates = pin_gates(G)
    assert gates and all(g["channels"] == len(g["values"]) for g in gates)
    first = dict(G.named_modules())[gates[0]["name"]].gate
    assert gates[0]["values"] == pytest.approx(first.tolist())
    assert pin_gates(stylegan.load(nets["sg2"])) == []


def _direction(G, space, k=2, seed=0):
    from stylegan.editing.directions import Direction
    from stylegan.editing.styles import style_dim, style_layers

    dim = style_dim(style_layers(G)) if space == "s" else {"z": G.z_dim, "w": G.w_dim, "w+": G.num_ws * G.w_dim}[space]
    v = torch.randn(k, dim, generator=torch.Generator().manual_seed(seed))
    return Direction(
        v / v.norm(dim=1, keepdim=True), torch.rand(k) + 0.5, space, "ganspace", [f"v{i}" for i in range(k)]
    )


@pytest.fixture(scope="module")
def GE(nets):
    return stylegan.load(nets["edit"]).eval()


@pytest.mark.parametrize("space", ["z", "w", "w+", "s"])
def test_edit_is_stylegan_edit(GE, space):
    from stylegan.editing.edit import inputs_from_seeds, render_edits

    G = GE
    d = _direction(G, space)
    got = render(G, Settings(x=3, psi=0.7, direction_id="d", edit_strengths=[0.0, 2.5]), directions={"d": d})
    ref = render_edits(G, inputs_from_seeds(G, [3], truncation_psi=0.7), d, 1, [2.5])[0, 0]
    assert np.array_equal(got.picture, to_uint8(ref[None])[0])
    assert not np.array_equal(got.picture, render(G, Settings(x=3, psi=0.7)).picture)
    assert np.array_equal(
        render(G, Settings(x=3, psi=0.7, direction_id="d", edit_strengths=[0.0, 0.0]), directions={"d": d}).picture,
        render(G, Settings(x=3, psi=0.7)).picture,
    )


def test_edit_strengths_add_up(G):
    d = _direction(G, "w")
    ws = settings_ws(G, Settings(x=1, direction_id="d", edit_strengths=[1.5, -2.0]), directions={"d": d})
    expected = settings_ws(G, Settings(x=1)) + 1.5 * d.scales[0] * d.vectors[0] - 2.0 * d.scales[1] * d.vectors[1]
    assert torch.allclose(ws, expected, atol=1e-5)


@pytest.mark.parametrize(
    "change,match",
    [
        ({"direction_id": "nope", "edit_strengths": [1.0]}, "no direction named"),
        ({"direction_id": "d", "edit_strengths": [1.0, 1.0, 1.0]}, "3 strengths for a direction of 2"),
        ({"direction_id": "d", "edit_strengths": [1000.0]}, "edit strengths"),
        ({"direction_id": "z", "edit_strengths": [1.0], "w_id": "w"}, "needs seeds"),
    ],
)
def test_bad_edits(G, change, match):
    dirs = {"d": _direction(G, "w"), "z": _direction(G, "z")}
    with pytest.raises(UserError, match=match):
        render(G, Settings(**change), {"w": torch.zeros(G.num_ws, G.w_dim)}, dirs)
