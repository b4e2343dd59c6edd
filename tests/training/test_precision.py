"""``--precision fp32|bf16|auto``: bfloat16 autocast of the forward passes on the CPU.

A bf16 step of every kind (main terms, R1, path length, style mixing) gives finite losses, keeps the
parameters, their gradients, Adam's state and the EMA generator in float32, and gives parameter
gradients close to float32's; ``auto`` resolves by device and CPU; bad values and combinations are
refused with one clear message; the precision is stored with the run and fixed on resume.
"""

import json
import math

import pytest
import torch

from stylegan.cli.main import main
from stylegan.errors import UserError
from stylegan.training.launch import _apply_overrides
from stylegan.training.loop import Trainer
from stylegan.training.loss import draw_latents
from stylegan.training.options import TrainingOptions, resolve_options
from stylegan.training.stats import read_stats
from stylegan.utils import precision as prec
from tests.training.tiny import TinyDataset, final_state, replace, run, tiny_options

# Small networks of three generator families; stylegan1 without progressive growing.
PRESETS = {
    "stylegan2": dict(cfg="stylegan2"),
    "stylegan3-t": dict(cfg="stylegan3-t", resolution=16, cbase=256, cmax=16),
    "stylegan1": dict(cfg="stylegan1", progressive=False),
}


def trainer(tmp_path, precision: str, **changes) -> Trainer:
    opts = tiny_options(tmp_path / precision, precision=precision, **changes)
    return Trainer(opts, tmp_path / precision, TinyDataset(16, opts.resolution), device="cpu", verbose=False)


def all_float32(*modules) -> bool:
    tensors = [t for m in modules for t in list(m.parameters()) + list(m.buffers()) if t.is_floating_point()]
    return all(t.dtype == torch.float32 for t in tensors)


def test_bf16_run_of_stylegan2_with_both_regularisers(tmp_path):
    # Batch index 0 runs Gmain, Greg (path length, every 4 steps), Dmain and Dreg (R1, every 16 steps);
    # style mixing 0.9. Six steps: both regularisers at the first, the main terms at every one.
    opts = tiny_options(tmp_path, precision="bf16", kimg=0.024, tick=0.012, snap=2)
    assert opts.pl_weight > 0 and opts.gamma > 0 and opts.style_mixing > 0
    run_dir = run(opts)
    assert json.loads((run_dir / "training_options.json").read_text())["precision"] == "bf16"
    assert "Precision: bfloat16 autocast" in (run_dir / "log.txt").read_text()
    rows = read_stats(run_dir / "stats.jsonl")
    terms = ("Loss/G/loss", "Loss/D/loss", "Loss/G/reg", "Loss/D/reg", "Loss/r1_penalty", "Loss/pl_penalty")
    assert set(terms) <= set(rows[0])
    for row in rows:
        for name, value in row.items():
            if name.startswith("Loss/"):
                assert math.isfinite(value["mean"]), name
    state = final_state(run_dir)
    assert state["progress"]["batch_idx"] == 6 and state["options"]["precision"] == "bf16"
    for key in ("G", "D", "G_ema"):
        floats = [t for t in state[key].values() if t.is_floating_point()]
        assert floats and all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in floats), key
    assert state["pl_mean"].dtype == torch.float32 and float(state["pl_mean"]) > 0
    for opt_state in state["optimizers"].values():
        moments = [t for s in opt_state["state"].values() for k, t in s.items() if k != "step"]
        assert moments and all(t.dtype == torch.float32 for t in moments)


@pytest.mark.parametrize("preset", ["stylegan3-t", "stylegan1"])
def test_bf16_steps_of_other_presets(tmp_path, preset):
    t = trainer(tmp_path, "bf16", **PRESETS[preset])
    for _ in range(2):
        t.train_step()
    stats = t.stats.reduce()
    assert {"Loss/G/loss", "Loss/D/loss", "Loss/r1_penalty"} <= set(stats)
    assert all(math.isfinite(v["mean"]) for k, v in stats.items() if k.startswith("Loss/"))
    assert all_float32(t.G, t.D, t.G_ema)
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in list(t.G.parameters()) + list(t.D.parameters()))


