"""Official PyTorch snapshots (network-snapshot-*.pkl) against the official reference outputs."""

import pytest
import torch

from stylegan.errors import CheckpointError
from stylegan.io import load_network, load_networks
from stylegan.io.official import TRANSLATORS
from stylegan.io.unpickle import load_official_snapshot
from tests.conftest import load_reference, reference_file

ATOL = 1e-5


def max_diff(a, b):
    return (a - b).abs().max().item()


@pytest.fixture(scope="module")
def sg2_networks():
    return load_networks(reference_file("sg2_snapshot_sanitized.pkl"))


def test_sg2_snapshot_state_dicts_are_the_official_ones():
    ref = load_reference("sg2_uncond")
    nets = load_official_snapshot(reference_file("sg2_snapshot_sanitized.pkl"))
    for name, key in (("G", "G_state"), ("G_ema", "G_state"), ("D", "D_state")):
        sd = nets[name]["state_dict"]
        assert list(sd) == list(ref[key])
        assert all(torch.equal(sd[k], ref[key][k]) for k in sd), name
        assert nets[name]["init_kwargs"] == ref["init_kwargs"][name[0]]


def test_sg2_snapshot_generator_matches_the_reference_outputs(sg2_networks):
    """G_ema (what tools use); G holds the same weights here, checked above bit for bit."""
    ref = load_reference("sg2_uncond")
    G = sg2_networks["G_ema"]
    z, c = ref["inputs"]["z"], ref["inputs"]["c"]
    with torch.no_grad():
        for i, t in enumerate(ref["outputs"]["trunc"]):
            ws = G.mapping(z, c, truncation_psi=t["psi"], truncation_cutoff=t["cutoff"])
            assert max_diff(ws, t["ws"]) < 1e-6
            img = G(z, c, truncation_psi=t["psi"], truncation_cutoff=t["cutoff"], noise_mode="const")
            assert max_diff(img, t["img_full"]) < ATOL
            if i == 0:
                assert max_diff(G.synthesis(t["ws"], noise_mode="none"), t["img_none"]) < ATOL


def test_sg2_snapshot_discriminator_matches_the_reference_logits(sg2_networks):
    ref = load_reference("sg2_uncond")
    D = sg2_networks["D"]
    c = ref["inputs"]["c"]
    with torch.no_grad():
        assert max_diff(D(ref["inputs"]["img_real"], c), ref["outputs"]["D"]["logits_real"]) < ATOL
        fake = ref["outputs"]["trunc"][0]["img_full"]
        assert max_diff(D(fake, c), ref["outputs"]["D"]["logits_fake"]) < ATOL


def test_load_network_picks_g_ema_and_d():
    path = reference_file("sg2_snapshot_sanitized.pkl")
    assert load_network(path, "G").kind == "stylegan2.generator"
    assert load_network(path, "D").kind == "stylegan2.discriminator"


def test_sg3_snapshot_holds_the_official_stylegan3_weights_and_a_stylegan2_d():
    nets = load_official_snapshot(reference_file("sg3_snapshot_sanitized.pkl"))
    ref3, ref2 = load_reference("sg3_t"), load_reference("sg2_uncond")
    for name in ("G", "G_ema"):
        assert nets[name]["class_name"] == "networks_stylegan3.Generator"
        assert nets[name]["init_kwargs"] == ref3["init_kwargs"]["G"]
        sd = nets[name]["state_dict"]
        assert list(sd) == list(ref3["G_state"]) and all(torch.equal(sd[k], ref3["G_state"][k]) for k in sd)
    D = load_network(reference_file("sg3_snapshot_sanitized.pkl"), "D")
    with torch.no_grad():
        assert max_diff(D(ref2["inputs"]["img_real"], ref2["inputs"]["c"]), ref2["outputs"]["D"]["logits_real"]) < ATOL


def test_sg3_snapshot_generator():
    path = reference_file("sg3_snapshot_sanitized.pkl")
    if "networks_stylegan3.Generator" not in TRANSLATORS:
        with pytest.raises(CheckpointError, match="unsupported official class 'networks_stylegan3.Generator'"):
            load_network(path, "G")
        return
    ref = load_reference("sg3_t")
    G = load_network(path, "G")
    z, c = ref["inputs"]["z"], ref["inputs"]["c"]
    with torch.no_grad():
        for t in ref["outputs"]["trunc"]:
            ws = G.mapping(z, c, truncation_psi=t["psi"], truncation_cutoff=t["cutoff"])
            assert max_diff(ws, t["ws"]) < 1e-6
        # One full synthesis (the StyleGAN3 model's own parity tests cover the rest).
        t = ref["outputs"]["trunc"][-1]
        img = G(z[:2], c[:2], truncation_psi=t["psi"], truncation_cutoff=t["cutoff"])
        assert max_diff(img, t["img_full"][:2]) < 5e-5
