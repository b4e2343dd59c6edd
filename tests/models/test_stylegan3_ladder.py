"""The StyleGAN3 paper's configuration ladder (Figure 3: A StyleGAN2 ... T, R) as training options."""

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import stylegan
from stylegan.cli.main import main
from stylegan.errors import UserError
from stylegan.layers.fourier import FourierFeatureInput
from stylegan.metrics.equivariance import compute_equivariance_metrics
from stylegan.models.stylegan3 import StyleGAN3Generator, SynthesisLayer
from stylegan.training.build import model_spec
from stylegan.training.ladder import LADDER, ladder_args, ladder_options
from stylegan.training.options import TrainingOptions, resolve_options

TINY = dict(resolution=16, batch=4, cbase=256, cmax=16, z_dim=8, w_dim=8)


def build(name: str | None = None, **changes):
    """G and D of ladder rung ``name`` (or of ``changes`` alone) at 16 px, tiny, seeded."""
    fields = {**TINY, **(ladder_options(name) if name else {}), **changes}
    opts = resolve_options(TrainingOptions(**fields), 16, "cpu")
    torch.manual_seed(0)
    return model_spec(opts, 3, 0).build()


def layers(G) -> list[SynthesisLayer]:
    return G.synthesis.layers()


def image(G, n=2):
    z = torch.randn([n, G.z_dim], generator=torch.Generator().manual_seed(1))
    return G(z, None, noise_mode="const")


