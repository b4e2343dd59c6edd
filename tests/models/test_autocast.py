"""Every preset runs under autocast (bfloat16 and float16 on the CPU): finite images, logits and
gradients, close to float32. CUDA's float16 layers use the same ops and the same ``conv_clamp``."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from stylegan.models.configs import build_preset

PRESETS = ["stylegan1", "stylegan1-pin", "stylegan2", "stylegan3-t", "stylegan3-r"]
# Mean |autocast - float32| relative to the image's standard deviation; measured 0.009-0.031
# (bfloat16, 8 bits of mantissa) and 0.001-0.003 (float16, 11 bits).
TOLERANCE = {torch.bfloat16: 0.08, torch.float16: 0.01}


def _small(preset):
    torch.manual_seed(0)
    return build_preset(preset, 16, channel_base=512, channel_max=32, map_layers=2, z_dim=32, w_dim=32).build()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("preset", PRESETS)
def test_autocast_forward_and_backward(preset, dtype):
    G, D = _small(preset)
    z = torch.randn(2, 32, generator=torch.Generator().manual_seed(1))
    c = torch.zeros(2, 0)
    with torch.no_grad():
        reference = G(z, c, noise_mode="const")
    with torch.autocast("cpu", dtype=dtype):
        img = G(z, c, noise_mode="const")
        logits = D(img, c)
    assert torch.isfinite(img).all() and torch.isfinite(logits).all()
    error = ((img.float() - reference).abs().mean() / reference.std()).item()
    assert error < TOLERANCE[dtype], error
    F.softplus(-logits.float()).mean().backward()
    grads = [p.grad for p in list(G.parameters()) + list(D.parameters()) if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("which", ["conv", "affine"])
def test_float16_stays_finite_with_huge_activations(which):
    """Biases 1000x too large in the demodulated layers. ``conv``: the layers' outputs pass
    float16's 65504 and the clamp (``conv_clamp`` = 256 in the presets) bounds them. ``affine``:
    styles of about 1000; weight and styles are pre-scaled under float16 autocast as in float16
    layers, and the demodulation coefficients are computed in float32."""
    G, _ = _small("stylegan2")
    with torch.no_grad():
        for name, p in G.synthesis.named_parameters():
            if name.endswith(".bias") and (".affine." in name) == (which == "affine") and "torgb" not in name:
                p.mul_(1e3).add_(1e3)
    z = torch.randn(2, 32)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16):
        img = G(z, torch.zeros(2, 0), noise_mode="const")
    assert torch.isfinite(img).all()
    assert img.abs().max() <= 256 * 3  # the skip generator sums 3 clamped ToRGB outputs (4 to 16 px)
