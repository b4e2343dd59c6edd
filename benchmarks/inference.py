"""Generator inference benchmark: images/s, ms/image and peak memory per preset, resolution,
batch size and device. Prints a table and writes JSON to benchmarks/results/.

    python benchmarks/inference.py                       # CPU defaults: stylegan2 at 64 and 256
    python benchmarks/inference.py --presets stylegan1,stylegan2,stylegan3-t,stylegan3-r --res 256 --batch 1,8 \
        --device cuda --compile both
    python benchmarks/inference.py --presets all         # every registered preset
    python benchmarks/inference.py --reference             # the reference ops (STYLEGAN_REFERENCE_OPS=1)

``--compile on`` wraps the synthesis network with ``stylegan.utils.compile.maybe_compile``: where
compilation is unavailable or fails, the row says so and the network runs eagerly.

Each configuration runs in a fresh subprocess so that its peak memory (max RSS on CPU, the
allocator's peak on CUDA) is its own. Networks use the presets' full capacity with random weights.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def run_one(preset: str, res: int, batch: int, device: str, iters: int, warmup: int, compile_: bool) -> dict:
    import torch

    from stylegan.models import build_preset
    from stylegan.tools.generate import synthesize
    from stylegan.utils.compile import CompiledOrEager, maybe_compile

    torch.manual_seed(0)
    G = build_preset(preset, res).build()[0].to(device).eval()
    if compile_:
        G.synthesis = maybe_compile(G.synthesis, device=device)
    z = torch.randn(batch, G.z_dim, device=device)
    c = torch.zeros(batch, G.c_dim, device=device)

    def step():
        with torch.no_grad():
            ws = G.mapping(z, c, truncation_psi=0.7)
            return synthesize(G, ws, noise_mode="const")

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    for _ in range(warmup):
        step()
    sync()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    compile_status = "off"
    if compile_:
        failed = getattr(G.synthesis, "failed", None) if isinstance(G.synthesis, CompiledOrEager) else "unavailable"
        compile_status = "on" if failed is None else f"eager ({failed[:80]})"
    median = times[len(times) // 2]
    if device.startswith("cuda"):
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "preset": preset,
        "resolution": res,
        "batch": batch,
        "device": device,
        "compile": compile_,
        "compile_status": compile_status,
        "reference_ops": os.environ.get("STYLEGAN_REFERENCE_OPS", "0") == "1",
        "images_per_s": batch / median,
        "ms_per_image": 1000 * median / batch,
        "peak_memory_mb": peak_mb,
        "iters": iters,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def machine() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="stylegan2")
    p.add_argument("--res", default="64,256")
    p.add_argument("--batch", default="1,8")
    p.add_argument("--device", default="cpu")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--compile", default="off", choices=["off", "on", "both"])
    p.add_argument("--reference", action="store_true", help="time the reference ops (no fast paths)")
    p.add_argument("--out", default=None, help="JSON output (default benchmarks/results/inference-<device>.json)")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.one:  # child process: one configuration
        preset, res, batch, compile_ = args.one.split(":")
        row = run_one(preset, int(res), int(batch), args.device, args.iters, args.warmup, compile_ == "1")
        print(json.dumps(row))
        return 0

    if args.reference:
        os.environ["STYLEGAN_REFERENCE_OPS"] = "1"  # inherited by the child processes
    compiles = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    rows = []
    header = f"{'preset':<13}{'res':>6}{'batch':>7}{'compile':>9}{'img/s':>10}{'ms/img':>10}{'peak MB':>10}"
    print(f"machine: {machine()}  device: {args.device}")
    print(header)
    print("-" * len(header))
    if args.presets == "all":
        from stylegan.models import preset_names

        args.presets = ",".join(preset_names())
    for preset in args.presets.split(","):
        for res in [int(r) for r in args.res.split(",")]:
            for batch in [int(b) for b in args.batch.split(",")]:
                for comp in compiles:
                    cmd = [
                        sys.executable,
                        __file__,
                        "--device",
                        args.device,
                        "--iters",
                        str(args.iters),
                        "--warmup",
                        str(args.warmup),
                        "--one",
                        f"{preset}:{res}:{batch}:{int(comp)}",
                    ]
                    proc = subprocess.run(cmd, capture_output=True, text=True)
                    if proc.returncode != 0:
                        print(f"{preset:<13}{res:>6}{batch:>7}{comp!s:>9}  failed: {proc.stderr.strip()[-200:]}")
                        continue
                    row = json.loads(proc.stdout.strip().splitlines()[-1])
                    rows.append(row)
                    note = "" if row["compile_status"] in ("on", "off") else f"  {row['compile_status']}"
                    print(
                        f"{preset:<13}{res:>6}{batch:>7}{comp!s:>9}{row['images_per_s']:>10.2f}"
                        f"{row['ms_per_image']:>10.1f}{row['peak_memory_mb']:>10.0f}{note}"
                    )
    suffix = "-reference" if args.reference else ""
    out = Path(args.out) if args.out else RESULTS / f"inference-{args.device.replace(':', '')}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "results": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
