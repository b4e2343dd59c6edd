"""``make demo``: train a small StyleGAN2 on the built-in ``toyfaces`` for a few minutes of CPU and
measure it, then show what the shipped, longer-trained ``toyfaces-stylegan2-32`` does with the tools.

    python -m stylegan.demo --outdir out/demo                # about 5 minutes on a 2-core CPU
    python -m stylegan.demo --outdir out/demo --minutes 10   # longer training: better faces

Part 1 trains: StyleGAN2 at 32x32 with the small-scale settings of ``demo_options`` (measured in
docs/training.md), on every CPU core (one gloo process of one thread per core), then measures the
probe FID of the result (5,000 generated against 5,000 real toyfaces). Part 2 loads the network
that ships with the package (trained far longer; docs/models/toyfaces-stylegan2-32.md) and writes a
sample grid, a style-mixing figure, a truncation sweep and an interpolation video, each in seconds.
``report.md`` says which image comes from which network. The training run itself (snapshots,
statistics, TensorBoard logs) lies in ``<outdir>/run``; ``stylegan train --resume latest --outdir
<outdir>/run`` continues it.
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

SHIPPED = "toyfaces-stylegan2-32"
SAMPLE_SEEDS = list(range(32))
MIX_ROWS = [101, 102, 103, 104]
MIX_COLS = [201, 202, 203, 204, 205]
SWEEP_SEEDS = [11, 12, 13, 14]
SWEEP_PSIS = [-1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 1.0]
VIDEO_SEEDS = [21, 22, 23, 24, 25, 26]  # a 3x2 grid
VIDEO_FRAMES_PER_SEED = 24
FID_GENERATED, FID_REAL = 5000, 5000


def default_processes() -> int:
    """One training process per CPU core, at most 2 (the demo's batch of 16 splits into groups of 4)."""
    return max(1, min(os.cpu_count() or 1, 2))


def demo_options(outdir: Path, minutes: float, resolution: int, seed: int, processes: int) -> TrainingOptions:
    """StyleGAN2 with ``--recipe small`` (at most 32 channels, z and w of 32, mapping depth 2, learning
    rates 0.005, R1 gamma 0.2, EMA 5 kimg, no path-length regularisation, no style mixing, no
    augmentation: the settings measured in docs/training.md to learn fastest at this size), batch 8 per
    process."""
    return TrainingOptions(
        cfg="stylegan2",
        recipe="small",
        data="toyfaces",
        resolution=resolution,
        batch=8 * processes,
        gpus=processes,
        kimg=10_000,
        time_limit=minutes,
        seed=seed,
        tick=0.5,
        snap=8,
        img_snap=2,
        grid=(8, 4),
        workers=0,
        outdir=str(outdir / "run"),
        desc="demo",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Train a small StyleGAN2 on toyfaces, measure it, and show the "
        "shipped toyfaces network with the tools."
    )
    parser.add_argument("--outdir", default="out/demo", help="folder for everything the demo writes")
    parser.add_argument("--minutes", type=float, default=4.0, help="training time budget (default 4)")
    parser.add_argument("--res", type=int, default=32, help="image resolution (default 32)")
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="training processes of one thread each (default: one per core, at most 2)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    processes = args.processes or default_processes()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per training process
    torch.set_num_threads(1)

    print(
        f"demo: training StyleGAN2 on toyfaces at {args.res}x{args.res} for {args.minutes:g} minutes "
        f"({processes} process(es) of one thread)"
    )
    start = time.time()
    opts = demo_options(outdir, args.minutes, args.res, args.seed, processes)
    run_dir = train(opts)
    train_seconds = time.time() - start
    opts = TrainingOptions.load(run_dir / "training_options.json")  # resolved: what the run trained with

    state_file = snap.training_states(run_dir)[-1]
    nimg = snap.tag_nimg(state_file.name)
    network = snap.network_path(run_dir, nimg)
    torch.set_num_threads(os.cpu_count() or 1)
    trained = stylegan.load(network)
    print(f"demo: measuring probe FID of the trained network ({FID_GENERATED:,} generated vs {FID_REAL:,} real)")
    fid_start = time.time()
    fid = probe_fid(trained)
    fid_seconds = time.time() - fid_start
    write_samples(trained, outdir / "trained-samples.png")
    for name in ("reals.png", "fakes_init.png"):
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, outdir / name)

    tools_start = time.time()
    shipped = stylegan.load(SHIPPED)
    print(f"demo: the shipped {SHIPPED}: samples, style mixing, truncation sweep, interpolation video")
    figures = {
        "samples": write_samples(shipped, outdir / "samples.png"),
        "mixing": write_style_mixing(shipped, outdir / "style-mixing.png"),
        "sweep": write_truncation_sweep(shipped, outdir / "truncation.png"),
        "video": write_video(shipped, outdir / "interpolation.mp4"),
    }
    tools_seconds = time.time() - tools_start
    total = time.time() - start
    report = write_report(
        outdir / "report.md",
        run_dir,
        network,
        nimg,
        opts,
        fid,
        dict(train=train_seconds, fid=fid_seconds, tools=tools_seconds, total=total),
        figures,
        params=dict(trained=parameter_count(trained), shipped=parameter_count(shipped)),
    )
    print(
        f"demo: trained {nimg / 1e3:g} kimg in {format_time(train_seconds)}, probe FID {fid:.1f}; "
        f"done in {format_time(total)}; results in {outdir.resolve()}"
    )
    print(f"demo: {report.name}; trained network {network}")
    return 0


