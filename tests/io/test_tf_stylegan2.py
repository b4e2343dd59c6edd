"""Official TensorFlow StyleGAN2 pickles: the same conversion as NVIDIA's PyTorch port, bit for bit."""

import copy
import dataclasses

import numpy as np
import pytest
import torch

from stylegan.errors import CheckpointError
from stylegan.io import load_network, load_networks
from stylegan.io.tf_stylegan2 import convert_discriminator, convert_generator, import_tf_stylegan2
from stylegan.io.unpickle import load_tf_pickle
from tests.conftest import reference_file


@pytest.fixture(scope="module")
def expected():
    return torch.load(reference_file("tf_sg2_expected.pt"), weights_only=True)


@pytest.fixture(scope="module")
def tf_nets():
    return load_tf_pickle(reference_file("tf_sg2.pkl"))


@pytest.fixture(scope="module")
def networks():
    return load_networks(reference_file("tf_sg2.pkl"))


def test_official_kwargs_and_state_dicts_are_bitwise_equal(expected, tf_nets, networks):
    G, D, Gs = tf_nets
    for tf, name, convert in (
        (G, "G", convert_generator),
        (Gs, "G_ema", convert_generator),
        (D, "D", convert_discriminator),
    ):
        class_name, kwargs, state = convert(tf)
        assert class_name == expected["class"][name]
        assert kwargs == expected["init_kwargs"][name]
        got, ref = networks[name].state_dict(), expected[f"{name}_state"]
        assert list(got) == list(ref)
        for key in ref:
            assert got[key].dtype == ref[key].dtype and torch.equal(got[key], ref[key]), (name, key)
    # Every row of the official parameter map comes from the TF variable it names.
    tf_vars = {"G": G.all_variables(), "D": D.all_variables()}
    for net, rows in expected["param_map"].items():
        for torch_name, tf_name, _ in rows:
            assert tf_name in tf_vars[net]
            assert networks[net].state_dict()[torch_name].numel() == tf_vars[net][tf_name].size


@pytest.mark.parametrize("name", ["G_ema", "G"])
def test_generator_outputs_match(expected, networks, name):
    net = networks[name]
    z, c = expected["inputs"]["z"], expected["inputs"]["c"]
    with torch.no_grad():
        for out in expected["outputs"][name]:
            ws = net.mapping(z, c, truncation_psi=out["psi"])
            assert (ws - out["ws"]).abs().max() < 1e-6
            assert (net.synthesis(ws, noise_mode="const") - out["img"]).abs().max() < 1e-5
            if name == "G_ema":
                img = net(z, c, truncation_psi=out["psi"], noise_mode="const")
                assert (img - out["img_full"]).abs().max() < 1e-5


def test_discriminator_logits_match(expected, networks):
    D, c = networks["D"], expected["inputs"]["c"]
    with torch.no_grad():
        real = D(expected["inputs"]["img_real"], c)
        fake = D(expected["outputs"]["G_ema"][0]["img"], c)
    assert (real - expected["outputs"]["D"]["logits_real"]).abs().max() < 1e-5
    assert (fake - expected["outputs"]["D"]["logits_fake"]).abs().max() < 1e-5


def test_load_network_uses_gs(expected):
    G = load_network(reference_file("tf_sg2.pkl"), "G")
    ref = expected["G_ema_state"]
    assert all(torch.equal(v, ref[k]) for k, v in G.state_dict().items())


def with_kwargs(net, **kwargs):
    net = copy.deepcopy(net)
    net.static_kwargs.update(kwargs)
    return net


def test_unsupported_kwargs_and_networks_are_named(tf_nets):
    G, D, _ = tf_nets
    with pytest.raises(CheckpointError, match="unsupported TensorFlow kwarg.*fancy_option"):
        convert_generator(with_kwargs(G, fancy_option=3))
    with pytest.raises(CheckpointError, match="unsupported TensorFlow kwarg.*mbstd_mode"):
        convert_discriminator(with_kwargs(D, mbstd_mode=1))
    with pytest.raises(CheckpointError, match="unsupported synthesis_func 'G_synthesis_stylegan_revised'"):
        convert_generator(with_kwargs(G, synthesis_func="G_synthesis_stylegan_revised"))
    other = copy.deepcopy(D)
    other.build_func_name = "D_stylegan"
    with pytest.raises(CheckpointError, match="'D_stylegan'"):
        convert_discriminator(other)
    with pytest.raises(CheckpointError, match="version 4 or 5"):
        convert_generator(dataclasses.replace(G, version=3))


def test_unknown_and_missing_variables_are_named(tf_nets):
    G, _, _ = tf_nets
    extra = copy.deepcopy(G)
    extra.components["mapping"].variables["LabelConcat/weight"] = np.zeros([3, 32], np.float32)
    with pytest.raises(CheckpointError, match="does not understand: mapping/LabelConcat/weight"):
        convert_generator(extra)
    missing = copy.deepcopy(G)
    del missing.components["synthesis"].variables["16x16/Conv1/mod_bias"]
    with pytest.raises(CheckpointError, match="'synthesis/16x16/Conv1/mod_bias' is missing"):
        convert_generator(missing)


def test_stylegan2_ada_tf_version_5_with_labels(tf_nets, expected):
    """Version-5 files (StyleGAN2-ADA TensorFlow) name the networks differently and embed labels."""
    G = copy.deepcopy(tf_nets[2])
    G.version = 5
    G.components["synthesis"].build_func_name = "G_synthesis"
    G.static_kwargs["label_size"] = 3
    rng = np.random.default_rng(0)
    mapping = G.components["mapping"].variables
    embed_w, embed_b = rng.standard_normal([3, 32]).astype(np.float32), rng.standard_normal(32).astype(np.float32)
    dense0 = rng.standard_normal([64, 32]).astype(np.float32)
    mapping.update({"LabelEmbed/weight": embed_w, "LabelEmbed/bias": embed_b, "Dense0/weight": dense0})
    net = import_tf_stylegan2(G)
    assert net.c_dim == 3
    assert torch.equal(net.mapping.embed.weight, torch.from_numpy(embed_w.T.copy()))
    assert torch.equal(net.mapping.fc0.weight, torch.from_numpy(dense0.T.copy()))
    ref = expected["G_ema_state"]
    assert torch.equal(net.synthesis.b32.conv0.weight, ref["synthesis.b32.conv0.weight"])
    with torch.no_grad():
        img = net(torch.randn(2, 32), torch.eye(3)[:2], noise_mode="const")
    assert img.shape == (2, 3, 32, 32) and torch.isfinite(img).all()
