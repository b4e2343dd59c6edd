"""Run in a subprocess by the export tests: load an exported checkpoint with rosinality/stylegan2-pytorch's
own ``Generator``/``Discriminator`` (``load_state_dict``, strict) and save what they compute.

    python -m tests.io.rosinality_runner ROSINALITY_ROOT CHECKPOINT INPUTS.pt OUTPUTS.pt

Its ``op`` package compiles CUDA extensions when imported; ``torch.utils.cpp_extension.load`` is
replaced by a stub first, so that its CPU code paths (``upfirdn2d_native``, the plain leaky ReLU)
run. INPUTS.pt holds ``z``; OUTPUTS.pt gets ``images`` (``g_ema``, truncation 0.7 towards
``latent_avg``, the stored noise maps) and ``logits`` (``d`` on those images).
"""

from __future__ import annotations

import sys


def main(root: str, ckpt_path: str, inputs: str, outputs: str) -> None:
    import torch
    import torch.utils.cpp_extension

    torch.utils.cpp_extension.load = lambda *args, **kwargs: None  # no CUDA build; CPU paths only
    sys.path.insert(0, root)
    from model import Discriminator, Generator  # rosinality's, from root

    ckpt = torch.load(ckpt_path, weights_only=False)
    a = ckpt["args"]
    g = Generator(a.size, a.latent, a.n_mlp, channel_multiplier=a.channel_multiplier, lr_mlp=a.lr_mlp)
    g.load_state_dict(ckpt["g_ema"])  # strict: every name and shape must fit
    d = Discriminator(a.size, channel_multiplier=a.channel_multiplier)
    d.load_state_dict(ckpt["d"])
    z = torch.load(inputs)["z"]
    with torch.no_grad():
        img, _ = g([z], truncation=0.7, truncation_latent=ckpt["latent_avg"][None], randomize_noise=False)
        torch.save({"images": img, "logits": d(img)}, outputs)


if __name__ == "__main__":
    main(*sys.argv[1:])
