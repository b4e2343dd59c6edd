"""stylegan export: official PyTorch pickles, rosinality checkpoints, ONNX and TorchScript.

Round trips (ours -> format -> ours) must give identical tensors. Where the other tool's code
is at hand, its own loader is run on the export in a subprocess: STYLEGAN_OFFICIAL (a checkout of
NVlabs/stylegan3), STYLEGAN_OFFICIAL_ADA (of NVlabs/stylegan2-ada-pytorch) and STYLEGAN_ROSINALITY
(of rosinality/stylegan2-pytorch); without them those tests skip. ONNX tests skip without onnx/onnxscript/onnxruntime.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from stylegan.cli.main import main
from stylegan.errors import CheckpointError, UserError
from stylegan.io import load_networks
from stylegan.io.export_inference import InferenceGenerator, export_onnx, export_torchscript, verify_torchscript
from stylegan.io.export_official import official_kwargs, write_official_snapshot
from stylegan.io.export_rosinality import rosinality_checkpoint
from stylegan.io.official import import_official, translate_official
from stylegan.io.unpickle import restricted_load, scan_globals
from stylegan.models import StyleGAN2Discriminator, StyleGAN2Generator
from stylegan.models.mapping import MappingConfig
from stylegan.models.stylegan2 import StyleGAN2DiscriminatorConfig, StyleGAN2GeneratorConfig
from stylegan.models.stylegan3 import StyleGAN3Generator, StyleGAN3GeneratorConfig
from tests.conftest import REPO, load_reference, reference_file
from tests.io import rosinality_reference as ref
from tests.io.test_rosinality import perturbed

SMALL = dict(z_dim=16, w_dim=16, img_resolution=16)


def _sg2(**kw):
    cfg = dict(SMALL, channel_base=128, channel_max=16, mapping=MappingConfig(num_layers=2))
    cfg.update(kw)
    return StyleGAN2Generator(StyleGAN2GeneratorConfig(**cfg))


def _sg3(config: str):
    r = config == "r"
    return StyleGAN3Generator(
        StyleGAN3GeneratorConfig(
            **SMALL,
            channel_base=512 if r else 256,
            channel_max=32 if r else 16,
            num_layers=4,
            conv_kernel=1 if r else 3,
            use_radial_filters=r,
        )
    )


def _d(**kw):
    return StyleGAN2Discriminator(
        StyleGAN2DiscriminatorConfig(img_resolution=16, channel_base=128, channel_max=16, **kw)
    )


CASES = {  # name -> networks (tiny, every parameter perturbed so that all of them matter)
    "sg2": lambda: {"G_ema": perturbed(_sg2(fused_modconv_default="inference_only"), 1), "D": perturbed(_d(), 2)},
    "sg2-cond-resnet": lambda: {
        "G": perturbed(_sg2(c_dim=3, architecture="resnet", conv_clamp=None), 3),
        "G_ema": perturbed(_sg2(c_dim=3, architecture="resnet", conv_clamp=None), 4),
        "D": perturbed(_d(c_dim=3, architecture="skip", cmap_dim=8, mbstd_group_size=2), 5),
    },
    "sg3-t": lambda: {"G_ema": perturbed(_sg3("t"), 6)},
    "sg3-r": lambda: {"G_ema": perturbed(_sg3("r"), 7)},
}


def same_tensors(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


# --------------------------------------------------------------------------------------------
# official-pytorch


@pytest.mark.parametrize("case", sorted(CASES))
def test_official_pickle_round_trip_is_exact(case, tmp_path):
    nets = CASES[case]()
    path = write_official_snapshot(nets, tmp_path / "network-snapshot.pkl")
    back = load_networks(path)
    gens = [n for n in ("G", "G_ema") if n in nets]
    assert set(back) == {"G", "G_ema"} | ({"D"} if "D" in nets else set())
    for name, module in back.items():
        source = nets[name] if name in nets else nets[gens[0]]  # a lone generator is both G and G_ema
        assert module.config == source.config, name
        assert same_tensors(module, source), name


@pytest.mark.parametrize("name", ["sg2_snapshot_sanitized.pkl", "sg3_snapshot_sanitized.pkl"])
def test_official_snapshots_survive_export_and_import(name, tmp_path):
    """An official snapshot -> ours -> exported -> ours again: every network and tensor the same."""
    nets = load_networks(reference_file(name))
    back = load_networks(write_official_snapshot(nets, tmp_path / "x.pkl"))
    assert set(back) == set(nets)
    for key in nets:
        assert back[key].config == nets[key].config and same_tensors(back[key], nets[key]), key


def test_official_pickle_names_only_what_official_pickles_name(tmp_path):
    path = write_official_snapshot(CASES["sg2"](), tmp_path / "a.pkl")
    with open(path, "rb") as f:
        names = scan_globals(f)
    assert set(names) <= {
        "torch_utils.persistence._reconstruct_persistent_obj",
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch.storage._load_from_bytes",
    }
    data = restricted_load(path, "official-snapshot")
    assert sorted(data) == ["D", "G", "G_ema", "augment_pipe", "training_set_kwargs"]
    assert data["G"] is data["G_ema"]  # one network, pickled once
    assert data["G"].state["modules"] == ["training.networks_stylegan2", "training.networks"]  # built with those
    assert 'net.load_state_dict(state["state_dict"])' in data["G"].module_src


def test_official_kwargs_are_those_the_official_code_was_given():
    """Exported kwargs of networks imported from the official reference = the kwargs the official code used."""
    for case in ("sg2_uncond", "sg2_cond"):
        r = load_reference(case)
        for name, cls, sd in (
            ("G", "networks_stylegan2.Generator", r["G_state"]),
            ("D", "networks_stylegan2.Discriminator", r["D_state"]),
        ):
            module = import_official(cls, r["init_kwargs"][name], sd)
            assert official_kwargs(module) == (cls, r["init_kwargs"][name]), (case, name)
    for case in ("sg3_t", "sg3_r"):
        r = load_reference(case)
        kwargs = r["init_kwargs"]["G"]
        module = import_official("networks_stylegan3.Generator", kwargs, r["G_state"])
        cls, exported = official_kwargs(module)
        assert translate_official(cls, exported) == translate_official(cls, kwargs)
        assert (
            exported["channel_base"] == kwargs["channel_base"]
            and exported.get("conv_kernel", 3) == kwargs["conv_kernel"]
        )


def test_official_export_without_discriminator_gets_a_placeholder(tmp_path):
    path = write_official_snapshot(CASES["sg3-t"](), tmp_path / "g.pkl")
    data = restricted_load(path, "official-snapshot")
    assert data["D"].class_name == "MissingNetwork" and "without a discriminator" in data["D"].state["reason"]
    assert set(load_networks(path)) == {"G", "G_ema"}


def test_official_export_refuses_networks_without_official_counterpart(tmp_path):
    from stylegan.models.configs import build_preset

    G, _ = build_preset("stylegan1", 16, channel_max=16).build()
    with pytest.raises(CheckpointError, match="stylegan1.generator network has no official PyTorch counterpart"):
        write_official_snapshot({"G_ema": G}, tmp_path / "x.pkl")
    assert not (tmp_path / "x.pkl").exists()
    with pytest.raises(CheckpointError, match="needs a generator"):
        write_official_snapshot({"D": _d()}, tmp_path / "x.pkl")


OFFICIAL_CODES = {  # environment variable -> (the official code it names, the cases that code has)
    "STYLEGAN_OFFICIAL": ("NVlabs/stylegan3", sorted(CASES)),
    "STYLEGAN_OFFICIAL_ADA": ("NVlabs/stylegan2-ada-pytorch", ["sg2", "sg2-cond-resnet"]),
}


def _official_root(variable: str) -> Path:
    root = os.environ.get(variable)
    if not root:
        pytest.skip(f"set {variable} to a checkout of {OFFICIAL_CODES[variable][0]} to check exports with it")
    if not (Path(root) / "legacy.py").is_file():
        pytest.fail(f"{variable}={root} holds no legacy.py")
    return Path(root)


def run_official(root: Path, pkl: Path, inputs: dict, tmp_path: Path) -> dict:
    torch.save(inputs, tmp_path / "inputs.pt")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.io.official_runner",
            str(root),
            str(pkl),
            str(tmp_path / "inputs.pt"),
            str(tmp_path / "outputs.pt"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return torch.load(tmp_path / "outputs.pt", weights_only=False)


@pytest.mark.parametrize("variable, case", [(v, c) for v, (_, cases) in OFFICIAL_CODES.items() for c in cases])
def test_official_code_loads_the_export_and_computes_the_same_images(variable, case, tmp_path):
    root = _official_root(variable)
    nets = CASES[case]()
    pkl = write_official_snapshot(nets, tmp_path / "network-snapshot.pkl")
    G = nets.get("G_ema")
    gen = torch.Generator().manual_seed(0)
    c = torch.eye(max(G.c_dim, 1))[torch.arange(4) % max(G.c_dim, 1)][:, : G.c_dim]
    x = dict(z=torch.randn(4, G.z_dim, generator=gen), c=c, psi=0.7, img=torch.randn(4, 3, 16, 16, generator=gen))
    out = run_official(root, pkl, x, tmp_path)
    with torch.no_grad():
        ours = G(x["z"], x["c"], truncation_psi=0.7, noise_mode="const")
        assert (out["images"] - ours).abs().max() < 1e-4
        assert ours.abs().mean() > 0.05
        if "D" in nets:
            assert (out["logits"] - nets["D"](x["img"], x["c"])).abs().max() < 1e-4
        else:
            assert "without a discriminator" in out["d_error"]
    official = "networks_stylegan3" if case.startswith("sg3") else "networks_stylegan2"
    assert set(out["classes"]) == {"G", "G_ema", "D"}
    assert torch.equal(out["again_images"], out["images"])  # pickled again by the official code: the same
    assert out["official_module_src"] == official  # and then an ordinary official pickle (official source inside)


# --------------------------------------------------------------------------------------------
# rosinality


@pytest.fixture(scope="module")
def rosinality_nets():
    """Networks that rosinality's classes can hold: 8 px, its fixed 512 channels, style_dim 16."""
    G = perturbed(
        StyleGAN2Generator(
            StyleGAN2GeneratorConfig(
                z_dim=16,
                w_dim=16,
                img_resolution=8,
                channel_base=32768,
                channel_max=512,
                num_fp16_res=0,
                conv_clamp=None,
                mapping=MappingConfig(num_layers=2, layer_features=16),
            )
        ),
        11,
    )  # = w_dim: allowed
    D = perturbed(
        StyleGAN2Discriminator(
            StyleGAN2DiscriminatorConfig(
                img_resolution=8, channel_base=32768, channel_max=512, num_fp16_res=0, conv_clamp=None
            )
        ),
        12,
    )
    return {"G_ema": G, "D": D}


