"""``--compile``: the first-order passes of training through ``torch.compile`` compute the same
gradients as the eager networks; R1 and path length stay eager; progressive growing refuses it."""

import pytest
import torch

from stylegan.errors import UserError
from stylegan.training.launch import train
from stylegan.training.loop import Trainer
from stylegan.training.loss import draw_latents
from stylegan.utils.compile import CompiledOrEager, compile_available
from tests.training.tiny import Crash, TinyDataset, assert_same_tensors, crash_at, final_state, run, tiny_options

pytestmark = pytest.mark.skipif(not compile_available("cpu"), reason="torch.compile needs a C++ compiler on the CPU")


def grads(module):
    return {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}


def first_order_grads(trainer):
    """G's gradients of the main G term and D's of the main D terms, on fixed latents and reals."""
    loss = trainer.loss
    gen = torch.Generator().manual_seed(3)
    latents = draw_latents(4, trainer.G.z_dim, trainer.G.num_ws, 0.5, trainer.labels, gen)
    reals = torch.rand([4, 3, 8, 8], generator=gen) * 2 - 1
    out = {}
    torch.manual_seed(5)  # the noise inputs
    trainer.G.requires_grad_(True)
    loss.generator_main(latents, 0, 1.0)
    trainer.G.requires_grad_(False)
    out["G"] = grads(trainer.G)
    trainer.D.requires_grad_(True)
    loss.discriminator_fake(latents, 0, 1.0)
    loss.discriminator_real(reals, latents.c, 0, 1.0, main=True, r1=False)
    trainer.D.requires_grad_(False)
    out["D"] = grads(trainer.D)
    return out


def test_compiled_passes_give_the_eager_gradients(tmp_path):
    # Random ops (the noise inputs) as in eager mode, so that both draw the same numbers.
    with torch._inductor.config.patch(fallback_random=True):
        check_compiled_passes(tmp_path)


def check_compiled_passes(tmp_path):
    torch._dynamo.reset()
    data = TinyDataset(8, 8)
    eager = Trainer(tiny_options(tmp_path / "a"), tmp_path / "a", data, device="cpu", verbose=False)
    compiled = Trainer(tiny_options(tmp_path / "b", compile=True), tmp_path / "b", data, device="cpu", verbose=False)
    assert isinstance(compiled.loss.synthesis_first_order, CompiledOrEager)
    assert isinstance(compiled.loss.D_first_order, CompiledOrEager)
    assert eager.loss.synthesis_first_order is eager.G.synthesis and eager.loss.D_first_order is eager.D

    want, got = first_order_grads(eager), first_order_grads(compiled)
    assert compiled.loss.synthesis_first_order.failed is None and compiled.loss.D_first_order.failed is None
    for net in ("G", "D"):
        assert want[net].keys() == got[net].keys() and want[net]
        for name in want[net]:
            torch.testing.assert_close(got[net][name], want[net][name], rtol=1e-4, atol=1e-5, msg=f"{net}.{name}")

    # Whole steps, with the lazy regularisers (eager, second order) at step 0.
    for _ in range(2):
        compiled.train_step()
    assert compiled.cur_nimg == 8
    assert all(torch.isfinite(p).all() for p in compiled.G.parameters())
    assert compiled.loss.synthesis_first_order.failed is None


def test_compile_refuses_progressive_growing(tmp_path):
    with pytest.raises(UserError, match="--compile does not apply to progressive growing"):
        tiny_options(tmp_path, cfg="stylegan1", progressive=True, batch=None, compile=True)


@pytest.mark.filterwarnings("error:torch.compile failed")  # a fallback to eager would pass unnoticed
def test_a_compiled_run_resumes_bit_for_bit(tmp_path):
    opts = dict(kimg=0.024, snap=2, seed=3, compile=True)
    run_a = run(tiny_options(tmp_path / "a", **opts))
    opts_b = tiny_options(tmp_path / "b", **opts)
    with pytest.raises(Crash):
        run(opts_b, hooks={"after_step": crash_at(12)})
    train(opts_b, resume="latest", dataset=TinyDataset(32, 8), verbose=False)
    a, b = final_state(run_a), final_state(next((tmp_path / "b").iterdir()))
    for key in ("G", "D", "G_ema"):
        assert_same_tensors(a[key], b[key])


def test_compile_may_change_when_resuming(tmp_path):
    from stylegan.training.launch import _apply_overrides

    saved = tiny_options(tmp_path)
    assert _apply_overrides(saved, {"compile": True}).compile
