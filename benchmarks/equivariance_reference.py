"""Measure EQ-T, EQ-T_frac and EQ-R of the official reference networks (../shared/reference).

A maintainer's measurement, not a test: the reference networks (random, perturbed weights at 32 px)
are imported with ``import_official`` and measured with ``stylegan.metrics.equivariance``.
Results are printed as a table and written as JSON lines (see docs/equivariance.md).

    python benchmarks/equivariance_reference.py --num 256 --out benchmarks/results/equivariance_reference.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from stylegan.io import import_official
from stylegan.metrics.equivariance import compute_equivariance_metrics

REFERENCE = Path(os.environ.get("STYLEGAN_REFERENCE", Path(__file__).resolve().parents[2] / "shared" / "reference"))
CASES = ["sg3_t", "sg3_r", "sg2_uncond"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=256, help="samples per network")
    parser.add_argument("--batch", type=int, default=4, help="batch size (one random transform per batch)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--out", type=Path, default=None, help="append JSON lines here")
    args = parser.parse_args()

    machine = f"{platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}"
    print(f"{'network':12s} {'EQ-T':>8s} {'EQ-T_frac':>10s} {'EQ-R':>8s} {'seconds':>8s}   (N={args.num}, {machine})")
    for case in args.cases.split(","):
        d = torch.load(REFERENCE / f"{case}.pt", weights_only=True)
        G = import_official(d["class"]["G"], d["init_kwargs"]["G"], d["G_state"])
        start = time.time()
        psnrs = compute_equivariance_metrics(G, num_samples=args.num, batch_size=args.batch, seed=args.seed)
        seconds = time.time() - start
        print(f"{case:12s} {psnrs['eqt']:8.2f} {psnrs['eqt_frac']:10.2f} {psnrs['eqr']:8.2f} {seconds:8.1f}")
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            record = dict(
                network=case,
                num=args.num,
                batch=args.batch,
                seed=args.seed,
                machine=machine,
                seconds=round(seconds, 1),
                **{k: round(v, 3) for k, v in psnrs.items()},
            )
            with args.out.open("a") as f:
                f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
