"""EQ-T and EQ-R along the StyleGAN3 paper's configuration ladder (Figure 3: A StyleGAN2 ... T, R).

Every rung is built from its ``stylegan train`` options (``stylegan.training.ladder``) at the same
small capacity and seed, and measured with ``stylegan.metrics.equivariance`` (the metrics of
``stylegan metrics --metrics eqt50k_int,eqr50k``, here with ``--num`` samples): once at
initialisation (the architecture alone) and, with ``--kimg K``, again after K kimg of identical
training on the built-in toyfaces (the EMA generator of the run's last snapshot). Prints a table
and writes JSON (see docs/equivariance.md).

    OMP_NUM_THREADS=1 python benchmarks/equivariance_ladder.py --num 256 \\
        --out benchmarks/results/equivariance-ladder-init-cpu.json
    OMP_NUM_THREADS=1 python benchmarks/equivariance_ladder.py --num 64 --kimg 0.1 --rungs B,G,T,R \\
        --out benchmarks/results/equivariance-ladder-trained-cpu.json

Config A starts from a learned constant, which the paper cannot transform ("-" in its table); its
numbers here transform that constant instead (this package's extension, see the metric's docs).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

import stylegan
from stylegan.metrics.equivariance import compute_equivariance_metrics
from stylegan.training import snapshot as snap
from stylegan.training.build import model_spec
from stylegan.training.ladder import LADDER, ladder_args, ladder_options
from stylegan.training.options import TrainingOptions, resolve_options

# The paper's Figure 3 (FFHQ-U 256 px, trained to convergence): EQ-T and EQ-R in dB ("-": not measurable).
PAPER = {
    "A": (None, None),
    "B": (16.23, 10.81),
    "C": (15.81, 10.84),
    "D": (19.47, 10.41),
    "E": (24.62, 10.97),
    "F": (30.60, 10.81),
    "G": (43.90, 10.84),
    "H": (45.20, 10.61),
    "T": (63.01, 13.12),
    "R": (66.65, 40.48),
}


def options(rung: str, args) -> TrainingOptions:
    """The rung's options at the benchmark's capacity, duration and seed."""
    fields = dict(
        data="toyfaces",
        resolution=args.res,
        batch=args.batch,
        cbase=args.cbase,
        cmax=args.cmax,
        z_dim=args.zw,
        w_dim=args.zw,
        seed=args.seed,
        aug="none",
        workers=0,
        gpus=1,
        snap=1,
        img_snap=1000,
    )
    if args.kimg > 0:  # one tick, one snapshot at the end
        fields.update(kimg=args.kimg, tick=args.kimg)
    return resolve_options(TrainingOptions(**{**fields, **ladder_options(rung)}), args.res, "cpu")


def image_rms(G, seed: int, num: int = 64) -> float:
    """RMS of ``num`` images: PSNR is taken against a fixed peak of 2, so louder images score lower."""
    z = torch.randn([num, G.z_dim], generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return float(G(z, None, noise_mode="const").square().mean().sqrt())


def initial_generator(opts: TrainingOptions):
    torch.manual_seed(opts.seed)
    G, _ = model_spec(opts, 3, 0).build()
    return G


def trained_generator(opts: TrainingOptions, outdir: str):
    from stylegan.training.launch import train

    run_dir = train(dataclasses.replace(opts, outdir=outdir), verbose=False)
    nimg = max(n for n in (snap.tag_nimg(p.name) for p in Path(run_dir).iterdir()) if n is not None)
    return stylegan.load(snap.network_path(run_dir, nimg)), nimg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rungs", default=",".join(LADDER), help="ladder configurations, e.g. A,B,T")
    parser.add_argument("--res", type=int, default=32)
    parser.add_argument("--cbase", type=int, default=1024, help="capacity: channels min(cbase / 2 / f_c, cmax)")
    parser.add_argument("--cmax", type=int, default=32)
    parser.add_argument("--zw", type=int, default=64, help="z and w size")
    parser.add_argument("--num", type=int, default=256, help="samples per metric")
    parser.add_argument("--kimg", type=float, default=0.0, help="also measure after this much training (0: no)")
    parser.add_argument("--batch", type=int, default=8, help="training batch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the results here (JSON)")
    args = parser.parse_args()
    rungs = args.rungs.split(",")

    cpu = platform.processor() or platform.machine()
    machine = f"{cpu} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}"
    stages = ["init"] + (["trained"] if args.kimg > 0 else [])
    print(f"N={args.num} samples, {args.res} px, cbase {args.cbase}, cmax {args.cmax}, z/w {args.zw}; {machine}")
    header = "".join(f" {s + ' EQ-T':>13s} {s + ' EQ-R':>13s} {'RMS':>5s}" for s in stages)
    print(f"{'':3s}{'configuration':40s}{'params':>9s}{header} {'paper EQ-T':>11s} {'paper EQ-R':>11s} {'s':>6s}")
    results = []
    for rung in rungs:
        opts = options(rung, args)
        start = time.time()
        record: dict = dict(rung=rung, description=LADDER[rung][0], options=" ".join(ladder_args(rung)))
        G = initial_generator(opts)
        record["params"] = sum(p.numel() for p in G.parameters())
        measured = {"init": G}
        if args.kimg > 0:
            with tempfile.TemporaryDirectory() as outdir:
                measured["trained"], record["trained_nimg"] = trained_generator(opts, outdir)
        for stage, net in measured.items():
            eq = compute_equivariance_metrics(net, ("eqt", "eqr"), num_samples=args.num, seed=args.seed)
            record[stage] = {k: round(v, 2) for k, v in eq.items()}
            record[stage]["rms"] = round(image_rms(net, args.seed), 3)
        record["paper"] = dict(zip(("eqt", "eqr"), PAPER[rung]))
        record["seconds"] = round(time.time() - start, 1)
        results.append(record)
        cells = "".join(f" {record[s]['eqt']:13.2f} {record[s]['eqr']:13.2f} {record[s]['rms']:5.2f}" for s in stages)
        paper = "".join(f" {'-' if v is None else f'{v:.2f}':>11s}" for v in PAPER[rung])
        print(f"{rung:3s}{LADDER[rung][0]:40s}{record['params']:9d}{cells}{paper} {record['seconds']:6.0f}", flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        settings = {k: v for k, v in vars(args).items() if k != "out"}
        args.out.write_text(json.dumps(dict(machine=machine, settings=settings, results=results), indent=2) + "\n")


if __name__ == "__main__":
    main()
