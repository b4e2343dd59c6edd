"""Time to quality: wall-clock minutes of training on this CPU for a toyfaces 32 px StyleGAN2 to
reach probe FID thresholds (default 400, 100, 40), for our configuration and for the official
trainer's equivalent run (NVlabs/stylegan3 ``train.py``, patched in memory to run on a CPU as in
``train_vs_official.py``).

Our configuration (``--ours-config``):

* ``demo``: the settings of ``stylegan.demo.demo_options`` (StyleGAN2 at cbase 1024, cmax 32, z and w
  of 32, mapping depth 2, learning rates 0.005, batch 8 per process, no augmentation);
* ``preset``: the plain stylegan2 preset defaults (batch 32, learning rates 0.002, mapping depth 8,
  gamma from the resolution and batch, ...) at the same small capacity (cbase, cmax, z and w dims).

Ours trains in ``--processes`` gloo processes of one thread each (default: one per core, at most 2,
as the demo). The official equivalent (``_trainers.options_to_specs``) trains the same network with
the same hyperparameters, resolved as ours resolves them (batch, gamma, learning rates, mapping
depth, EMA, regularisation, minibatch-stddev group, z/w dims), in one process of
``--official-threads`` threads: the official code on a CPU has no multi-process training. What it
cannot follow is printed and stored with the run as ``notes``.

Every ``--every-kimg`` kimg (the first tick end at or after it; ticks of ``min(1, every)`` kimg) the
trainer's own process measures the probe FID of the EMA generator (``--metrics-num`` generated images
against the whole zip, or 20,000 toyfaces for ``--data toyfaces``), in a subprocess of
``--metric-threads`` threads while the training waits. A run stops once the lowest threshold is
reached, or at the first measurement after ``--max-minutes`` minutes of training. Training minutes
are the trainer's own per-tick times added up (training steps only: start-up, snapshots and the
metrics are left out); ``wall`` minutes also count start-up and snapshots, but not the metrics.

Results go to ``--results`` (default ``benchmarks/results/time-to-fid-cpu.json``) as they come: each
run is an entry (``ours/demo/seed0``, ``official/demo/seed0`` = the official equivalent of the demo
configuration, ...) saved after every measurement. A finished run with the same config is reused
(``--retrain`` trains it again); an interrupted one is trained again. The table and a plot of probe
FID against training minutes (``--plot``, default the results file with ``.png``) cover the runs
selected by ``--impls``, ``--ours-config`` and ``--seed``.

Commands:

    # the full measurement (up to 2 x 2 hours of training, plus the metrics)
    python benchmarks/time_to_fid.py --official /tmp/stylegan3
    python benchmarks/time_to_fid.py --impls ours --ours-config preset
    python benchmarks/time_to_fid.py --report-only
    # a smoke test (a few minutes per implementation)
    OMP_NUM_THREADS=1 python benchmarks/time_to_fid.py --official /tmp/stylegan3 --max-minutes 2 \\
        --every-kimg 0.5 --metrics-num 1000 --thresholds 1500,1000 --workdir /tmp/ttf \\
        --results /tmp/ttf/smoke.json
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_RESULTS = HERE / "results" / "time-to-fid-cpu.json"
METRIC = "fid50k_full"
TOYFACES_REAL = 20000  # real images for --data toyfaces: as many as the zip holds


def _modules():
    """``benchmarks/_trainers.py`` and ``benchmarks/train_vs_official.py`` (next to this file)."""
    sys.path.insert(0, str(HERE))
    import _trainers  # noqa: PLC0415
    import train_vs_official  # noqa: PLC0415

    return _trainers, train_vs_official


def _numbers(text: str, name: str) -> list[float]:
    try:
        values = sorted({float(v) for v in text.split(",") if v.strip()}, reverse=True)
    except ValueError:
        raise SystemExit(f"{name} takes numbers separated by commas, got {text!r}") from None
    if not values or values[-1] <= 0:
        raise SystemExit(f"{name} needs positive numbers, got {text!r}")
    return values


def ours_options(name: str, data: str, resolution: int, seed: int, processes: int):
    """Our ``TrainingOptions`` for ``--ours-config`` (bookkeeping such as the run length and the output
    folder is replaced by the run's)."""
    from stylegan.demo import demo_options
    from stylegan.training.options import TrainingOptions

    demo = dataclasses.replace(
        demo_options(Path("unused"), 1.0, resolution, seed, processes), data=data, time_limit=None
    )
    if name == "demo":
        return demo
    capacity = {k: getattr(demo, k) for k in ("cbase", "cmax", "z_dim", "w_dim")}
    return TrainingOptions(
        cfg="stylegan2", data=data, resolution=resolution, gpus=processes, aug="none", seed=seed, workers=0, **capacity
    )


# ------------------------------------------------------------------------------------------------
# Results


def reached(checkpoints: list[dict], threshold: float) -> dict | None:
    """The first measurement at or below ``threshold``."""
    return next((cp for cp in sorted(checkpoints, key=lambda c: c["nimg"]) if cp["value"] <= threshold), None)


def best(checkpoints: list[dict]) -> dict | None:
    return min(checkpoints, key=lambda c: c["value"]) if checkpoints else None


def _cell(entry: dict | None, threshold: float) -> str:
    if entry is None:
        return "-"
    cps = entry["checkpoints"]
    cp = reached(cps, threshold)
    if cp is not None:
        return f"{cp['train_sec'] / 60:.1f} min, {cp['kimg']:g} kimg"
    b = best(cps)
    if b is None:
        return "no measurement"
    return f"not reached, best FID {b['value']:.4g} at {b['kimg']:g} kimg / {b['train_sec'] / 60:.1f} min"


def label(entry: dict) -> str:
    if entry["impl"] == "ours":
        p = entry.get("processes", 1)
        return f"ours ({entry['ours_config']}, {p} process{'es' if p > 1 else ''})"
    return f"official ({entry['ours_config']} equivalent, {entry.get('threads', 1)} thread)"


def print_table(entries: list[dict], thresholds: list[float]) -> None:
    header = ["probe FID <="] + [label(e) for e in entries]
    both = {e["impl"]: e for e in entries}
    if len(both) == 2:
        header.append("speed-up (official / ours)")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for t in thresholds:
        cells = [f"{t:g}"] + [_cell(e, t) for e in entries]
        if len(both) == 2:
            ours, off = (reached(both[i]["checkpoints"], t) for i in ("ours", "official"))
            if ours and off:
                cells.append(f"{off['train_sec'] / ours['train_sec']:.2f}x")
            elif ours:
                last = max((cp["train_sec"] for cp in both["official"]["checkpoints"]), default=0.0)
                cells.append(f">= {last / ours['train_sec']:.2f}x" if last else "-")
            else:
                cells.append("-")
        print("| " + " | ".join(cells) + " |")


def plot(entries: list[dict], thresholds: list[float], path: Path) -> Path | None:
    """Probe FID against training minutes, one line per implementation: the whole range, and up to
    twice the highest threshold."""
    import numpy as np

    from stylegan.utils.images import save_png
    from stylegan.utils.plot import Panel, line_figure

    series = {}
    for e in entries:
        cps = sorted(e["checkpoints"], key=lambda c: c["nimg"])
        if cps:
            series[e["impl"]] = (
                np.array([cp["train_sec"] / 60 for cp in cps]),
                np.array([cp["value"] for cp in cps], dtype=np.float64),
            )
    if not series:
        return None
    tmax = max(float(t.max()) for t, _ in series.values()) or 1.0
    fmax = max(float(f.max()) for _, f in series.values()) * 1.05
    what = f"{entries[0]['ours_config']} config, seed {entries[0]['seed']}"
    panels = [
        Panel(
            f"probe FID against training time ({what})",
            series,
            (0, tmax),
            (0, fmax),
            xlabel="minutes of training",
            ylabel="probe FID",
        )
    ]
    zoom = 2 * max(thresholds)
    if zoom < fmax:
        panels.append(
            Panel(
                f"the same, FID up to {zoom:g}",
                series,
                (0, tmax),
                (0, zoom),
                xlabel="minutes of training",
                ylabel="probe FID",
            )
        )
    return save_png(line_figure(panels), path)


# ------------------------------------------------------------------------------------------------


def run_one(
    engine, tvo, key: str, spec, notes: list[str], extra: dict, results: dict, results_path: Path, retrain: bool
) -> None:
    """Train ``spec`` (a watched run) unless the results hold it finished, saving after every measurement."""
    entry = results["runs"].get(key)
    if entry is not None and not retrain and entry.get("stop") and entry["config"] == spec.config():
        print(f"{key}: reusing the finished run in the results ({entry['stop']['reason']})", flush=True)
        return
    for note in notes:
        print(f"{key}: note: {note}", flush=True)
    entry = dict(
        impl=spec.impl,
        seed=spec.seed,
        config=spec.config(),
        notes=notes,
        machine=tvo.machine(),
        started_at=tvo._now(),
        loadavg_before=os.getloadavg(),
        checkpoints=[],
        stop=None,
        **extra,
    )
    results["runs"][key] = entry
    tvo.save_results(results_path, results)

    def on_checkpoint(cp: dict) -> None:
        entry["checkpoints"].append(
            {k: cp[k] for k in ("kimg", "nimg", "train_sec", "wall_sec", "value", "metric_sec")}
            | dict(loadavg=os.getloadavg())
        )
        tvo.save_results(results_path, results)
        print(
            f"{key}: {cp['kimg']:g} kimg, {cp['train_sec'] / 60:.2f} min of training: probe FID {cp['value']:.4g}",
            flush=True,
        )

    print(f"{key}: training (log: {Path(spec.outdir) / engine.LOG}) ...", flush=True)
    run = engine.train(spec, on_checkpoint=on_checkpoint)
    entry.update(
        stop=run.get("stop"),
        run_dir=run["run_dir"],
        torch=run.get("torch"),
        threads=run.get("threads"),
        training_wall_sec=run["seconds"],
        loadavg_after=os.getloadavg(),
        finished_at=tvo._now(),
    )
    if len(entry["checkpoints"]) != len(run["checkpoints"]):  # the files are the record
        entry["checkpoints"] = [
            {k: cp[k] for k in ("kimg", "nimg", "train_sec", "wall_sec", "value", "metric_sec")}
            for cp in run["checkpoints"]
        ]
    tvo.save_results(results_path, results)
    stop = run.get("stop") or {}
    print(f"{key}: stopped ({stop.get('reason')}) after {run['seconds'] / 60:.1f} min", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--official", type=Path, help="a checkout of NVlabs/stylegan3 (train.py, training/, ...)")
    p.add_argument("--impls", default="ours,official")
    p.add_argument("--ours-config", choices=("demo", "preset"), default="demo")
    p.add_argument("--thresholds", default="400,100,40", help="probe FID thresholds")
    p.add_argument("--max-minutes", type=float, default=120.0, help="training minutes per run at most")
    p.add_argument("--every-kimg", type=float, default=2.0, help="measure every this many kimg")
    p.add_argument("--metrics-num", type=int, default=5000, help="generated images per measurement")
    p.add_argument(
        "--metric-threads",
        type=int,
        default=None,
        help="threads of the measurement, while the training waits (default: one per core)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=None,
        help="ours: gloo processes of one thread (default: one per core, at most 2)",
    )
    p.add_argument("--official-threads", type=int, default=1, help="threads of the official trainer's process")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--data",
        help="training zip (made as train_vs_official.py makes it), or 'toyfaces' (ours only); "
        "default: a 20k-image toyfaces zip made in --workdir",
    )
    p.add_argument("--res", type=int, default=32)
    p.add_argument("--images", type=int, default=20000, help="images in the toyfaces zip made without --data")
    p.add_argument("--workdir", type=Path, default=Path("runs/time-to-fid"), help="run directories")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    p.add_argument("--plot", type=Path, help="PNG (default: --results with .png)")
    p.add_argument("--retrain", action="store_true", help="train finished runs again")
    p.add_argument("--report-only", action="store_true", help="print the table and draw the plot from --results")
    args = p.parse_args()

    engine, tvo = _modules()
    impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    if not impls or any(i not in engine.IMPLS for i in impls):
        raise SystemExit(f"--impls takes {', '.join(engine.IMPLS)}")
    thresholds = _numbers(args.thresholds, "--thresholds")
    if args.every_kimg <= 0 or args.max_minutes <= 0 or args.metrics_num < 2:
        raise SystemExit("--every-kimg and --max-minutes must be positive, --metrics-num at least 2")
    from stylegan.demo import default_processes

    processes = args.processes or default_processes()
    metric_threads = args.metric_threads or os.cpu_count() or 1
    if args.data == "toyfaces":
        if "official" in impls and not args.report_only:
            raise SystemExit("the official trainer needs a zip: give --data ZIP, or leave --data out")
        data = "toyfaces"
    elif args.data:
        data = str(Path(args.data).resolve())
    else:
        data = str((args.workdir / f"toyfaces-{args.res}-{args.images}.zip").resolve())

    results = tvo.load_results(args.results)
    results["description"] = "benchmarks/time_to_fid.py: training minutes to reach probe FID thresholds"
    keys = {impl: f"{impl}/{args.ours_config}/seed{args.seed}" for impl in impls}

    if not args.report_only:
        if "official" in impls:
            if args.official is None:
                raise SystemExit("--official DIR is needed to train the official trainer (or --impls ours)")
            if not (args.official / "train.py").is_file():
                raise SystemExit(f"{args.official} does not hold the official train.py")
        if args.data is None:
            tvo.make_dataset(Path(data), args.res, args.images)
        elif data != "toyfaces" and not Path(data).exists():
            raise SystemExit(f"--data {data} does not exist")
        watch = engine.Watch(
            every_kimg=args.every_kimg,
            thresholds=thresholds,
            max_train_sec=args.max_minutes * 60,
            metric=METRIC,
            num=args.metrics_num,
            max_real=TOYFACES_REAL if data == "toyfaces" else None,
            metric_threads=metric_threads,
        )
        opts = ours_options(args.ours_config, data, args.res, args.seed, processes)
        specs, notes = engine.options_to_specs(
            opts,
            resolution=args.res,
            data=data,
            seed=args.seed,
            watch=watch,
            tick=min(1.0, args.every_kimg),
            official=str(args.official.resolve()) if args.official else None,
            outdirs={
                impl: str((args.workdir / f"{impl}-{args.ours_config}-seed{args.seed}").resolve())
                for impl in engine.IMPLS
            },
        )
        specs["official"].threads = args.official_threads
        if args.official_threads != 1:
            notes.append(f"the official trainer runs {args.official_threads} threads in its process")
        results.update(machine=tvo.machine(), updated_at=tvo._now(), results_file=str(args.results))
        for impl in impls:
            extra = dict(
                ours_config=args.ours_config,
                processes=processes if impl == "ours" else 1,
                metrics_num=args.metrics_num,
                metric=METRIC,
                detector="probe",
                data=data,
            )
            run_one(engine, tvo, keys[impl], specs[impl], notes, extra, results, args.results, args.retrain)

    entries = [results["runs"][keys[i]] for i in impls if keys[i] in results["runs"]]
    if not entries:
        print(f"no runs {', '.join(keys.values())} in {args.results}")
        return 0
    nums = sorted({e.get("metrics_num") for e in entries})
    print(
        f"\n{tvo.machine()}; probe FID with {', '.join(map(str, nums))} generated images; minutes of training "
        f"(the trainers' own tick times) when a threshold was first measured"
    )
    print_table(entries, thresholds)
    out = plot(entries, thresholds, args.plot or args.results.with_suffix(".png"))
    print(f"results in {args.results}" + (f", plot {out}" if out else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
