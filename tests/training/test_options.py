"""Per-preset defaults and option checks."""

import dataclasses

import pytest
import torch

from stylegan.errors import UserError
from stylegan.training.build import adam, lazy_interval, training_phases
from stylegan.training.options import PRESET_DEFAULTS, TrainingOptions, resolve_options, run_description

ALL_PRESETS = ("stylegan1", "stylegan1-pin", "stylegan2", "stylegan3-t", "stylegan3-r")


def test_every_preset_has_defaults():
    assert set(ALL_PRESETS) <= set(PRESET_DEFAULTS)
    for d in PRESET_DEFAULTS.values():
        with pytest.raises(dataclasses.FrozenInstanceError):
            d.g_lr = 1.0


def test_official_values():
    sg2, sg3t, sg3r, sg1 = (PRESET_DEFAULTS[k] for k in ("stylegan2", "stylegan3-t", "stylegan3-r", "stylegan1"))
    assert (sg2.g_lr, sg2.d_lr, sg2.map_depth, sg2.pl_weight, sg2.style_mixing) == (0.002, 0.002, 8, 2.0, 0.9)
    assert (sg2.g_reg_interval, sg2.d_reg_interval) == (4, 16)
    assert (sg3t.g_lr, sg3t.d_lr, sg3t.map_depth, sg3t.pl_weight, sg3t.style_mixing) == (0.0025, 0.002, 2, 0, 0)
    assert (sg3r.blur_sigma, sg3r.blur_fade_kimg) == (10, 200) and sg3t.blur_sigma == 0
    assert (sg1.gamma, sg1.progressive, sg1.ema_rampup, sg1.d_reg_interval) == (10, True, None, None)
    assert PRESET_DEFAULTS["stylegan1-pin"] == sg1


def test_resolve_fills_defaults_from_the_preset():
    o = resolve_options(TrainingOptions(cfg="stylegan2", batch=64), 256)
    assert o.resolved and o.resolution == 256
    assert o.gamma == pytest.approx(0.0002 * 256**2 / 64)
    assert o.ema_kimg == pytest.approx(20)  # 10 kimg per 32 images
    assert o.ema_rampup == 0.05 and o.batch_gpu == 64 and o.map_depth == 8
    r = resolve_options(TrainingOptions(cfg="stylegan3-r", batch=16, gpus=2), 64)
    assert r.blur_fade_kimg == pytest.approx(100) and r.batch_gpu == 8 and r.map_depth == 2 and r.glr == 0.0025
    s1 = resolve_options(TrainingOptions(cfg="stylegan1", batch=16), 64)
    assert s1.gamma == 10 and s1.ema_kimg == 10 and s1.ema_rampup is None and s1.progressive
    # What the user gives wins; 0 switches lazy regularisation and ramp-up off.
    u = resolve_options(TrainingOptions(cfg="stylegan2", gamma=3, glr=0.01, d_reg_interval=0, ema_rampup=0), 32)
    assert (u.gamma, u.glr, u.d_reg_interval, u.ema_rampup) == (3, 0.01, None, None)


def test_small_recipe_fills_only_what_the_user_leaves_out():
    o = resolve_options(TrainingOptions(cfg="stylegan2", recipe="small", gamma=1.0, cmax=64), 32)
    assert (o.cbase, o.cmax, o.map_depth, o.z_dim, o.w_dim, o.batch) == (1024, 64, 2, 32, 32, 8)
    assert (o.glr, o.dlr, o.gamma, o.ema_kimg, o.style_mixing, o.pl_weight, o.aug) == (
        0.005,
        0.005,
        1.0,
        5.0,
        0.0,
        0.0,
        "none",
    )
    assert o.ema_rampup == 0.05 and o.d_reg_interval == 16  # the preset's own where the recipe says nothing
    s1 = resolve_options(TrainingOptions(cfg="stylegan1-pin", recipe="small", aug="ada"), 32)
    assert not s1.progressive and s1.aug == "ada" and s1.gamma == 0.2
    paper = resolve_options(TrainingOptions(cfg="stylegan2"), 32)
    assert (paper.cbase, paper.batch, paper.glr, paper.aug, paper.pl_weight) == (None, 32, 0.002, "ada", 2.0)
    with pytest.raises(UserError, match="--recipe small is measured for stylegan1, stylegan1-pin, stylegan2 only"):
        resolve_options(TrainingOptions(cfg="stylegan3-t", recipe="small"), 32)
    with pytest.raises(UserError, match="--recipe must be one of paper, small"):
        resolve_options(TrainingOptions(recipe="tiny"), 32)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(batch=6, gpus=4), "multiple of --gpus"),
        (dict(batch=8, batch_gpu=3), "multiple of --gpus times --batch-gpu"),
        (dict(batch=12, batch_gpu=6), "minibatch-stddev group"),
        (dict(cfg="stylegan9"), "unknown --cfg"),
        (dict(aug="sometimes"), "--aug"),
        (dict(kimg=0), "--kimg"),
    ],
)
def test_bad_combinations_are_user_errors(changes, message):
    with pytest.raises(UserError, match=message):
        resolve_options(TrainingOptions(**changes), 32)