def probe_fid(G) -> float:
    """Probe FID of ``G``: ``FID_GENERATED`` images against the first ``FID_REAL`` toyfaces."""
    from stylegan.metrics.runner import compute_metrics

    return compute_metrics(
        G, "fid50k_full", data="toyfaces", detector="probe", num_gen=FID_GENERATED, max_real=FID_REAL, progress=False
    )["fid50k_full"]


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


def write_truncation_sweep(G, path: Path) -> Path:
    from stylegan.tools.generate import truncation_sweep
    from stylegan.utils.images import grid, save_png, to_uint8

    images = truncation_sweep(G, SWEEP_SEEDS, SWEEP_PSIS)
    return save_png(grid(to_uint8(images.flatten(0, 1)), cols=len(SWEEP_PSIS)), path)


def write_video(G, path: Path) -> Path:
    from stylegan.tools.video import write_interpolation_video

    return write_interpolation_video(
        G,
        VIDEO_SEEDS,
        path,
        fps=24,
        grid_size=(3, 2),
        frames_per_seed=VIDEO_FRAMES_PER_SEED,
        notice=lambda message: print(f"demo: {message}"),
    )


def parameter_count(G) -> int:
    return sum(p.numel() for p in G.parameters())


def write_report(
    path: Path,
    run_dir: Path,
    network: Path,
    nimg: int,
    opts: TrainingOptions,
    fid: float,
    seconds: dict[str, float],
    figures: dict[str, Path],
    params: dict[str, int],
) -> Path:
    rows = read_stats(run_dir / "stats.jsonl", drop_timing=False)
    speed = [r["Timing/sec_per_kimg"]["mean"] for r in rows[1:]] or [rows[-1]["Timing/sec_per_kimg"]["mean"]]
    sec_per_kimg = sorted(speed)[len(speed) // 2]
    from stylegan.io.zoo import shipped_networks

    lines = [
        "# stylegan demo",
        "",
        f"{platform.machine()}, {os.cpu_count()} CPUs visible, torch {torch.__version__}. "
        f"Total {format_time(seconds['total'])}: training {format_time(seconds['train'])}, "
        f"FID {format_time(seconds['fid'])}, tools {format_time(seconds['tools'])}.",
        "",
        "## 1. Trained here, in this run",
        "",
        "| | |",
        "|---|---|",
        f"| preset | `{opts.cfg}` (`--recipe {opts.recipe}`), {opts.resolution}x{opts.resolution}, channels <= "
        f"{opts.cmax}, z/w {opts.z_dim}, mapping depth {opts.map_depth}, "
        f"noise inputs {'on' if opts.noise else 'off'} |",
        f"| hyperparameters | lr {opts.glr:g}, R1 gamma {opts.gamma:g}, EMA {opts.ema_kimg:g} kimg, path length "
        f"{opts.pl_weight:g}, style mixing {opts.style_mixing:g}, augmentation {opts.aug} |",
        f"| generator parameters | {params['trained']:,} |",
        f"| trained | {nimg:,} images ({nimg / 1e3:g} kimg), batch {opts.batch}, {opts.gpus} process(es) of one "
        f"thread, {format_time(seconds['train'])} |",
        f"| speed | {sec_per_kimg:.1f} s/kimg ({1000 / sec_per_kimg:.0f} images/s), median over ticks |",
        f"| **probe FID** | **{fid:.1f}** ({FID_GENERATED:,} generated vs {FID_REAL:,} real toyfaces; two sets of "
        "real toyfaces score about 4) |",
        f"| network | `{network}` |",
        "",
        "Samples of this network (seeds 0-31, no truncation):",
        "",
        "![trained here](trained-samples.png)",
        "",
        "Training images and the untrained generator: ![reals](reals.png) ![untrained](fakes_init.png)",
        "",
        "Every snapshot's grid (`fakes*.png`), the statistics (`stats.jsonl`, TensorBoard) and the full training "
        f"state are in `{run_dir}`. Continue with `stylegan train --resume latest --outdir {run_dir.parent}`.",
        "",
        f"## 2. Loaded: the shipped `{SHIPPED}`",
        "",
        f"Not trained here: it ships with the package (`{shipped_networks()[SHIPPED].name}`, {params['shipped']:,} "
        f"generator parameters) and was trained far longer on a CPU; its model card, "
        f"docs/models/{SHIPPED}.md, gives its kimg, CPU-hours and probe FID. Every tool takes its name in place "
        "of a file: "
        f"`stylegan generate --network {SHIPPED} --seeds 0-7 --outdir out`.",
        "",
        "Samples (seeds 0-31, no truncation):",
        "",
        f"![samples]({figures['samples'].name})",
        "",
        "Style mixing: rows are seeds "
        + ", ".join(map(str, MIX_ROWS))
        + ", columns seeds "
        + ", ".join(map(str, MIX_COLS))
        + "; each cell takes the row's ws with the column's coarse styles.",
        "",
        f"![style mixing]({figures['mixing'].name})",
        "",
        "Truncation sweep: seeds "
        + ", ".join(map(str, SWEEP_SEEDS))
        + " (rows) at psi "
        + ", ".join(f"{p:g}" for p in SWEEP_PSIS)
        + " (columns); psi 0 is the average face.",
        "",
        f"![truncation]({figures['sweep'].name})",
        "",
        f"Interpolation video: [{figures['video'].name}]({figures['video'].name}) (seeds "
        + ", ".join(map(str, VIDEO_SEEDS))
        + ", linear in W).",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
