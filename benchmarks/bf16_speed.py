"""bfloat16 against float32 inference, side by side in one process, with achieved GFLOP/s next to the
machine's measured peak.

    OMP_NUM_THREADS=1 python benchmarks/bf16_speed.py                       # stylegan2 and stylegan3-t, 256 px
    OMP_NUM_THREADS=2 python benchmarks/bf16_speed.py --presets stylegan2 --res 64,256 --batch 1,4 --reps 5

First a calibration in the same process: a 2048 x 2048 matrix product and a 3x3 convolution (256 -> 256
channels, 64 x 64, channels-last), each in float32 and bfloat16. Then, per preset, resolution and batch,
the full-capacity generator (random weights, torch seed 0), its ``prepare_inference(G, "bf16")`` copy
(z -> image: mapping and synthesis, constant noise) and the calibration convolution in both dtypes run
alternately (A B C D, D C B A, ...) ``--reps`` times; medians are reported, and each row's peak is the
calibration convolution of its dtype measured in that same loop (so a row and its peak see the same load).
Batch 1 is the latency an interactive user feels. GFLOP per image is counted by ``torch.utils.flop_counter``
(convolutions and matrix products: what the matrix units do; elementwise work is not counted), so GFLOP/s
over the peak says how close each row is to the machine's limit. Prints a table and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from stylegan.models import build_preset
from stylegan.utils.precision import cpu_has_bf16, prepare_inference

RESULTS = Path(__file__).resolve().parent / "results"
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def median_seconds(fn, reps: int = 5) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


CONV_FLOP = 2 * 256 * 256 * 9 * 64 * 64  # the calibration convolution


def calibration_convs() -> dict:
    """Per dtype, a 3x3 convolution of 256 -> 256 channels on 64 x 64 pixels, channels-last."""
    torch.manual_seed(0)
    out = {}
    for name, dtype in DTYPES.items():
        x = torch.randn(1, 256, 64, 64, dtype=dtype).contiguous(memory_format=torch.channels_last)
        w = torch.randn(256, 256, 3, 3, dtype=dtype)
        out[name] = lambda x=x, w=w: F.conv2d(x, w, padding=1)
    return out


def calibrate() -> dict[str, dict[str, float]]:
    """GFLOP/s of a 2048 matrix product and of a 256-channel 3x3 convolution (64 x 64, channels-last)."""
    torch.manual_seed(0)
    out: dict[str, dict[str, float]] = {}
    with torch.no_grad():
        for name, dtype in DTYPES.items():
            a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
            x = torch.randn(1, 256, 64, 64, dtype=dtype).contiguous(memory_format=torch.channels_last)
            w = torch.randn(256, 256, 3, 3, dtype=dtype)
            matmul = 2 * 2048**3 / median_seconds(lambda a=a, b=b: a @ b) / 1e9
            conv = CONV_FLOP / median_seconds(lambda x=x, w=w: F.conv2d(x, w, padding=1)) / 1e9
            out[name] = dict(matmul_gflops=matmul, conv3x3_gflops=conv, peak_gflops=max(matmul, conv))
    return out


def count_gflop(G, z, c) -> float:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        G(z, c, noise_mode="const")
    return counter.get_total_flops() / 1e9


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="stylegan2,stylegan3-t")
    p.add_argument("--res", default="256")
    p.add_argument("--batch", default="1,4")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--out", default=None, help="JSON output (default benchmarks/results/bf16-speed-cpu.json)")
    args = p.parse_args()

    load_before = os.getloadavg()
    peak = calibrate()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"native bf16: {cpu_has_bf16()}, threads: {torch.get_num_threads()}, load average {load_before[0]:.1f}"
    )
    for name, cal in peak.items():
        print(
            f"calibration {name}: matmul 2048 {cal['matmul_gflops']:.0f} GFLOP/s, "
            f"conv 3x3 {cal['conv3x3_gflops']:.0f} GFLOP/s"
        )
    header = (
        f"{'preset':<13}{'res':>5}{'batch':>6}{'prec':>6}{'ms/img':>10}{'img/s':>8}{'GFLOP/img':>11}"
        f"{'GFLOP/s':>9}{'% peak':>8}{'bf16 x':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for preset in args.presets.split(","):
        for res in [int(r) for r in args.res.split(",")]:
            torch.manual_seed(0)
            G = build_preset(preset, res).build()[0].eval().requires_grad_(False)
            nets = {"fp32": G, "bf16": prepare_inference(G, "bf16")}
            for batch in [int(b) for b in args.batch.split(",")]:
                z, c = torch.randn(batch, G.z_dim), torch.zeros(batch, G.c_dim)
                gflop = count_gflop(G, z, c) / batch
                # The generators and the calibration convolution of each dtype, interleaved, so that each row's
                # peak is measured under the same load as the row itself (shared machines).
                runs = {name: lambda net=net, z=z, c=c: net(z, c, noise_mode="const") for name, net in nets.items()}
                runs.update({f"conv_{name}": fn for name, fn in calibration_convs().items()})
                times: dict[str, list[float]] = {name: [] for name in runs}
                with torch.no_grad():
                    for fn in runs.values():  # warm-up (and the per-weight constants of the bf16 network)
                        fn()
                    for rep in range(args.reps):
                        for name in list(runs) if rep % 2 == 0 else list(runs)[::-1]:
                            t0 = time.perf_counter()
                            runs[name]()
                            times[name].append(time.perf_counter() - t0)
                seconds = {name: statistics.median(ts) for name, ts in times.items()}
                row_peak = {name: CONV_FLOP / seconds[f"conv_{name}"] / 1e9 for name in nets}
                for name in nets:
                    s = seconds[name]
                    row = dict(
                        preset=preset,
                        resolution=res,
                        batch=batch,
                        precision=name,
                        ms_per_image=1000 * s / batch,
                        ms_per_call=1000 * s,
                        images_per_s=batch / s,
                        gflop_per_image=gflop,
                        gflops=gflop * batch / s,
                        peak_conv3x3_gflops=row_peak[name],
                        fraction_of_peak=gflop * batch / s / row_peak[name],
                        bf16_speedup=seconds["fp32"] / seconds["bf16"],
                        all_s=times[name],
                    )
                    rows.append(row)
                    print(
                        f"{preset:<13}{res:>5}{batch:>6}{name:>6}{row['ms_per_image']:>10.1f}"
                        f"{row['images_per_s']:>8.2f}{gflop:>11.2f}{row['gflops']:>9.1f}"
                        f"{100 * row['fraction_of_peak']:>7.1f}%"
                        + (f"{row['bf16_speedup']:>7.2f}x" if name == "bf16" else ""),
                        flush=True,
                    )
    info = dict(
        what="inference (mapping + synthesis), float32 against bfloat16 (prepare_inference), interleaved",
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        native_bf16=cpu_has_bf16(),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        loadavg_before=load_before,
        loadavg_after=os.getloadavg(),
        calibration=peak,
        reps=args.reps,
        results=rows,
    )
    out = Path(args.out) if args.out else RESULTS / "bf16-speed-cpu.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=2))
    print(f"load average before {load_before[0]:.1f}, after {info['loadavg_after'][0]:.1f}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
