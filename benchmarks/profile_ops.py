"""Hottest ops of one generator forward pass, with the fast paths and with the reference ops.

    python benchmarks/profile_ops.py --presets stylegan2,stylegan3-t --res 64 --batch 2

Prints torch.profiler's table (self CPU/CUDA time per op) for each preset, once with
``STYLEGAN_REFERENCE_OPS`` semantics (``stylegan.ops.use_reference(True)``) and once with the
fast paths. Networks use the presets' full capacity with random weights.
"""

from __future__ import annotations

import argparse

import torch

from stylegan.models import build_preset
from stylegan.ops import reference_ops


def profile(preset: str, res: int, batch: int, device: str, reference: bool, rows: int) -> str:
    torch.manual_seed(0)
    G = build_preset(preset, res).build()[0].to(device).eval()
    z = torch.randn(batch, G.z_dim, device=device)
    c = torch.zeros(batch, G.c_dim, device=device)
    with torch.no_grad(), reference_ops(reference):
        ws = G.mapping(z, c)
        G.synthesis(ws, noise_mode="const")  # warm-up
        with torch.profiler.profile() as prof:
            G.synthesis(ws, noise_mode="const")
    key = "self_cuda_time_total" if device.startswith("cuda") else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="stylegan2,stylegan3-t")
    p.add_argument("--res", type=int, default=64)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--rows", type=int, default=10)
    args = p.parse_args()
    for preset in args.presets.split(","):
        for reference in (True, False):
            print(f"== {preset} {args.res}px batch {args.batch} {'reference ops' if reference else 'fast paths'}")
            print(profile(preset, args.res, args.batch, args.device, reference, args.rows), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