def flat_grads(module) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in module.parameters() if p.grad is not None])


def term_gradients(t: Trainer) -> dict[str, torch.Tensor]:
    """Parameter gradients of each loss term on fixed latents, reals, noise inputs and path-length noise."""
    gen = torch.Generator().manual_seed(3)
    B, res = t.opts.batch, t.opts.resolution
    latents = draw_latents(B, t.G.z_dim, t.G.num_ws, 0.5, t.labels, gen)
    reals = torch.rand([B, 3, res, res], generator=gen) * 2 - 1
    pl_noise = torch.randn([B, 3, res, res], generator=gen)
    t.loss.pl_mean.fill_(0.01)
    L = t.loss
    terms = {
        "Gmain": ("G", lambda: L.generator_main(latents, 0, 1.0)),
        "Dmain": (
            "D",
            lambda: (
                L.discriminator_fake(latents, 0, 1.0),
                L.discriminator_real(reals, latents.c, 0, 1.0, main=True, r1=False),
            ),
        ),
        "R1": ("D", lambda: L.discriminator_real(reals, latents.c, 0, 1.0, main=False, r1=True)),
    }
    if t.opts.pl_weight > 0:
        terms["path length"] = ("G", lambda: L.path_length(latents, pl_noise, 1.0))
    out = {}
    for name, (net, fn) in terms.items():
        module = t.G if net == "G" else t.D
        module.zero_grad(set_to_none=True)
        module.requires_grad_(True)
        torch.manual_seed(5)  # the noise inputs
        fn()
        module.requires_grad_(False)
        assert all(p.grad is None or p.grad.dtype == torch.float32 for p in module.parameters())
        out[name] = flat_grads(module)
    return out


@pytest.mark.parametrize("preset", list(PRESETS))
def test_bf16_gradients_are_close_to_float32(tmp_path, preset):
    """Cosine similarity of each term's parameter gradients (all of G's or D's, flattened) above 0.99.

    bfloat16 keeps 8 significant bits (relative rounding 2^-9 per value); through a handful of layers
    the tiny networks' gradients differ from float32's by 2-12 % in norm, cosine 0.993-0.9998 here.
    The lowest is StyleGAN's first G step: its constant input is flat over the pixels, so the instance
    norm of the 4x4 block divides by sqrt(1e-8) and amplifies every rounding error; it rises above
    0.997 after one step. Identical float32 weights in both (same seed), so this is the precision alone."""
    fp32, bf16 = trainer(tmp_path, "fp32", **PRESETS[preset]), trainer(tmp_path, "bf16", **PRESETS[preset])
    for key in ("G", "D"):
        for a, b in zip(getattr(fp32, key).parameters(), getattr(bf16, key).parameters(), strict=True):
            assert torch.equal(a, b)
    want, got = term_gradients(fp32), term_gradients(bf16)
    assert want.keys() == got.keys()
    for name in want:
        assert torch.isfinite(got[name]).all(), name
        cos = torch.nn.functional.cosine_similarity(want[name], got[name], dim=0).item()
        assert cos > 0.99, (name, cos)
        assert not torch.equal(want[name], got[name]), name  # bfloat16 did run


def test_fp32_is_unchanged_by_the_precision_option(tmp_path):
    """``fp32`` computes exactly what training computed before ``--precision`` existed (no autocast)."""
    t = trainer(tmp_path, "fp32")
    assert t.loss.precision == "fp32"
    with t.loss.autocast():
        assert not torch.is_autocast_enabled("cpu")
    assert trainer(tmp_path, "bf16").loss.precision == "bf16"


