"""``--recompute activations|layers``: the filtered leaky ReLU's upsampled tensors, or whole StyleGAN3
synthesis layers, are recomputed in the backward pass instead of stored.

The gradients (first and second order, parameters and inputs) equal those of the stored tensors,
for the op in float64 and for StyleGAN3-T and -R generators (float32 networks); the generator then
keeps far fewer bytes for its backward pass (layers fewer than activations); ``stylegan train``
takes the option for StyleGAN3 only, stores it with the run, and a resumed run keeps it unless told
otherwise.
"""

import json

import pytest
import torch

from stylegan.cli.main import main
from stylegan.models import build_preset
from stylegan.models.stylegan3 import set_recompute
from stylegan.ops.filtered_lrelu import filtered_lrelu
from stylegan.ops.filters import design_lowpass_filter
from stylegan.training.launch import _apply_overrides
from stylegan.training.options import TrainingOptions


def _gradients(fn, inputs: list[torch.Tensor], weights: torch.Tensor) -> list[torch.Tensor]:
    """The output, d<out, weights>/d inputs, and the gradient of a path-length-like penalty
    ||d<out, weights>/d inputs[0]||^2 (a second derivative, as in StyleGAN2's Eq. 4)."""
    out = fn()
    grads = torch.autograd.grad((out * weights).sum(), inputs, create_graph=True)
    second = torch.autograd.grad(grads[0].square().sum(), inputs, allow_unused=True)
    return [out, *grads, *[g for g in second if g is not None]]


@pytest.mark.parametrize("up, down, radial", [(2, 2, False), (2, 2, True), (4, 2, False), (1, 1, False)])
def test_op_gradients_equal_in_float64(up, down, radial):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 12, 12, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    fs = 8.0 * max(up, down)
    fu = design_lowpass_filter(6 * up, 3.0, 1.5, fs).double() if up > 1 else None
    fd = design_lowpass_filter(6 * down, 3.0, 1.5, fs, radial=radial).double() if down > 1 else None

    def op(recompute: bool) -> torch.Tensor:
        return filtered_lrelu(x, fu, fd, b, up=up, down=down, padding=5, clamp=0.7, recompute=recompute)

    weights = torch.randn_like(op(False))
    stored = _gradients(lambda: op(False), [x, b], weights)
    recomputed = _gradients(lambda: op(True), [x, b], weights)
    assert len(stored) == len(recomputed) >= 4
    for a, c in zip(stored, recomputed, strict=True):
        torch.testing.assert_close(c, a, rtol=0, atol=1e-10)


def _generator(preset: str) -> torch.nn.Module:
    torch.manual_seed(1)
    return build_preset(preset, 16, channel_base=256, channel_max=8, z_dim=8, w_dim=8).build()[0].train()


def _saved_bytes(G, ws) -> int:
    """Bytes of the distinct tensors autograd keeps for the backward pass of one synthesis pass."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        G.synthesis(ws)
    return sum(storages.values())


@pytest.mark.parametrize("preset", ["stylegan3-t", "stylegan3-r"])
def test_generator_gradients_equal_and_memory_drops(preset):
    G = _generator(preset)
    ws = G.mapping(torch.randn(2, G.z_dim), torch.zeros(2, 0)).detach().requires_grad_(True)
    weights = torch.randn(2, 3, 16, 16)
    params = [p for p in G.synthesis.parameters()]
    for p in params:
        p.requires_grad_(True)

    def step(mode: str) -> list[torch.Tensor]:
        assert set_recompute(G, mode) == G.synthesis.num_layers + 1
        return _gradients(lambda: G.synthesis(ws), [ws, *params], weights)

    stored = step("none")
    assert len(stored) > 2 * len(params)
    for mode in ("activations", "layers"):
        for a, c in zip(stored, step(mode), strict=True):
            torch.testing.assert_close(c, a, rtol=1e-6, atol=1e-7)
    saved = {}
    for mode in ("none", "activations", "layers"):
        set_recompute(G, mode)
        saved[mode] = _saved_bytes(G, ws)
    assert saved["layers"] < 0.8 * saved["activations"] < 0.4 * saved["none"], saved
    with pytest.raises(ValueError, match="recompute must be one of"):
        set_recompute(G, "all")


TINY = [
    "--cfg",
    "stylegan3-t",
    "--data",
    "toyfaces",
    "--res",
    "16",
    "--batch",
    "4",
    "--gpus",
    "1",
    "--cbase",
    "256",
    "--cmax",
    "8",
    "--z-dim",
    "8",
    "--w-dim",
    "8",
    "--aug",
    "none",
    "--workers",
    "0",
    "--kimg",
    "0.004",
    "--tick",
    "0.004",
]


def test_train_stores_the_option_and_resume_keeps_it(tmp_path, capsys):
    assert main(["train", *TINY, "--recompute", "layers", "--outdir", str(tmp_path)]) == 0, capsys.readouterr().err
    (run_dir,) = tmp_path.iterdir()
    options = run_dir / "training_options.json"
    assert json.loads(options.read_text())["recompute"] == "layers"
    assert "Recomputing G's layers in the backward pass" in (run_dir / "log.txt").read_text()
    resume = ["train", "--resume", "latest", "--outdir", str(tmp_path)]
    assert main([*resume, "--kimg", "0.008"]) == 0, capsys.readouterr().err
    assert json.loads(options.read_text())["recompute"] == "layers"
    assert (run_dir / "log.txt").read_text().count("Recomputing G's layers") == 2
    # The gradients are the same, so a resumed run may change it.
    saved = TrainingOptions.load(options)
    assert _apply_overrides(saved, {"recompute": "none"}).recompute == "none"


def test_refused_where_there_is_no_filtered_lrelu(tmp_path, capsys):
    args = ["train", *TINY, "--cfg", "stylegan2", "--recompute", "activations", "--outdir", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--recompute applies to stylegan3-t and stylegan3-r only (--cfg stylegan2)" in err
    assert main(["train", *TINY, "--recompute", "1", "--outdir", str(tmp_path)]) == 2
    err += capsys.readouterr().err
    assert "'1' is not one of 'none', 'activations', 'layers'" in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []
