"""``make demo``: generate a grid from a randomly initialised StyleGAN2 network.

(Replaced by the end-to-end training demo once training lands.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import stylegan
from stylegan.models import build_preset
from stylegan.tools.generate import generate_images, write_images


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outdir", default="out/demo")
    args = parser.parse_args(argv)
    outdir = Path(args.outdir)
    torch.manual_seed(0)
    G, _ = build_preset("stylegan2", 64, channel_base=2048, channel_max=128, map_layers=4, z_dim=128,
                        w_dim=128).build()
    ckpt = stylegan.save(G, outdir / "random-stylegan2-64.safetensors")
    images = generate_images(G, list(range(16)), truncation_psi=0.7)
    result = write_images(images, list(range(16)), outdir / "samples")
    print(f"demo: random StyleGAN2 network {ckpt}, samples in {result.grid.parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