def test_rosinality_round_trip_is_exact(rosinality_nets, tmp_path):
    ckpt = rosinality_checkpoint(rosinality_nets)
    assert sorted(ckpt) == ["args", "d", "g_ema", "latent_avg"]
    assert vars(ckpt["args"]) == dict(arch="stylegan2", size=8, latent=16, n_mlp=2, channel_multiplier=2, lr_mlp=0.01)
    torch.save(ckpt, tmp_path / "x.pt")
    back = load_networks(tmp_path / "x.pt")
    for name in ("G_ema", "D"):
        assert back[name].config.__class__ == rosinality_nets[name].config.__class__
        assert same_tensors(back[name], rosinality_nets[name]), name


def test_rosinality_export_computes_what_rosinality_computes(rosinality_nets):
    """The exported state dicts run through an independent transcription of rosinality's forward passes."""
    G, D = rosinality_nets["G_ema"], rosinality_nets["D"]
    ckpt = rosinality_checkpoint(rosinality_nets)
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ws = G.mapping(z, None)
        assert (ref.mapping(ckpt["g_ema"], z) - ws[:, 0]).abs().max() < 1e-5
        img = ref.generator(ckpt["g_ema"], ws)
        assert (img - G.synthesis(ws, noise_mode="const")).abs().max() < 1e-4
        assert (ref.discriminator(ckpt["d"], img) - D(img)).abs().max() < 1e-4


