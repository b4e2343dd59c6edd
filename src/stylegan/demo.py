"""``make demo``: train a small StyleGAN2 on the built-in ``toyfaces`` for a few minutes of CPU, then
write a sample grid, a style-mixing figure and a short report into one folder.

    python -m stylegan.demo --outdir out/demo                # about 4 minutes of one CPU core
    python -m stylegan.demo --outdir out/demo --minutes 10   # longer: better faces

The network is StyleGAN2 config F scaled down to run on a CPU: 32x32 images, at most 32 channels,
z and w of 32, a mapping network of depth 2, batch 8. Everything else is the trainer's defaults for
``stylegan2`` (lazy R1 and path-length regularisation, style mixing, EMA), except that augmentation
is off (toyfaces has 50,000 different faces, nothing to overfit in minutes). The training run itself
(snapshots, statistics, TensorBoard logs) lies in ``<outdir>/run``; a later
``stylegan train --resume latest --outdir <outdir>/run`` continues it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from pathlib import Path

import torch

import stylegan
from stylegan.training import snapshot as snap
from stylegan.training.launch import train
from stylegan.training.options import TrainingOptions
from stylegan.training.stats import format_time, read_stats

SAMPLE_SEEDS = list(range(32))
MIX_ROWS = [101, 102, 103, 104]
MIX_COLS = [201, 202, 203, 204, 205]


def demo_options(outdir: Path, minutes: float, resolution: int, seed: int) -> TrainingOptions:
    return TrainingOptions(
        cfg="stylegan2", data="toyfaces", resolution=resolution, batch=8, kimg=10_000, time_limit=minutes,
        cbase=1024, cmax=32, map_depth=2, z_dim=32, w_dim=32, aug="none", seed=seed, tick=0.25, snap=4, img_snap=1,
        grid=(8, 4), workers=0, outdir=str(outdir / "run"), desc="demo",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train a small StyleGAN2 on toyfaces and write a report.")
    parser.add_argument("--outdir", default="out/demo", help="folder for everything the demo writes")
    parser.add_argument("--minutes", type=float, default=4.0, help="training time budget (default 4)")
    parser.add_argument("--res", type=int, default=32, help="image resolution (default 32)")
    # One thread: the demo network is so small that a second intra-op thread gains little, and on
    # shared cores it can cost far more than it gains (docs/performance.md, "CPU threads").
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(args.threads, 1))

    print(f"demo: training StyleGAN2 on toyfaces at {args.res}x{args.res} for {args.minutes:g} minutes "
          f"({torch.get_num_threads()} CPU threads)")
    start = time.time()
    opts = demo_options(outdir, args.minutes, args.res, args.seed)
    run_dir = train(opts)
    seconds = time.time() - start

    state_file = snap.training_states(run_dir)[-1]
    nimg = snap.tag_nimg(state_file.name)
    network = snap.network_path(run_dir, nimg)
    G = stylegan.load(network)
    samples = write_samples(G, outdir / "samples.png")
    mixing = write_style_mixing(G, outdir / "style-mixing.png")
    for name in ("reals.png", "fakes_init.png"):
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, outdir / name)
    report = write_report(outdir / "report.md", run_dir, network, nimg, seconds, opts, samples, mixing)
    print(f"demo: done in {format_time(seconds)}: {nimg / 1e3:g} kimg; results in {outdir.resolve()}")
    print(f"demo: {report.name}, {samples.name}, {mixing.name}; network {network}")
    return 0


def write_samples(G, path: Path) -> Path:
    from stylegan.tools.generate import generate_images
    from stylegan.utils.images import grid, save_png, to_uint8

    images = generate_images(G, SAMPLE_SEEDS, truncation_psi=1.0)
    return save_png(grid(to_uint8(images), cols=8), path)


def write_style_mixing(G, path: Path) -> Path:
    from stylegan.tools.mix import mix_figure, preset_layers, style_mix
    from stylegan.utils.images import save_png

    result = style_mix(G, MIX_ROWS, MIX_COLS, preset_layers("coarse", G.num_ws))
    return save_png(mix_figure(result), path)


def write_report(path: Path, run_dir: Path, network: Path, nimg: int, seconds: float, opts: TrainingOptions,
                 samples: Path, mixing: Path) -> Path:
    rows = read_stats(run_dir / "stats.jsonl", drop_timing=False)
    last = rows[-1]
    speed = [r["Timing/sec_per_kimg"]["mean"] for r in rows[1:]] or [last["Timing/sec_per_kimg"]["mean"]]
    sec_per_kimg = sorted(speed)[len(speed) // 2]

    def stat(name: str) -> str:
        return f"{last[name]['mean']:.3f}" if name in last else "-"

    params = sum(p.numel() for p in stylegan.load(network).parameters())
    lines = [
        "# stylegan demo: StyleGAN2 on toyfaces",
        "",
        f"Trained for {format_time(seconds)} on {platform.machine()} ({os.cpu_count()} CPUs visible, "
        f"{torch.get_num_threads()} threads used), torch {torch.__version__}.",
        "",
        "| | |",
        "|---|---|",
        f"| preset | `{opts.cfg}`, {opts.resolution}x{opts.resolution}, channels <= {opts.cmax}, z/w {opts.z_dim}, "
        f"mapping depth {opts.map_depth} |",
        f"| generator parameters | {params:,} |",
        f"| images shown | {nimg:,} ({nimg / 1e3:g} kimg), batch {opts.batch} |",
        f"| speed | {sec_per_kimg:.1f} s/kimg ({1000 / sec_per_kimg:.1f} images/s), median over ticks |",
        f"| last tick losses | G {stat('Loss/G/loss')}, D {stat('Loss/D/loss')}, "
        f"R1 penalty {stat('Loss/r1_penalty')}, path-length penalty {stat('Loss/pl_penalty')} |",
        f"| run directory | `{run_dir}` |",
        f"| network | `{network}` |",
        "",
        "## Samples (seeds 0-31, no truncation)",
        "",
        f"![samples]({samples.name})",
        "",
        "## Style mixing",
        "",
        "Rows: seeds " + ", ".join(map(str, MIX_ROWS)) + "; columns: seeds " + ", ".join(map(str, MIX_COLS))
        + ". Each cell takes the row's ws with the column's coarse styles.",
        "",
        f"![style mixing]({mixing.name})",
        "",
        "## Training images and the untrained generator",
        "",
        "![reals](reals.png) ![untrained](fakes_init.png)",
        "",
        "Minutes of CPU make rough faces at best; every snapshot's grid (`fakes*.png`), the statistics "
        "(`stats.jsonl`, TensorBoard) and the full training state are in the run directory. Continue with "
        f"`stylegan train --resume latest --outdir {run_dir.parent}`.",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
