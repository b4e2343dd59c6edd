"""Parity with the official StyleGAN (v1) TensorFlow code: networks imported from the official
pickle format reproduce what the official code computed from the same weights (reference README,
"TensorFlow-format network pickles": float32 tolerance ~1e-4).

Case A: res 32, mapping depth 2, fixed structure. Case B: mapping depth 8, progressive ('linear')
structure half-way through the fade-in of 32x32 (lod 0.5) in G and D.
"""

import json

import numpy as np
import pytest
import torch

from stylegan.analysis.features import FeatureRecorder
from stylegan.errors import CheckpointError
from stylegan.io.loading import load_network, load_networks
from stylegan.io.tf_import import TF_IMPORTERS, import_tf_network
from stylegan.io.tf_stylegan1 import import_tf_stylegan1, import_tf_stylegan1_discriminator
from stylegan.io.unpickle import load_tf_pickle
from stylegan.ops.norm import normalize_2nd_moment
from stylegan.ops.resample import downscale2d
from tests.conftest import reference_file

ATOL = 1e-4
_cache = {}


def case(name):
    if name not in _cache:
        G, D, Gs = load_tf_pickle(reference_file(f"sg1_{name}.pkl"))
        expected = dict(np.load(reference_file(f"sg1_{name}_expected.npz")))
        _cache[name] = (G, D, Gs, expected, import_tf_stylegan1(Gs), import_tf_stylegan1_discriminator(D))
    return _cache[name]


def close(actual, expected, atol=ATOL):
    expected = torch.from_numpy(np.asarray(expected))
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual.detach().to(torch.float32), expected, rtol=0, atol=atol)


@pytest.mark.parametrize("name", ["A", "B"])
def test_imported_config(name):
    _, D, Gs, expected, G, Dn = case(name)
    kwargs = json.loads(str(expected["meta/static_kwargs_json"]))
    assert kwargs["Gs"] == Gs.static_kwargs
    assert G.img_resolution == 32 and G.z_dim == 32 and G.w_dim == 32 and G.num_ws == 8
    assert G.config.mapping.num_layers == (2 if name == "A" else 8)
    assert G.config.progressive == (name == "B") and Dn.config.progressive == (name == "B")
    assert G.lod == pytest.approx(0.0 if name == "A" else 0.5)
    assert Dn.lod.item() == pytest.approx(0.0 if name == "A" else 0.5)


@pytest.mark.parametrize("name", ["A", "B"])
@torch.no_grad()
def test_generator_outputs(name):
    *_, e, G, _ = case(name)
    z = torch.from_numpy(e["input/z"])
    close(G.mapping(z, None), e["output/dlatents_mapping"], 1e-5)
    close(G.mapping(z, None, truncation_psi=0.7, truncation_cutoff=2), e["output/dlatents_G_trunc"], 1e-5)
    close(G(z, None, noise_mode="const"), e["output/images_G_psi1"])
    close(G(z, None, truncation_psi=0.7, truncation_cutoff=2, noise_mode="const"), e["output/images_G_trunc"])
    for which in ("psi1", "trunc"):
        ws = torch.from_numpy(e[f"output/dlatents_G_{which}"])
        close(G.synthesis(ws, noise_mode="const"), e[f"output/images_synth_{which}"])


@pytest.mark.parametrize("name", ["A", "B"])
@torch.no_grad()
def test_discriminator_scores(name):
    *_, e, _, D = case(name)
    close(D(torch.from_numpy(e["input/images"])), e["output/scores_D_input"], 1e-5)
    for which in ("psi1", "trunc"):
        close(D(torch.from_numpy(e[f"output/images_G_{which}"])), e[f"output/scores_D_G_{which}"], 1e-5)


