"""Ship a trained toyfaces network: copy its generator into the package and write its model card.

    python scripts/model_card.py RUN_DIR --name toyfaces-stylegan2-32 [--snapshot FILE] [--num 10000]

Takes the run's newest network snapshot (or ``--snapshot``), checks that it fits the package (at
most 5 MB), copies it to ``src/stylegan/io/networks/<name>.safetensors`` (``stylegan.load(name)``
then finds it) and writes ``docs/models/<name>.md``: the training command (from the run's
``training_options.json``), kimg, CPU-hours (summed from the run's statistics), probe FID, KID,
precision and recall (``--num`` generated images against the dataset), and three figures in
``docs/models/images/``: a sample grid, a truncation row and a style-mixing figure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch
from PIL import Image

import stylegan
from stylegan.io.zoo import NETWORKS_DIR
from stylegan.training import snapshot as snap
from stylegan.training.options import TrainingOptions, flag
from stylegan.training.stats import read_stats

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 5 * 2**20
FIGURE_SCALE = 3
METRICS = "fid50k_full,kid50k_full,pr50k3_full"
# The options that define a toyfaces run, in the order the card's training command lists them.
COMMAND_OPTIONS = (
    "cfg",
    "data",
    "resolution",
    "batch",
    "gpus",
    "seed",
    "cbase",
    "cmax",
    "map_depth",
    "z_dim",
    "w_dim",
    "glr",
    "dlr",
    "gamma",
    "ema_kimg",
    "style_mixing",
    "pl_weight",
    "noise",
    "aug",
    "progressive",
    "mirror",
    "g_arch",
    "d_arch",
    "precision",
)


def training_command(opts: TrainingOptions) -> str:
    parts = ["stylegan train"]
    for name in COMMAND_OPTIONS:
        value = getattr(opts, name)
        if value is None or (name == "progressive" and not opts.defaults.progressive):
            continue  # unset, or growing where the preset never grows
        if isinstance(value, bool):
            value = int(value)
        parts.append(f"{flag(name)} {value:g}" if isinstance(value, float) else f"{flag(name)} {value}")
    return " ".join(parts)


def cpu_hours(run_dir: Path, nimg: int) -> tuple[float, float]:
    """(wall-clock hours, CPU-hours) of the run up to ``nimg`` images, from its per-tick statistics
    (one thread per process: processes x time; metrics and snapshots excluded)."""
    rows = read_stats(run_dir / "stats.jsonl", drop_timing=False)
    opts = TrainingOptions.load(run_dir / "training_options.json")
    seconds = sum(
        r["Timing/sec_per_tick"]["mean"]
        for r in rows
        if "Timing/sec_per_tick" in r and r["Progress/kimg"]["mean"] * 1e3 <= nimg + 0.5
    )
    return seconds / 3600, seconds * opts.gpus / 3600


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--snapshot", type=Path, default=None)
    parser.add_argument("--num", type=int, default=10000, help="generated images per metric")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(torch.get_num_threads(), 1))

    newest = snap.tag_nimg(snap.training_states(args.run_dir)[-1].name)
    network = args.snapshot or snap.network_path(args.run_dir, newest)
    size = network.stat().st_size
    if size > MAX_BYTES:
        sys.exit(
            f"{network} is {size / 2**20:.1f} MB; the package takes at most {MAX_BYTES / 2**20:.0f} MB per network"
        )
    opts = TrainingOptions.load(args.run_dir / "training_options.json")
    nimg = snap.tag_nimg(network.name)
    G = stylegan.load(network)

    from stylegan.metrics.runner import compute_metrics

    results = compute_metrics(G, METRICS, data=opts.data, detector="probe", num_gen=args.num, progress=False)
    wall, cpu = cpu_hours(args.run_dir, nimg)

    images = ROOT / "docs" / "models" / "images"
    images.mkdir(parents=True, exist_ok=True)
    from stylegan.demo import write_samples, write_style_mixing, write_truncation_sweep

    figures = {
        "samples": write_samples(G, images / f"{args.name}-samples.png"),
        "sweep": write_truncation_sweep(G, images / f"{args.name}-truncation.png"),
        "mixing": write_style_mixing(G, images / f"{args.name}-mixing.png"),
    }
    for path in figures.values():  # 32 px faces: enlarge 3x (nearest) so that the cards can be read
        picture = Image.open(path)
        picture.resize((picture.width * FIGURE_SCALE, picture.height * FIGURE_SCALE), Image.NEAREST).save(path)
    NETWORKS_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(network, NETWORKS_DIR / f"{args.name}.safetensors")

    params = sum(p.numel() for p in G.parameters())
    card = [
        f"# `{args.name}`",
        "",
        f"A {opts.cfg} generator trained on the built-in toyfaces at {opts.resolution}x{opts.resolution}; it ships "
        f'with the package: `stylegan.load("{args.name}")`, `stylegan generate --network {args.name} ...`.',
        "",
        "| | |",
        "|---|---|",
        f"| file | `src/stylegan/io/networks/{args.name}.safetensors`, {size / 2**20:.2f} MB, {params:,} parameters |",
        f"| trained | {nimg / 1e3:g} kimg, batch {opts.batch}, {opts.gpus} process(es) of one thread |",
        f"| time | {wall:.2f} h of training steps, {cpu:.2f} CPU-hours (2-core x86_64 CPU shared with other jobs) |",
        f"| probe FID | {results['fid50k_full']:.1f} |",
        f"| probe KID | {results['kid50k_full']:.2f} (in the probe's feature units; real vs real is about 0) |",
        f"| probe precision / recall | {results['pr50k3_full_precision']:.3f} / {results['pr50k3_full_recall']:.3f} |",
        "",
        f"Metrics: the toyfaces probe (`--detector probe`), {args.num:,} generated images against the whole "
        "dataset (50,000 toyfaces); two disjoint sets of real toyfaces score FID about 4.",
        "",
        "Training command (`stylegan train --resume RUN_DIR` continues the run):",
        "",
        "```sh",
        f"OMP_NUM_THREADS=1 {training_command(opts)}",
        "```",
        "",
        "Samples (seeds 0-31, no truncation):",
        "",
        f"![samples](images/{figures['samples'].name})",
        "",
        "Truncation (rows: seeds 11-14; columns: psi -1, -0.5, 0, 0.25, 0.5, 0.75, 1):",
        "",
        f"![truncation](images/{figures['sweep'].name})",
        "",
        "Style mixing (rows take the columns' coarse styles):",
        "",
        f"![style mixing](images/{figures['mixing'].name})",
    ]
    card_path = ROOT / "docs" / "models" / f"{args.name}.md"
    card_path.write_text("\n".join(card) + "\n")
    print(json.dumps({"name": args.name, "kimg": nimg / 1e3, "wall_hours": wall, "cpu_hours": cpu, **results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