@pytest.mark.parametrize("name", list(LADDER))
def test_every_rung_trains_and_survives_a_checkpoint(name, tmp_path):
    G, D = build(name)
    img = G(torch.randn(2, G.z_dim), None, update_emas=True)
    assert img.shape == (2, 3, 16, 16) and torch.isfinite(img).all()
    D(img, None).sum().backward()
    grads = [p.grad for p in G.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    loaded = stylegan.load(stylegan.save(G, tmp_path / "g.safetensors"))
    assert loaded.config == G.config
    torch.testing.assert_close(image(loaded), image(G), rtol=0, atol=0)


# Names and shapes of the state dict and the sums of two images (seeds 0 and 1) of the networks
# that these options built before the ladder existed: the defaults must not change them.
BEFORE = {
    "stylegan2": ("d63be8648c3d6b38", 153.83183754468337, 572.7030032654293),
    "stylegan3-t": ("682bcb9fe0355dcd", 20.366237430251203, 26.37141567619983),
    "stylegan3-r": ("5069f583daca3ec2", -42.38935613492504, 88.80739621212706),
}


@pytest.mark.parametrize("cfg", list(BEFORE))
def test_default_options_build_the_network_they_built_before(cfg):
    G, _ = build(cfg=cfg)
    names = ",".join(f"{k}:{tuple(v.shape)}" for k, v in G.state_dict().items())
    with torch.no_grad():
        img = image(G).double()
    digest, total, magnitude = BEFORE[cfg]
    assert hashlib.sha256(names.encode()).hexdigest()[:16] == digest
    assert float(img.sum()) == pytest.approx(total, rel=1e-5)
    assert float(img.abs().sum()) == pytest.approx(magnitude, rel=1e-5)


def test_b_starts_from_fixed_fourier_features_that_the_equivariance_metric_moves():
    G, _ = build("B")
    b4 = G.synthesis.b4
    assert not hasattr(b4, "const") and isinstance(b4.input, FourierFeatureInput)
    assert not hasattr(b4.input, "affine")  # fixed: not transformed by w until config H
    assert (b4.input.size, b4.input.sampling_rate, b4.input.bandwidth) == (4, 4.0, 2.0)
    w = torch.randn(2, G.w_dim)
    torch.testing.assert_close(b4.input(w)[0], b4.input(w)[1])  # the same features for every sample
    with torch.no_grad():
        before = image(G)
        b4.input.transform.copy_(torch.tensor([[1.0, 0, 0.25], [0, 1, 0], [0, 0, 1]]))
        assert (image(G) - before).abs().max() > 1e-3
    eq = compute_equivariance_metrics(G, ("eqt", "eqr"), num_samples=2, batch_size=2)
    assert all(math.isfinite(v) for v in eq.values())


def test_c_has_no_noise_and_d_normalises_every_convolution_input():
    C, _ = build("C")
    assert not [n for n, _ in C.named_buffers() if "noise" in n]
    assert not [n for n, _ in C.named_parameters() if "noise" in n]
    B, _ = build("B")
    assert [n for n, _ in B.named_buffers() if n.endswith("noise_const")]

    D, _ = build("D")
    assert D.config.architecture == "orig" and D.config.mapping.num_layers == 2 and not D.config.use_noise
    convs = [m for m in D.synthesis.modules() if hasattr(m, "magnitude_ema")]
    assert len(convs) == D.num_ws  # every modulated conv and the ToRGB layer
    assert not [n for n, _ in C.named_buffers() if "magnitude_ema" in n]
    seen = {}
    conv = D.synthesis.b8.conv1
    conv.register_forward_pre_hook(lambda m, args: seen.update(x=args[0].detach()))
    D(torch.randn(3, 8), None, update_emas=True)
    beta = D.config.magnitude_ema_beta
    assert beta == pytest.approx(0.5 ** (4 / 20e3))  # the training half-life, 20 kimg
    expected = seen["x"].square().mean().lerp(torch.ones([]), beta)
    torch.testing.assert_close(conv.magnitude_ema, expected)
    # The input is divided by the running RMS: scaling the EMA by 4 is halving the input.
    with torch.no_grad():
        ws = D.mapping(torch.randn(2, 8), None)
        x = torch.randn(2, conv.in_channels, 8, 8)
        y = conv(x, ws[:, 0], noise_mode="none")
        conv.magnitude_ema.mul_(4)
        y_scaled = conv(x, ws[:, 0], noise_mode="none")
        conv.magnitude_ema.div_(4)
        torch.testing.assert_close(y_scaled, conv(x / 2, ws[:, 0], noise_mode="none"))
        assert (y - y_scaled).abs().max() > 1e-4


def test_e_to_h_lay_the_layers_out_as_stylegan2_with_the_rung_filters():
    E, F, G, H = (build(name)[0] for name in "EFGH")
    for net in (E, F, G, H):
        rates = [layer.out_sampling_rate for layer in layers(net)]
        assert rates == [4, 8, 8, 16, 16, 16]  # 2 log2(16) - 3 = 5 layers + ToRGB, margins of 10 px
        assert [layer.out_size for layer in layers(net)][:3] == [24, 28, 28]
    # E: every layer critically sampled (f_c = s/2) and the leaky ReLU unfiltered at the layer's rate;
    # only the upsampling layers filter, with windowed sincs of 6 taps per factor.
    for layer in layers(E):
        assert layer.out_cutoff == layer.out_sampling_rate / 2 and layer.down_factor == 1
        assert layer.up_taps == (12 if layer.out_sampling_rate > layer.in_sampling_rate else 1)
    assert not hasattr(E.synthesis.input, "affine")
    # F: the nonlinearity of every layer sits between 2x upsampling and 2x downsampling.
    for layer in layers(F)[:-1]:
        assert layer.down_factor == 2 and layer.tmp_sampling_rate == 2 * layer.out_sampling_rate
    torch.testing.assert_close([x.out_cutoff for x in layers(F)], [x.out_cutoff for x in layers(E)])
    # G: below the output resolution the cutoff drops to s/2 - f_h, f_h = (sqrt 2 - 1) s/2.
    for layer in layers(G):
        s = layer.out_sampling_rate
        critical = s == 16
        assert layer.is_critically_sampled == critical
        assert layer.out_cutoff == pytest.approx(s / 2 if critical else s / 2 * (2 - math.sqrt(2)))
    assert G.synthesis.input.bandwidth == pytest.approx(2 * (2 - math.sqrt(2)))
    # H: the Fourier features are rotated and translated by w (the affine starts as the identity).
    assert not hasattr(G.synthesis.input, "affine") and hasattr(H.synthesis.input, "affine")
    with torch.no_grad():
        H.synthesis.input.affine.bias.copy_(torch.tensor([0.0, 1.0, 0.0, 0.0]))  # 90 degrees
        assert (image(H) - image(build("H")[0])).abs().max() > 1e-3


def test_t_and_r_are_the_presets():
    assert ladder_options("T") == {"cfg": "stylegan3-t"} and ladder_options("R") == {"cfg": "stylegan3-r"}
    T, _ = build("T")
    assert T.config.layer_schedule == "flexible" and T.config.num_layers == 14 and T.synthesis.input.transformed


def test_stylegan2_layout_needs_its_layer_count_and_fourier_inputs_of_critical_bandwidth():
    from dataclasses import replace

    cfg = build("E")[0].config
    with pytest.raises(ValueError, match="num_layers 5"):
        StyleGAN3Generator(replace(cfg, num_layers=14))
    fourier = FourierFeatureInput(4, 8, 4, sampling_rate=4, bandwidth=2, transformed=False)
    assert torch.isfinite(fourier(torch.zeros(1, 4))).all()


def test_ladder_options_are_refused_with_other_presets():
    with pytest.raises(UserError, match="--fourier-input 1 applies to stylegan2 only"):
        build(cfg="stylegan3-t", fourier_input=True)
    with pytest.raises(UserError, match="--magnitude-norm 1 applies to stylegan2 only"):
        build(cfg="stylegan1", magnitude_norm=True, progressive=False)
    with pytest.raises(UserError, match="--g-layers stylegan2 applies to stylegan3-t and stylegan3-r only"):
        build(cfg="stylegan2", g_layers="stylegan2")
    with pytest.raises(UserError, match="--filtered-lrelu 0 applies to stylegan3-t"):
        build(cfg="stylegan2", filtered_lrelu=False)
    with pytest.raises(UserError, match="--critical-sampling 1 needs --g-layers stylegan2"):
        build(cfg="stylegan3-t", critical_sampling=True)


def test_the_command_line_refuses_a_ladder_switch_by_name(tmp_path, capsys):
    code = main(
        [
            "train",
            "--cfg",
            "stylegan2",
            "--data",
            "toyfaces",
            "--res",
            "16",
            "--g-layers",
            "stylegan2",
            "--outdir",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--g-layers stylegan2 applies to stylegan3-t and stylegan3-r only" in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_the_docs_table_is_the_ladder():
    text = (Path(__file__).parents[2] / "docs" / "training.md").read_text()
    rows = dict(re.findall(r"^\| ([A-HTR]) \| [^|]+ \| `stylegan train ([^`]*) \.\.\.` \|$", text, re.M))
    assert list(rows) == list(LADDER)
    for name, args in rows.items():
        assert args.split() == ladder_args(name), name


def test_the_measurement_at_initialisation_orders_the_rungs_as_the_paper():
    """EQ-T at initialisation (architecture only): the alias-free rungs beat the StyleGAN2 ones."""
    eqt = {}
    for name in "BGT":
        G, _ = build(name)
        eqt[name] = compute_equivariance_metrics(G, ("eqt",), num_samples=8, batch_size=4)["eqt"]
    assert eqt["B"] < eqt["G"] and eqt["B"] < eqt["T"], eqt
    assert np.isfinite(list(eqt.values())).all()


@pytest.mark.parametrize("name", ["B", "D", "E"])
def test_rungs_without_an_official_counterpart_are_refused_by_the_exporters(name):
    from stylegan.errors import CheckpointError
    from stylegan.io.export_official import official_kwargs
    from stylegan.io.export_rosinality import generator_state

    G, _ = build(name)
    with pytest.raises(CheckpointError, match="fourier_input|magnitude_ema_beta|layer_schedule|fourier_transform"):
        official_kwargs(G)
    if name == "B":  # D is refused earlier, for its orig architecture
        with pytest.raises(CheckpointError, match="fourier_input"):
            generator_state(G, drop_conv_clamp=True)
