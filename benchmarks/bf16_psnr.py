"""Image quality of bfloat16 inference: PSNR of bf16 images against float32 ones, same weights and seeds.

    python benchmarks/bf16_psnr.py                                   # every preset at 64 and 256 px
    python benchmarks/bf16_psnr.py --presets stylegan2 --res 1024 --seeds 0-1
    python benchmarks/bf16_psnr.py --networks toyfaces-stylegan2-32  # trained (shipped) networks too

For each preset and resolution the full-capacity network is built with random weights (torch seed 0; noise
strengths set to 0.1 so that the noise inputs matter, as ``vs_official.py`` does), prepared for bfloat16 with
``stylegan.utils.precision.prepare_inference``, and both generate the images of ``--seeds`` (z drawn as
``stylegan generate`` draws it, truncation psi 1, constant noise). Two PSNRs per row:

- ``raw``: of the network's float32 output, peak-to-peak 2 (the [-1, 1] image range): 10 log10(4 / MSE);
- ``png``: of the 8-bit images ``stylegan generate`` writes (clamped to [-1, 1], x * 127.5 + 128), peak 255.

Random full-size networks make images of standard deviation 1-2 (much of it outside [-1, 1], which the PNG
clips), so ``raw`` is the stricter figure. ``SNR``: 10 log10(mean(ref^2) / MSE), independent of the
image's scale (StyleGAN3's random networks make images of standard deviation 0.1, which flatters PSNR).
For comparison, ``autocast``: the float32 network under ``torch.autocast("cpu", bfloat16)`` (bfloat16
convolutions, every other op in float32). Prints a table
and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import torch

import stylegan
from stylegan.models import build_preset
from stylegan.utils.images import quantize
from stylegan.utils.precision import prepare_inference
from stylegan.utils.seeds import parse_seeds, z_from_seeds

RESULTS = Path(__file__).resolve().parent / "results"
PRESETS = "stylegan1,stylegan1-pin,stylegan2,stylegan3-t,stylegan3-r"


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float) -> float:
    """10 log10(peak^2 / MSE) of two images of the same shape."""
    mse = (a.double() - b.double()).square().mean().item()
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


def measure(G: torch.nn.Module, seeds: list[int]) -> dict:
    """PSNR of ``G`` prepared for bfloat16 against ``G`` in float32, on the images of ``seeds``."""
    Gb = prepare_inference(G, "bf16")
    z = z_from_seeds(seeds, G.z_dim)
    c = torch.zeros(len(seeds), G.c_dim)
    with torch.no_grad():
        ws = G.mapping(z, c)
        t0 = time.perf_counter()
        ref = G.synthesis(ws, noise_mode="const")
        t1 = time.perf_counter()
        img = Gb.synthesis(ws, noise_mode="const")
        t2 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            autocast = G.synthesis(ws, noise_mode="const").float()
    return dict(
        psnr_raw_db=psnr(img, ref, 2.0),
        psnr_png_db=psnr(quantize(img), quantize(ref), 255.0),
        psnr_raw_autocast_db=psnr(autocast, ref, 2.0),
        snr_db=psnr(img, ref, ref.square().mean().sqrt().item()),
        snr_autocast_db=psnr(autocast, ref, ref.square().mean().sqrt().item()),
        max_abs_diff=(img - ref).abs().max().item(),
        image_std=ref.std().item(),
        fraction_outside_unit=(ref.abs() > 1).float().mean().item(),
        fp32_s=t1 - t0,
        bf16_s=t2 - t1,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default=PRESETS)
    p.add_argument("--res", default="64,256")
    p.add_argument("--seeds", default="0-3")
    p.add_argument("--networks", default="", help="network files or shipped names, measured as they are")
    p.add_argument("--out", default=None, help="JSON output (default benchmarks/results/bf16-psnr-cpu.json)")
    args = p.parse_args()
    seeds = parse_seeds(args.seeds)
    rows = []
    header = (
        f"{'network':<26}{'res':>6}{'raw PSNR dB':>13}{'PNG PSNR dB':>13}{'autocast dB':>13}{'SNR dB':>8}"
        f"{'autocast':>10}{'image std':>11}"
    )
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; seeds {args.seeds}")
    print(header)
    print("-" * len(header))

    def report(name: str, res: int, G: torch.nn.Module) -> None:
        row = dict(network=name, resolution=res, seeds=seeds, **measure(G.eval(), seeds))
        rows.append(row)
        print(
            f"{name:<26}{res:>6}{row['psnr_raw_db']:>13.1f}{row['psnr_png_db']:>13.1f}{row['psnr_raw_autocast_db']:>13.1f}"
            f"{row['snr_db']:>8.1f}{row['snr_autocast_db']:>10.1f}{row['image_std']:>11.3f}",
            flush=True,
        )

    for preset in [n for n in args.presets.split(",") if n]:
        for res in [int(r) for r in args.res.split(",") if r]:
            torch.manual_seed(0)
            G = build_preset(preset, res).build()[0]
            with torch.no_grad():
                for name, param in G.named_parameters():
                    if name.endswith("noise_strength") or name.endswith("noise.weight"):
                        param.fill_(0.1)
            report(preset, res, G)
    for network in [n for n in args.networks.split(",") if n]:
        G = stylegan.load(network)
        report(network, G.img_resolution, G)

    out = Path(args.out) if args.out else RESULTS / "bf16-psnr-cpu.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    info = dict(
        what="PSNR of bfloat16 inference (prepare_inference) against float32, same weights and seeds",
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        torch=torch.__version__,
        results=rows,
    )
    out.write_text(json.dumps(info, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