def test_auto_resolves_by_device_and_cpu(monkeypatch):
    monkeypatch.setattr(prec, "cpu_has_bf16", lambda: False)
    assert prec.resolve_precision("auto", "cpu") == "fp32"
    assert resolve_options(TrainingOptions(precision="auto", batch=4), 8, device_type="cpu").precision == "fp32"
    monkeypatch.setattr(prec, "cpu_has_bf16", lambda: True)
    assert prec.resolve_precision("auto", "cpu") == "bf16"
    assert prec.resolve_precision("auto", "cuda") == "fp32"  # CUDA keeps its float16 layers
    assert resolve_options(TrainingOptions(precision="auto", batch=4), 8, device_type="cpu").precision == "bf16"
    assert resolve_options(TrainingOptions(precision="auto", batch=4), 8, device_type="cuda").precision == "fp32"
    # --fp32 1 asks for float32 everywhere: auto follows it.
    assert resolve_options(TrainingOptions(precision="auto", fp32=True, batch=4), 8, "cpu").precision == "fp32"
    # The default stays float32 whatever the CPU.
    assert resolve_options(TrainingOptions(batch=4), 8, device_type="cpu").precision == "fp32"


def test_cpu_detection_returns_a_bool():
    prec.cpu_has_bf16.cache_clear()
    assert isinstance(prec.cpu_has_bf16(), bool)


def test_bad_values_and_combinations_are_refused(tmp_path):
    with pytest.raises(UserError, match=r"--precision must be one of fp32, bf16, auto, got 'fp16'"):
        resolve_options(TrainingOptions(precision="fp16", batch=4), 8)
    with pytest.raises(UserError, match="--precision bf16 is for training on the CPU"):
        resolve_options(TrainingOptions(precision="bf16", batch=4), 8, device_type="cuda")
    with pytest.raises(UserError, match="--fp32 1 asks for float32 everywhere and --precision bf16"):
        resolve_options(TrainingOptions(precision="bf16", fp32=True, batch=4), 8, device_type="cpu")
    with pytest.raises(UserError, match="--precision bf16 is for training on the CPU, not on cuda"):
        Trainer(
            replace(tiny_options(tmp_path), precision="bf16"), tmp_path, TinyDataset(8, 8), device="cuda", verbose=False
        )
    with pytest.raises(ValueError, match="must be resolved"):
        Trainer(
            replace(tiny_options(tmp_path), precision="auto"), tmp_path, TinyDataset(8, 8), device="cpu", verbose=False
        )


def test_cli_option(tmp_path, capsys):
    assert (
        main(["train", "--cfg", "stylegan2", "--data", "toyfaces", "--precision", "fp16", "--outdir", str(tmp_path)])
        == 2
    )
    err = capsys.readouterr().err
    assert "--precision" in err and "'fp16' is not one of 'fp32', 'bf16', 'auto'" in err
    assert list(tmp_path.iterdir()) == []
    assert main(["train", "--help"]) == 0
    assert "--precision [fp32|bf16|auto]" in capsys.readouterr().out
    tiny = [
        "--cfg",
        "stylegan2",
        "--data",
        "toyfaces",
        "--res",
        "16",
        "--batch",
        "4",
        "--cbase",
        "256",
        "--cmax",
        "16",
        "--map-depth",
        "2",
        "--z-dim",
        "16",
        "--w-dim",
        "16",
        "--aug",
        "none",
        "--workers",
        "0",
        "--kimg",
        "0.004",
    ]
    assert main(["train", *tiny, "--precision", "bf16", "--outdir", str(tmp_path)]) == 0, capsys.readouterr().err
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "training_options.json").read_text())["precision"] == "bf16"


def test_precision_defines_the_run_on_resume(monkeypatch):
    saved = resolve_options(TrainingOptions(precision="bf16", batch=4), 8, device_type="cpu")
    with pytest.raises(UserError, match="cannot change --precision when resuming"):
        _apply_overrides(saved, {"precision": "fp32"})
    assert _apply_overrides(saved, {"precision": "bf16"}).precision == "bf16"
    monkeypatch.setattr(prec, "cpu_has_bf16", lambda: True)  # auto: compared with what it resolves to here
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _apply_overrides(saved, {"precision": "auto"}).precision == "bf16"
    monkeypatch.setattr(prec, "cpu_has_bf16", lambda: False)
    with pytest.raises(UserError, match="cannot change --precision"):
        _apply_overrides(saved, {"precision": "auto"})
    # Options written before --precision existed read as float32.
    assert TrainingOptions.from_dict({"cfg": "stylegan2"}).precision == "fp32"
