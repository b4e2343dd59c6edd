"""What ``--recompute`` saves and costs: a StyleGAN3 generator's forward + backward pass per mode.

    OMP_NUM_THREADS=1 python benchmarks/recompute.py --presets stylegan3-t,stylegan3-r --res 64 --batch 1

For each preset (full capacity unless ``--cbase/--cmax``, random weights) and each recompute mode
(``none``, ``activations``: the filtered leaky ReLU's upsampled tensors, ``layers``: whole
synthesis layers; see ``stylegan.models.stylegan3.set_recompute``), one process measures

- the bytes autograd keeps for the backward pass of one synthesis pass (distinct storages, packed
  through ``torch.autograd.graph.saved_tensors_hooks``), and the share of them that the op or
  layer saving them holds (the largest few);
- the time of the synthesis forward + backward pass (what G's main loss does to G), the modes
  interleaved (the order rotates every round) so that a busy machine slows them alike; medians,
  and each mode's time relative to ``none``.

The peak memory of whole training steps comes from ``benchmarks/training.py --recompute``.
Writes ``benchmarks/results/recompute-<device>.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time
import traceback
from pathlib import Path

import torch

from stylegan.models import build_preset
from stylegan.models.stylegan3 import RECOMPUTE_MODES, set_recompute

RESULTS = Path(__file__).resolve().parent / "results"


def saved_bytes(G, ws) -> tuple[int, dict[str, int]]:
    """Bytes of the distinct storages autograd keeps for one synthesis pass, in total and by the
    innermost ``stylegan`` function that saved them."""
    storages: dict[int, int] = {}
    by_saver: collections.Counter = collections.Counter()

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in storages:
            storages[ptr] = t.untyped_storage().nbytes()
            frames = [f for f in traceback.extract_stack() if f"{os.sep}stylegan{os.sep}" in f.filename]
            by_saver[frames[-1].name if frames else "?"] += storages[ptr]
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        G.synthesis(ws)
    return sum(storages.values()), dict(by_saver.most_common(6))


def measure(preset: str, res: int, batch: int, reps: int, cbase, cmax) -> list[dict]:
    torch.manual_seed(0)
    G = build_preset(preset, res, channel_base=cbase, channel_max=cmax).build()[0].train()
    G.requires_grad_(True)
    ws = G.mapping(torch.randn(batch, G.z_dim), torch.zeros(batch, G.c_dim)).detach()
    weights = None
    saved, times = {}, {mode: [] for mode in RECOMPUTE_MODES}
    for mode in RECOMPUTE_MODES:
        set_recompute(G, mode)
        saved[mode] = saved_bytes(G, ws)
    for rep in range(reps + 1):  # the first round warms up
        shift = rep % len(RECOMPUTE_MODES)
        for mode in RECOMPUTE_MODES[shift:] + RECOMPUTE_MODES[:shift]:
            set_recompute(G, mode)
            G.zero_grad(set_to_none=True)
            t0 = time.perf_counter()
            img = G.synthesis(ws)
            weights = torch.randn_like(img) if weights is None else weights
            (img * weights).sum().backward()
            if rep > 0:
                times[mode].append(time.perf_counter() - t0)
    median = {mode: sorted(t)[len(t) // 2] for mode, t in times.items()}
    return [
        {
            "preset": preset,
            "resolution": res,
            "batch": batch,
            "recompute": mode,
            "saved_mb": saved[mode][0] / 2**20,
            "saved_mb_by_saver": {k: v / 2**20 for k, v in saved[mode][1].items()},
            "forward_backward_s": median[mode],
            "time_vs_none": median[mode] / median["none"],
            "times_s": times[mode],
            "threads": torch.get_num_threads(),
            "cbase": cbase,
            "cmax": cmax,
        }
        for mode in RECOMPUTE_MODES
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="stylegan3-t,stylegan3-r")
    p.add_argument("--res", type=int, default=64)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--cbase", type=int, default=None)
    p.add_argument("--cmax", type=int, default=None)
    p.add_argument("--out", default=str(RESULTS / "recompute-cpu.json"))
    args = p.parse_args()
    from training import machine  # benchmarks/training.py, next to this file

    rows = []
    load = [os.getloadavg()]
    print(f"{'preset':<13}{'res':>5}{'batch':>6}{'recompute':>13}{'saved MB':>10}{'fwd+bwd s':>11}{'x none':>8}")
    for preset in args.presets.split(","):
        for row in measure(preset, args.res, args.batch, args.reps, args.cbase, args.cmax):
            rows.append(row)
            print(
                f"{preset:<13}{args.res:>5}{args.batch:>6}{row['recompute']:>13}{row['saved_mb']:>10.0f}"
                f"{row['forward_backward_s']:>11.2f}{row['time_vs_none']:>8.2f}",
                flush=True,
            )
    load.append(os.getloadavg())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine("cpu"), "load_before_after": load, "results": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
