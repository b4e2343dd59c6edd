"""Training-speed benchmark: seconds per 1000 training images (sec/kimg) and peak memory per preset,
resolution and device. Prints a table and writes JSON to benchmarks/results/.

    python benchmarks/training.py                         # CPU: every preset at 32x32, batch 8
    python benchmarks/training.py --device cuda --res 256,1024 --batch 32 --compile both

Each configuration runs in a fresh subprocess (its peak memory is its own: max RSS on CPU, the
allocator's peak on CUDA) and builds the real trainer (``stylegan.training.loop.Trainer``) with the
preset's training defaults and full capacity unless ``--cbase/--cmax`` are given. Every phase
(Gmain, Greg, Dmain, Dreg) is timed separately over ``--iters`` steps and amortised by its interval
(path length every 4 steps, R1 every 16 for StyleGAN2), plus the EMA update, so a few steps give
the steady-state cost of a step. Data loading is not included (images come from memory);
augmentation is off unless ``--aug ada``. ``--compile on`` trains with ``compile=True`` (``stylegan
train --compile 1``: G's synthesis and D compiled in the first-order passes); the warm-up step
compiles, and the row says whether compilation fell back to eager. StyleGAN (v1) is measured at its final resolution
(``progressive=False``), i.e. the cost of the last phase of progressive growing.
Official anchors (SPEC): StyleGAN3-T 256, one V100: 89.15 s/kimg, one A100: 49.81 s/kimg (batch 32).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PRESETS = "stylegan1,stylegan1-pin,stylegan2,stylegan3-t,stylegan3-r"


class RandomImages:
    """In-memory uint8 images, so the benchmark measures the networks and not the decoder."""

    def __init__(self, n: int, resolution: int, channels: int = 3):
        import numpy as np

        self.images = np.random.RandomState(0).randint(0, 256, [n, channels, resolution, resolution], dtype=np.uint8)
        self.resolution, self.num_channels, self.label_dim, self.has_labels = resolution, channels, 0, False
        self.name, self.bad_files = "random", {}

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        import numpy as np

        return self.images[i], np.zeros([0], dtype=np.float32)


def run_one(preset: str, res: int, batch: int, device: str, iters: int, warmup: int, aug: str, cbase, cmax,
            compile_: bool = False) -> dict:
    import torch

    from stylegan.training.loop import Trainer
    from stylegan.training.options import TrainingOptions, resolve_options
    from stylegan.utils.compile import CompiledOrEager

    dev = torch.device(device)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    progressive = False if preset.startswith("stylegan1") else None
    with tempfile.TemporaryDirectory() as tmp:
        opts = resolve_options(TrainingOptions(
            cfg=preset, data="random", resolution=res, batch=batch, kimg=1, aug=aug, workers=0, outdir=tmp,
            cbase=cbase, cmax=cmax, progressive=progressive, grid=(1, 1), compile=compile_,
        ), res)
        trainer = Trainer(opts, tmp, RandomImages(max(batch, 64), res), device=dev, verbose=False)
        reals, labels = trainer.feed.next()
        times: dict[str, list[float]] = {p.name: [] for p in trainer.phases}
        times["ema"] = []
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        for step in range(warmup + iters):
            for phase in trainer.phases:
                sync()
                t0 = time.perf_counter()
                trainer.run_phase(phase, reals, labels)
                sync()
                if step >= warmup:
                    times[phase.name].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            trainer.update_ema()
            sync()
            if step >= warmup:
                times["ema"].append(time.perf_counter() - t0)
        compile_status = "off"
        if compile_:
            fast = [trainer.loss.synthesis_first_order, trainer.loss.D_first_order]
            failed = [m.failed if isinstance(m, CompiledOrEager) else "unavailable" for m in fast]
            failed = [f for f in failed if f is not None]
            compile_status = "on" if not failed else f"eager ({failed[0][:80]})"
        interval = {p.name: p.interval for p in trainer.phases} | {"ema": 1}
        median = {name: sorted(t)[len(t) // 2] for name, t in times.items()}
        sec_per_step = sum(median[name] / interval[name] for name in median)
        if dev.type == "cuda":
            peak_mb = torch.cuda.max_memory_allocated(dev) / 2**20
        else:
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "preset": preset, "resolution": res, "batch": batch, "device": device, "aug": aug,
            "compile": compile_, "compile_status": compile_status,
            "sec_per_kimg": sec_per_step / batch * 1000, "images_per_s": batch / sec_per_step,
            "peak_memory_mb": peak_mb, "phase_ms": {k: 1000 * v for k, v in median.items()},
            "intervals": interval, "iters": iters, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "G_params": sum(p.numel() for p in trainer.G.parameters()),
            "cbase": opts.cbase, "cmax": opts.cmax, "fp32": opts.fp32,
        }


def machine(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default=PRESETS)
    p.add_argument("--res", default="32")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--iters", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--aug", default="none", choices=["none", "ada"])
    p.add_argument("--cbase", type=int, default=None, help="capacity (default: the preset's)")
    p.add_argument("--cmax", type=int, default=None)
    p.add_argument("--compile", default="off", choices=["off", "on", "both"])
    p.add_argument("--out", default=None, help="JSON output (default benchmarks/results/training-<device>.json)")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.one:  # child process: one configuration
        preset, res, compile_ = args.one.split(":")
        row = run_one(preset, int(res), args.batch, args.device, args.iters, args.warmup, args.aug, args.cbase,
                      args.cmax, compile_ == "1")
        print(json.dumps(row))
        return 0

    compiles = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    rows = []
    header = (f"{'preset':<15}{'res':>6}{'batch':>7}{'compile':>9}{'sec/kimg':>11}{'img/s':>9}{'peak MB':>10}"
              "   phases (ms)")
    print(f"machine: {machine(args.device)}  device: {args.device}")
    print(header)
    print("-" * len(header))
    for preset in args.presets.split(","):
        for res, comp in [(int(r), c) for r in args.res.split(",") for c in compiles]:
            cmd = [sys.executable, __file__, "--device", args.device, "--iters", str(args.iters), "--warmup",
                   str(args.warmup), "--batch", str(args.batch), "--aug", args.aug,
                   "--one", f"{preset}:{res}:{int(comp)}"]
            for name in ("cbase", "cmax"):
                if getattr(args, name) is not None:
                    cmd += [f"--{name}", str(getattr(args, name))]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{preset:<15}{res:>6}{args.batch:>7}{comp!s:>9}  failed: {proc.stderr.strip()[-300:]}")
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(row)
            phases = " ".join(f"{k} {v:.0f}" for k, v in row["phase_ms"].items())
            note = "" if row["compile_status"] in ("on", "off") else f"  {row['compile_status']}"
            print(f"{preset:<15}{res:>6}{args.batch:>7}{comp!s:>9}{row['sec_per_kimg']:>11.1f}"
                  f"{row['images_per_s']:>9.2f}{row['peak_memory_mb']:>10.0f}   {phases}{note}", flush=True)
    out = Path(args.out) if args.out else RESULTS / f"training-{args.device.replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(args.device), "results": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