@pytest.mark.parametrize("name", ["A", "B"])
@torch.no_grad()
def test_per_layer_activations(name):
    *_, e, G, D = case(name)
    acts = {k[4:]: v for k, v in e.items() if k.startswith("act/")}
    z = torch.from_numpy(e["input/z"])
    close(normalize_2nd_moment(z), acts.pop("mapping/pixelnorm"), 1e-6)
    dense = [k for k in acts if k.startswith("mapping/Dense")]
    with FeatureRecorder(G, [f"mapping.fc{k[len('mapping/Dense') :]}" for k in dense]) as rec:
        G.mapping(z, None)
    for k in dense:
        close(rec.features[f"mapping.fc{k[len('mapping/Dense') :]}"], acts.pop(k), 1e-5)

    slots = {"Const": "conv0", "Conv": "conv1", "Conv0_up": "conv0", "Conv1": "conv1"}
    synth = {
        k: f"synthesis.b{k.split('/')[1].split('x')[0]}.{slots[k.split('/')[2]]}"
        for k in acts
        if k.startswith("synth/") and k.count("/") == 2
    }
    ws = torch.from_numpy(e["output/dlatents_G_trunc"])
    with FeatureRecorder(G, synth.values()) as rec:
        image = G.synthesis(ws, noise_mode="const")
    for k, ours in synth.items():
        close(rec.features[ours], acts.pop(k))
    for k in [k for k in acts if k.startswith("synth/ToRGB_lod")]:
        res = 32 >> int(k[-1])
        block = G.synthesis.block(res)
        close(block.torgb(rec.features[f"synthesis.b{res}.conv1"]), acts.pop(k))
    close(image, acts.pop("synth/Grow_lod0", e["output/images_synth_trunc"]))
    for k in [k for k in acts if k.startswith("synth/Grow_lod")]:  # lod 0.5: lower levels are not blended
        res = 32 >> int(k[-1])
        close(G.synthesis.block(res).torgb(rec.features[f"synthesis.b{res}.conv1"]), acts.pop(k))

    images = torch.from_numpy(e["input/images"])
    d_slots = {
        "Conv0": "conv0",
        "Conv1_down": "conv1",
        "Conv": "conv",
        "Dense0": "fc",
        "Dense1": "out",
        "MinibatchStddev": "mbstd",
    }
    dlayers = {
        k: f"b{k.split('/')[1].split('x')[0]}.{d_slots[k.split('/')[2]]}"
        for k in acts
        if k.startswith("D/") and k.count("/") == 2
    }
    with FeatureRecorder(D, dlayers.values()) as rec:
        D(images)
    for k, ours in dlayers.items():
        close(rec.features[ours], acts.pop(k))
    for k in [k for k in acts if k.startswith("D/FromRGB_lod")]:
        lod = int(k[-1])
        x = images
        for _ in range(lod):
            x = downscale2d(x)
        close(D.fromrgb(32 >> lod)(x), acts.pop(k))
    if "D/Grow_lod0" in acts:  # the cross-faded input of the 16x16 block
        x16 = acts.pop("D/Grow_lod0")
        close(D.b16(torch.from_numpy(x16)), acts["D/Grow_lod1"])
        for k in ("D/Grow_lod1", "D/Grow_lod2"):  # lod 0.5: no blending below
            acts.pop(k)
    assert not acts, f"activations left unchecked: {sorted(acts)}"


def test_importer_registry_and_errors():
    G, D, Gs, *_ = case("A")
    assert TF_IMPORTERS["G_style"] is import_tf_stylegan1
    assert import_tf_network(D).kind == "stylegan1.discriminator"
    with pytest.raises(CheckpointError, match="not a 'D_basic'"):
        import_tf_stylegan1_discriminator(Gs)
    with pytest.raises(CheckpointError, match="no importer"):
        import_tf_network(Gs.components["mapping"])
    bad = type(Gs)(**{**Gs.__dict__, "static_kwargs": {**Gs.static_kwargs, "use_pixel_norm": True}})
    with pytest.raises(CheckpointError, match="use_pixel_norm"):
        import_tf_stylegan1(bad)
    bad = type(Gs)(**{**Gs.__dict__, "static_kwargs": {**Gs.static_kwargs, "mystery_option": 3}})
    with pytest.raises(CheckpointError, match="mystery_option"):
        import_tf_stylegan1(bad)
    synth = Gs.components["synthesis"]
    extra = type(synth)(**{**synth.__dict__, "variables": {**synth.variables, "8x8/Extra/weight": np.zeros(3)}})
    bad = type(Gs)(**{**Gs.__dict__, "components": {**Gs.components, "synthesis": extra}})
    with pytest.raises(CheckpointError, match="Extra"):
        import_tf_stylegan1(bad)


@torch.no_grad()
def test_load_network_opens_stylegan1_tf_pickles(tmp_path):
    import stylegan

    path = reference_file("sg1_B.pkl")
    e = case("B")[3]
    G = load_network(path)
    D = load_network(path, which="D")
    assert G.kind == "stylegan1.generator" and D.kind == "stylegan1.discriminator"
    z = torch.from_numpy(e["input/z"])
    close(G(z, None, noise_mode="const"), e["output/images_G_psi1"])
    close(D(torch.from_numpy(e["input/images"])), e["output/scores_D_input"], 1e-5)
    assert set(load_networks(path)) == {"G", "G_ema", "D"}
    # Converted to the native format, the network keeps its outputs (and its lod).
    native = stylegan.load(stylegan.save(G, tmp_path / "g.safetensors"))
    assert native.lod == pytest.approx(0.5)
    close(native(z, None, noise_mode="const"), e["output/images_G_psi1"])
