"""Training-speed benchmark: seconds per 1000 training images (sec/kimg) and peak memory per preset,
resolution and device. Prints a table and writes JSON to benchmarks/results/.

    python benchmarks/training.py                         # CPU: every preset at 32x32, batch 8
    python benchmarks/training.py --device cuda --res 256,1024 --batch 32 --compile both
    OMP_NUM_THREADS=1 python benchmarks/training.py --presets stylegan2 --batch 32 --precision fp32,bf16

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
``--precision fp32,bf16`` (``stylegan train --precision``) builds one trainer per precision with the
same weights in the same process and interleaves their steps (fp32 then bf16, bf16 then fp32 on the
next step, and so on), so that a busy machine slows both alike; each row gets the ratio of the first
precision's sec/kimg to its own. Their peak memory is then the process's, shared by both.
``--recompute activations`` or ``layers`` (``stylegan train --recompute``, StyleGAN3 only) recomputes
the filtered leaky ReLU's upsampled tensors, or whole synthesis layers, in the backward pass instead
of storing them; a comma list (``none,activations,layers``) measures each in its own process, so
each row's peak memory is its own.
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


def run_one(
    preset: str,
    res: int,
    batch: int,
    device: str,
    iters: int,
    warmup: int,
    aug: str,
    cbase,
    cmax,
    compile_: bool = False,
    precisions: tuple[str, ...] = ("fp32",),
    recompute: str = "none",
) -> list[dict]:
    """One row per precision; several precisions are measured interleaved, step by step."""
    import torch

    from stylegan.training.loop import Trainer
    from stylegan.training.options import TrainingOptions, resolve_options

    dev = torch.device(device)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    progressive = False if preset.startswith("stylegan1") else None
    with tempfile.TemporaryDirectory() as tmp:
        trainers, times = {}, {}
        for precision in precisions:
            opts = resolve_options(
                TrainingOptions(
                    cfg=preset,
                    data="random",
                    resolution=res,
                    batch=batch,
                    kimg=1,
                    aug=aug,
                    workers=0,
                    outdir=tmp,
                    cbase=cbase,
                    cmax=cmax,
                    progressive=progressive,
                    grid=(1, 1),
                    compile=compile_,
                    precision=precision,
                    recompute=recompute,
                ),
                res,
                device_type=dev.type,
            )
            trainer = Trainer(opts, tmp, RandomImages(max(batch, 64), res), device=dev, verbose=False)
            trainers[precision] = (trainer, *trainer.feed.next())
            times[precision] = {p.name: [] for p in trainer.phases} | {"ema": []}
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        for step in range(warmup + iters):
            order = list(precisions) if step % 2 == 0 else list(reversed(precisions))
            for precision in order:
                trainer, reals, labels = trainers[precision]
                for phase in trainer.phases:
                    sync()
                    t0 = time.perf_counter()
                    trainer.run_phase(phase, reals, labels)
                    sync()
                    if step >= warmup:
                        times[precision][phase.name].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                trainer.update_ema()
                sync()
                if step >= warmup:
                    times[precision]["ema"].append(time.perf_counter() - t0)
        return [
            _row(trainers[p][0], times[p], p, preset, res, batch, device, aug, compile_, iters, dev) for p in precisions
        ]


def _row(trainer, times, precision, preset, res, batch, device, aug, compile_, iters, dev) -> dict:
    """The result row of one trainer from its per-phase step times."""
    import torch

    from stylegan.utils.compile import CompiledOrEager

    opts = trainer.opts
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
        "preset": preset,
        "resolution": res,
        "batch": batch,
        "device": device,
        "aug": aug,
        "compile": compile_,
        "compile_status": compile_status,
        "sec_per_kimg": sec_per_step / batch * 1000,
        "images_per_s": batch / sec_per_step,
        "peak_memory_mb": peak_mb,
        "phase_ms": {k: 1000 * v for k, v in median.items()},
        "intervals": interval,
        "iters": iters,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "G_params": sum(p.numel() for p in trainer.G.parameters()),
        "cbase": opts.cbase,
        "cmax": opts.cmax,
        "fp32": opts.fp32,
        "precision": precision,
        "recompute": opts.recompute,
    }


def machine(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    from stylegan.utils.precision import cpu_has_bf16

    return f"{name} CPU, {os.cpu_count()} cores{', native bfloat16' if cpu_has_bf16() else ''}"


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
    p.add_argument("--cmax", default=None, help="maximum channels, or a comma list of them (a row each)")
    p.add_argument("--compile", default="off", choices=["off", "on", "both"])
    p.add_argument(
        "--recompute",
        default="none",
        help="none, activations, layers (StyleGAN3), or a comma list of them (a row each)",
    )
    p.add_argument(
        "--precision",
        default="fp32",
        help="fp32, bf16, auto, or a comma list measured interleaved in one process (e.g. fp32,bf16)",
    )
    p.add_argument("--out", default=None, help="JSON output (default benchmarks/results/training-<device>.json)")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()

    precisions = tuple(args.precision.split(","))
    if args.one:  # child process: one configuration
        preset, res, compile_, cmax, recompute = args.one.split(":")
        for row in run_one(
            preset,
            int(res),
            args.batch,
            args.device,
            args.iters,
            args.warmup,
            args.aug,
            args.cbase,
            int(cmax) if cmax else None,
            compile_ == "1",
            precisions,
            recompute,
        ):
            print(json.dumps(row))
        return 0

    compiles = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    recomputes = args.recompute.split(",")
    cmaxes = [int(c) for c in args.cmax.split(",")] if args.cmax else [None]
    rows = []
    header = (
        f"{'preset':<15}{'res':>6}{'batch':>7}{'cmax':>6}{'compile':>9}{'recompute':>12}{'precision':>11}{'sec/kimg':>11}"
        f"{'x ' + precisions[0]:>8}{'img/s':>9}{'peak MB':>10}   phases (ms)"
    )
    print(f"machine: {machine(args.device)}  device: {args.device}  threads: {os.environ.get('OMP_NUM_THREADS', '-')}")
    print(header)
    print("-" * len(header))
    for preset in args.presets.split(","):
        # Only StyleGAN3 has filtered activations to recompute.
        rcs = [rc for rc in recomputes if rc == "none" or preset.startswith("stylegan3")]
        configs = [(int(r), m, c, rc) for r in args.res.split(",") for m in cmaxes for c in compiles for rc in rcs]
        for res, cmax, comp, rc in configs:
            cmd = [
                sys.executable,
                __file__,
                "--device",
                args.device,
                "--iters",
                str(args.iters),
                "--warmup",
                str(args.warmup),
                "--batch",
                str(args.batch),
                "--aug",
                args.aug,
                "--precision",
                args.precision,
                "--one",
                f"{preset}:{res}:{int(comp)}:{cmax or ''}:{rc}",
            ]
            if args.cbase is not None:
                cmd += ["--cbase", str(args.cbase)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(
                    f"{preset:<15}{res:>6}{args.batch:>7}{cmax or '-':>6}{comp!s:>9}{rc:>12}  failed: "
                    f"{proc.stderr.strip()[-300:]}"
                )
                continue
            found = [json.loads(line) for line in proc.stdout.strip().splitlines() if line.startswith("{")]
            base = found[0]["sec_per_kimg"]
            for row in found:
                row["speedup_vs_first"] = base / row["sec_per_kimg"]
                rows.append(row)
                phases = " ".join(f"{k} {v:.0f}" for k, v in row["phase_ms"].items())
                note = "" if row["compile_status"] in ("on", "off") else f"  {row['compile_status']}"
                print(
                    f"{preset:<15}{res:>6}{args.batch:>7}{row['cmax'] or '-':>6}{comp!s:>9}{rc:>12}"
                    f"{row['precision']:>11}"
                    f"{row['sec_per_kimg']:>11.1f}{row['speedup_vs_first']:>8.2f}{row['images_per_s']:>9.2f}"
                    f"{row['peak_memory_mb']:>10.0f}   {phases}{note}",
                    flush=True,
                )
    out = Path(args.out) if args.out else RESULTS / f"training-{args.device.replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(args.device), "load": os.getloadavg(), "results": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