def test_rosinality_refuses_what_it_cannot_hold(rosinality_nets):
    with pytest.raises(CheckpointError, match="stylegan3.generator network cannot be written as a rosinality"):
        rosinality_checkpoint({"G_ema": _sg3("t")})
    with pytest.raises(CheckpointError, match="conv_clamp=256 .* --drop-conv-clamp"):
        rosinality_checkpoint({"G_ema": _sg2()})
    with pytest.raises(CheckpointError, match=r"channel counts .* not those of rosinality"):
        rosinality_checkpoint({"G_ema": _sg2()}, drop_conv_clamp=True)
    with pytest.raises(CheckpointError, match="c_dim=3 cannot be represented"):
        rosinality_checkpoint({"G_ema": _sg2(c_dim=3, conv_clamp=None)})
    with pytest.raises(CheckpointError, match="layer_features=8 cannot be represented"):
        rosinality_checkpoint({"G_ema": _sg2(conv_clamp=None, mapping=MappingConfig(num_layers=2, layer_features=8))})
    with pytest.raises(CheckpointError, match="needs a generator"):
        rosinality_checkpoint({"D": rosinality_nets["D"]})


def test_rosinality_code_loads_the_export(rosinality_nets, tmp_path):
    root = os.environ.get("STYLEGAN_ROSINALITY")
    if not root:
        pytest.skip("set STYLEGAN_ROSINALITY to a checkout of rosinality/stylegan2-pytorch to check exports with it")
    ckpt = rosinality_checkpoint(rosinality_nets)
    torch.save(ckpt, tmp_path / "x.pt")
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(5))
    torch.save({"z": z}, tmp_path / "in.pt")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.io.rosinality_runner",
            root,
            str(tmp_path / "x.pt"),
            str(tmp_path / "in.pt"),
            str(tmp_path / "out.pt"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = torch.load(tmp_path / "out.pt", weights_only=True)
    G, D = rosinality_nets["G_ema"], rosinality_nets["D"]
    with torch.no_grad():
        ours = G(z, None, truncation_psi=0.7, noise_mode="const")
        assert (out["images"] - ours).abs().max() < 1e-4
        assert (out["logits"] - D(out["images"])).abs().max() < 1e-4


# --------------------------------------------------------------------------------------------
# onnx / torchscript


def test_torchscript_export_computes_our_images(tmp_path):
    G = CASES["sg2-cond-resnet"]()["G_ema"]
    net = InferenceGenerator(G, truncation_psi=0.6, noise_mode="const")
    export_torchscript(net, tmp_path / "g.pt")
    assert verify_torchscript(net, tmp_path / "g.pt", batch=5) < 1e-5
    loaded = torch.jit.load(str(tmp_path / "g.pt"))
    z, c = net.example_inputs(3, seed=9)
    with torch.no_grad():
        assert torch.allclose(loaded(z, c), G(z, c, truncation_psi=0.6, noise_mode="const"), atol=1e-5)
    weights = {k[len("G.") :]: v for k, v in loaded.state_dict().items()}  # round trip: the weights read back
    assert same_tensors(StyleGAN2Generator(G.config).requires_grad_(False), G) is False
    back = StyleGAN2Generator(G.config)
    back.load_state_dict(weights)
    assert same_tensors(back, G)
    with pytest.raises(UserError, match="noise mode 'random' cannot be exported"):
        InferenceGenerator(G, noise_mode="random")


ONNX_MISSING = [p for p in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(p) is None]


@pytest.mark.slow  # about 25 s on 2 CPU cores, most of it in torch.export
@pytest.mark.skipif(bool(ONNX_MISSING), reason=f"ONNX export needs {', '.join(ONNX_MISSING)} (make install)")
def test_onnx_export_computes_our_images(tmp_path):
    from stylegan.io.export_inference import verify_onnx

    G = CASES["sg2-cond-resnet"]()["G_ema"]
    net = InferenceGenerator(G, truncation_psi=0.6, noise_mode="none")
    export_onnx(net, tmp_path / "g.onnx")
    for batch in (1, 5):  # any batch size
        assert verify_onnx(net, tmp_path / "g.onnx", batch=batch) < 1e-4


@pytest.mark.slow
@pytest.mark.skipif(bool(ONNX_MISSING), reason=f"ONNX export needs {', '.join(ONNX_MISSING)} (make install)")
@pytest.mark.parametrize("case", ["sg3-t", "sg3-r"])
def test_onnx_export_of_stylegan3(case, tmp_path):
    from stylegan.io.export_inference import verify_onnx

    net = InferenceGenerator(CASES[case]()["G_ema"], truncation_psi=0.7)
    export_onnx(net, tmp_path / "g.onnx")
    assert verify_onnx(net, tmp_path / "g.onnx") < 1e-4


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_exports_and_reports(tmp_path, capsys):
    import stylegan

    nets = CASES["sg2"]()
    stylegan.save(nets["G_ema"], tmp_path / "G.safetensors")
    stylegan.save(nets["D"], tmp_path / "D.safetensors")
    out = tmp_path / "network-snapshot.pkl"
    assert (
        main(
            [
                "export",
                str(tmp_path / "G.safetensors"),
                "--d",
                str(tmp_path / "D.safetensors"),
                "--format",
                "official-pytorch",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "D, G -> " in capsys.readouterr().out
    back = load_networks(out)
    assert same_tensors(back["D"], nets["D"]) and same_tensors(back["G_ema"], nets["G_ema"])
    assert main(["export", str(out), "--format", "torchscript", "--out", str(tmp_path / "g.pt"), "--trunc", "0.5"]) == 0
    assert "verified: max abs difference to this package's output 0" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.safetensors", "--format", "onnx", "--out", "{new}"], "network file not found: missing.safetensors"),
        (["{G}", "--format", "official-pytorch", "--out", "{old}"], "{old} exists; pass --force"),
        (["{G}", "--format", "rosinality", "--out", "{new}"], "conv_clamp=256 has no counterpart"),
        (["{G}", "--format", "torchscript", "--out", "{new}", "--noise-mode", "random"], "'random' is not one of"),
        (["{G}", "--format", "official-pytorch", "--out", "{G}", "--force"], "{G} is the N input"),
        (["{G}", "--format", "official-pytorch", "--out", "{new}", "--d", "{G}"], "holds a stylegan2.generator, not a"),
        (
            ["{G}", "--format", "official-pytorch", "--out", "{new}", "--trunc", "0.5"],
            "--trunc applies to --format onnx and torchscript, not official-pytorch",
        ),
        (
            ["{G}", "--format", "onnx", "--out", "{new}", "--d", "{G}"],
            "--d applies to --format official-pytorch and rosinality, not onnx",
        ),
    ],
)
def test_cli_errors_are_one_line(args, message, tmp_path, capsys):
    import stylegan

    paths = dict(G=tmp_path / "G.safetensors", old=tmp_path / "old.pkl", new=tmp_path / "new.pkl")
    stylegan.save(_sg2(), paths["G"])
    paths["old"].write_bytes(b"x")
    code = main(["export", *(a.format(**paths) for a in args)])
    err = capsys.readouterr().err
    assert code == 2 and message.format(**paths) in err and "Traceback" not in err, err
    assert not paths["new"].exists() and paths["old"].read_bytes() == b"x"
