"""StyleGAN3 (configs T and R) against the official implementation's outputs (../shared/reference).

Forward passes are the expensive part, so each case runs its synthesis network once on all
truncation settings and the style-mixing ws (in batches of 2: on CPU, small batches avoid
re-faulting large buffers), and on two samples per user transform. The batch's composition does
not matter: the style pre-normalisation scales every sample alike and demodulation removes that
scale.
"""

import numpy as np
import pytest
import torch

from stylegan.io import import_official
from stylegan.models import mix_styles
from stylegan.models.stylegan3 import input_transform
from tests.conftest import load_reference

CASES = ["sg3_t", "sg3_r"]
ATOL_IMG = 1e-5
ATOL_WS = 1e-6

_networks: dict[str, torch.nn.Module] = {}


def network(case):
    d = load_reference(case)
    if case not in _networks:
        _networks[case] = import_official(d["class"]["G"], d["init_kwargs"]["G"], d["G_state"])
    return d, _networks[case]


def max_diff(a, b):
    return (a - b).abs().max().item()


@pytest.mark.parametrize("case", CASES)
def test_mapping_images_and_style_mixing(case):
    d, G = network(case)
    z, c = d["inputs"]["z"], d["inputs"]["c"]
    trunc = d["outputs"]["trunc"]
    assert G.num_ws == d["num_ws"] == 16
    with torch.no_grad():
        for t in trunc:
            ws = G.mapping(z, c, truncation_psi=t["psi"], truncation_cutoff=t["cutoff"])
            assert max_diff(ws, t["ws"]) < ATOL_WS

        mix = d["outputs"]["mix"]
        ws0 = trunc[0]["ws"]
        mixed = mix_styles(ws0, ws0[list(mix["perm"])], mix["k"])
        assert max_diff(mixed, mix["ws"]) == 0

        all_ws = torch.cat([t["ws"] for t in trunc] + [mixed])
        images = torch.cat([G.synthesis(ws, noise_mode="const") for ws in all_ws.split(2)])
        expected = torch.cat([t["img"] for t in trunc] + [mix["img"]])
        assert max_diff(images, expected) < ATOL_IMG


@pytest.mark.parametrize("case", CASES)
def test_full_generator_call(case):
    """G(z, c, psi, cutoff) on two samples of the truncation setting with a cutoff."""
    d, G = network(case)
    t = d["outputs"]["trunc"][2]
    assert t["cutoff"] is not None
    with torch.no_grad():
        img = G(d["inputs"]["z"][:2], d["inputs"]["c"][:2], truncation_psi=t["psi"], truncation_cutoff=t["cutoff"])
    assert max_diff(img, t["img_full"][:2]) < ATOL_IMG


@pytest.mark.parametrize("case", CASES)
def test_user_transforms(case):
    """The three input transforms of the reference (two samples each), and our matrix API."""
    d, G = network(case)
    ws = d["outputs"]["trunc"][0]["ws"][:2]
    try:
        for tr in d["outputs"]["transforms"]:
            if tr["name"].startswith("gen_images"):  # M = inv(make_transform(translate, angle))
                ours = input_transform(tuple(tr["translate"]), tr["angle_deg"])
                np.testing.assert_allclose(ours.numpy(), tr["matrix"].numpy(), atol=1e-7)
            with torch.no_grad():
                G.synthesis.input.transform.copy_(tr["matrix"])
                img = G.synthesis(ws)
            assert max_diff(img, tr["img"][:2]) < ATOL_IMG, tr["name"]
    finally:
        G.set_transform()
    assert torch.equal(G.synthesis.input.transform, torch.eye(3))


@pytest.mark.parametrize("case", CASES)
def test_layer_intermediates(case):
    d, G = network(case)
    captured = {}
    handles = [
        module.register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o[0, :4]))
        for name, module in G.synthesis.named_children()
    ]
    try:
        with torch.no_grad():
            G.synthesis(d["outputs"]["trunc"][0]["ws"][:1])
    finally:
        for h in handles:
            h.remove()
    expected = d["outputs"]["G_intermediates"]
    assert set(expected) == set(captured)
    for key, ref in expected.items():
        assert max_diff(captured[key], ref) < ATOL_IMG, key


@pytest.mark.parametrize("case", CASES)
def test_state_dict_round_trip_is_exact(case):
    d, G = network(case)
    ours = G.state_dict()
    assert set(ours) == set(d["G_state"])
    for name, tensor in d["G_state"].items():
        assert torch.equal(ours[name], tensor), name


def test_unsupported_kwargs_are_named():
    from stylegan.errors import CheckpointError

    d = load_reference("sg3_t")
    kwargs = dict(d["init_kwargs"]["G"], magic_option=3)
    with pytest.raises(CheckpointError, match="magic_option"):
        import_official(d["class"]["G"], kwargs, d["G_state"])
    kwargs = dict(d["init_kwargs"]["G"], mapping_kwargs={"num_layers": 2, "freeze_layers": 1})
    with pytest.raises(CheckpointError, match="mapping_kwargs.freeze_layers"):
        import_official(d["class"]["G"], kwargs, d["G_state"])
    kwargs = dict(d["init_kwargs"]["G"], conv_kernel=1)  # weights no longer fit
    with pytest.raises(CheckpointError, match="shape"):
        import_official(d["class"]["G"], kwargs, d["G_state"])


def test_official_kwargs_reach_the_config():
    """Every official synthesis/layer kwarg is honoured (a non-default value of each changes the config)."""
    from stylegan.io import translate_official

    d = load_reference("sg3_r")
    kwargs = dict(
        d["init_kwargs"]["G"],
        num_layers=10,
        num_critical=3,
        first_cutoff=3,
        first_stopband=5.0,
        last_stopband_rel=1.5,
        margin_size=6,
        output_scale=0.5,
        filter_size=4,
        lrelu_upsampling=4,
        magnitude_ema_beta=0.99,
        mapping_kwargs={"num_layers": 3, "lr_multiplier": 0.1, "w_avg_beta": 0.9},
    )
    kind, cfg = translate_official(d["class"]["G"], kwargs)
    assert kind == "stylegan3.generator"
    assert (cfg.num_layers, cfg.num_critical, cfg.first_cutoff, cfg.first_stopband) == (10, 3, 3.0, 5.0)
    assert (cfg.last_stopband_rel, cfg.margin_size, cfg.output_scale) == (1.5, 6, 0.5)
    assert (cfg.filter_size, cfg.lrelu_upsampling, cfg.magnitude_ema_beta) == (4, 4, 0.99)
    assert (cfg.conv_kernel, cfg.use_radial_filters, cfg.conv_clamp, cfg.num_fp16_res) == (1, True, None, 0)
    assert (cfg.mapping.num_layers, cfg.mapping.lr_multiplier, cfg.mapping.w_avg_beta) == (3, 0.1, 0.9)