def test_json_round_trip_and_description():
    o = resolve_options(TrainingOptions(cfg="stylegan2", data="/x/my faces.zip", metrics=("fid50k_full",)), 64)
    back = TrainingOptions.from_dict(__import__("json").loads(o.to_json()))
    assert back == o
    assert run_description(o, "my faces") == "stylegan2-my-faces-gpus1-batch32-gamma0.0256"
    with pytest.raises(UserError, match="unknown field"):
        TrainingOptions.from_dict({"nonsense": 1})


def test_phases_and_lazy_regularisation_compensation():
    sg2 = resolve_options(TrainingOptions(cfg="stylegan2"), 64)
    assert [p.name for p in training_phases(sg2)] == ["Gmain", "Greg", "Dmain", "Dreg"]
    assert lazy_interval(training_phases(sg2), "G") == 4 and lazy_interval(training_phases(sg2), "D") == 16
    sg3 = resolve_options(TrainingOptions(cfg="stylegan3-t"), 64)
    assert [p.name for p in training_phases(sg3)] == ["Gmain", "Dmain", "Dreg"]
    sg1 = resolve_options(TrainingOptions(cfg="stylegan1"), 64)
    assert [p.name for p in training_phases(sg1)] == ["Gmain", "Dboth"]
    assert lazy_interval(training_phases(sg1), "D") is None
    no_r1 = resolve_options(TrainingOptions(cfg="stylegan2", gamma=0), 64)
    assert [p.name for p in training_phases(no_r1)][2:] == ["Dmain"]

    import torch

    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = adam(p, 0.002, (0.0, 0.99), 16)
    c = 16 / 17
    assert opt.param_groups[0]["lr"] == pytest.approx(0.002 * c)
    assert opt.param_groups[0]["betas"] == pytest.approx((0.0, 0.99**c))
    plain = adam(p, 0.002, (0.0, 0.99), None)
    assert plain.param_groups[0]["lr"] == 0.002 and plain.param_groups[0]["eps"] == 1e-8


@pytest.mark.parametrize("cfg", ["stylegan1", "stylegan2"])
def test_noise_inputs_can_be_switched_off(cfg):
    from stylegan.training.build import model_spec

    def noise_params(noise):
        opts = resolve_options(
            TrainingOptions(
                cfg=cfg,
                resolution=16,
                batch=4,
                cbase=64,
                cmax=8,
                z_dim=8,
                w_dim=8,
                map_depth=1,
                progressive=False,
                noise=noise,
            ),
            16,
        )
        G, _ = model_spec(opts, 3, 0).build()
        return [name for name, _ in G.named_parameters() if "noise_strength" in name or "noise.weight" in name]

    assert noise_params(True)
    assert noise_params(False) == []


@pytest.mark.parametrize(
    "cfg, g_arch, d_arch",
    [("stylegan2", "orig", "skip"), ("stylegan2", "resnet", "orig"), ("stylegan3-t", None, "skip")],
)
def test_architectures_can_be_chosen(cfg, g_arch, d_arch):
    """StyleGAN2's Figure 7 choices: the networks are built with the architecture asked for."""
    from stylegan.training.build import model_spec

    opts = resolve_options(
        TrainingOptions(
            cfg=cfg,
            resolution=16,
            batch=4,
            cbase=64,
            cmax=8,
            z_dim=8,
            w_dim=8,
            map_depth=1,
            g_arch=g_arch,
            d_arch=d_arch,
        ),
        16,
    )
    G, D = model_spec(opts, 3, 0).build()
    assert D.config.architecture == d_arch
    assert {m.architecture for m in D.modules() if hasattr(m, "architecture")} == {d_arch}
    if g_arch is not None:
        assert G.config.architecture == g_arch
        blocks = [m for m in G.synthesis.modules() if hasattr(m, "architecture")]
        assert blocks and {b.architecture for b in blocks} == {g_arch}
    img = G(torch.randn(2, 8), None)
    assert img.shape == (2, 3, 16, 16) and D(img, None).shape == (2, 1)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(cfg="stylegan1", g_arch="orig"), "--g-arch applies to stylegan2 only"),
        (dict(cfg="stylegan3-t", g_arch="resnet"), "--g-arch applies to stylegan2 only"),
        (dict(cfg="stylegan1-pin", d_arch="skip"), "--d-arch applies to stylegan2"),
    ],
)
def test_architecture_options_are_refused_where_they_do_not_apply(changes, message):
    with pytest.raises(UserError, match=message):
        resolve_options(TrainingOptions(resolution=16, batch=4, **changes), 16)
